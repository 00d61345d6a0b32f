"""Receiver fixtures: a receiver pointed at the session's real Prefect server, state under tmp_path.

Helpers read events back through Prefect's own API (`POST /api/events/filter`), the way an operator would.
Events reach the database asynchronously (Prefect's persister batches them), so reads poll until they see
what they expect or time out.
"""

from __future__ import annotations

import base64
import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from deployments.webhook import WebhookSettings, create_receiver
from tests._wait import wait_for
from ws1ai.sandbox.server import serve_in_background

# Prefect's event persister writes to the database every 5 s (or per 20 events): every read-back here would
# wait that long. The session server inherits the environment when it starts (after collection), so this
# shortens the wait for every test in the session that reads events back; the server's behaviour is unchanged.
os.environ.setdefault("PREFECT_SERVER_SERVICES_EVENT_PERSISTER_FLUSH_INTERVAL", "0.5")

USER, PASSWORD = "uem-notifier", "test-webhook-secret"
HRIS_KEY = "test-hris-key"
_device_ids = itertools.count(
    910_001
)  # unique per test, so reads by resource never see another test's events


def basic(user: str = USER, password: str = PASSWORD) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def uem_payload(**overrides: Any) -> dict[str, Any]:
    """The recorded UEM JSON (docs/uem-api.md#webhook-payload), with a fresh DeviceId."""
    device_id = next(_device_ids)
    payload: dict[str, Any] = {
        "EventId": 178, "EventType": "Compliance Status Changed", "DeviceId": device_id,
        "DeviceFriendlyName": "yolo", "EnrollmentEmailAddress": "yolo@zentral.pro",
        "EnrollmentUserName": "yolo", "EventTime": "2022-01-16T09:13:59.5720125Z",
        "EnrollmentStatus": "Enrolled", "CompromisedStatus": "",
        "CompromisedTimeStamp": "2022-01-16T09:14:00.1020757Z", "ComplianceStatus": "NonCompliant",
        "PhoneNumber": "+4915112345678", "Udid": "D20E0F3D66AF4B92B31E1DA394DF1E88",
        "SerialNumber": "ZL6LTO7H27AB", "MACAddress": "A1B2C3D4E5F6", "DeviceIMEI": "356938035643809",
        "EnrollmentUserId": 455002, "AssetNumber": "EEEEA2C78F6C41CD8339E729D648EA05", "Platform": "AppleOsX",
        "OperatingSystem": "11.6.1", "Ownership": "CorporateDedicated", "SIMMCC": "", "CurrentMCC": "",
        "OrganizationGroupName": "Zentral", "DeviceUUID": "7caaee42-5f19-4b51-8187-bd43f4484a65",
        "EnrollmentUserUUID": "a9b7786f-d537-440f-b68b-a58189c530d2",
    }  # fmt: skip
    payload.update(overrides)
    return payload


def settings_for(api_url: str, state_dir: Path, **overrides: Any) -> WebhookSettings:
    from pydantic import SecretStr

    values: dict[str, Any] = {
        "username": USER,
        "password": SecretStr(PASSWORD),
        "prefect_api_url": api_url,
        "state_dir": state_dir,
        "emit_attempts": 2,
        **overrides,
    }
    return WebhookSettings(_env_file=None, **values)


def events_for(
    api_url: str, resource_id: str, *, expect: int = 1, timeout: float = 15.0
) -> list[dict[str, Any]]:
    """Events Prefect stored on `resource_id`, polling until at least `expect` are there (or timeout)."""
    body = {"filter": {"resource": {"id": [resource_id]}}, "limit": 50}

    def read() -> list[dict[str, Any]]:
        resp = httpx.post(f"{api_url}/events/filter", json=body, timeout=10)
        resp.raise_for_status()
        events: list[dict[str, Any]] = resp.json()["events"]
        return events

    return wait_for(read, lambda events: len(events) >= expect, timeout=timeout)


def settle(client: Any, base: str = "") -> dict[str, Any]:
    """Have the receiver send its outbox now and wait (`POST /webhooks/replay`); returns its metrics."""
    extra = {"timeout": 60} if base else {}  # a real socket may wait; TestClient rejects a timeout argument
    client.post(f"{base}/webhooks/replay", headers=basic(), **extra).raise_for_status()
    metrics: dict[str, Any] = client.get(f"{base}/metrics").json()
    return metrics


@contextmanager
def live_receiver(settings: WebhookSettings) -> Iterator[str]:
    """The receiver on a real loopback port (uvicorn runs it without lifespan, so close it here)."""
    app = create_receiver(settings)
    try:
        with serve_in_background(app) as url:
            yield url
    finally:
        app.state.receiver.close()


@pytest.fixture
def hris_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("HRIS_API_KEY", HRIS_KEY)
    return HRIS_KEY


@pytest.fixture
def receiver(prefect_server: str, tmp_path: Path, hris_key: str) -> Iterator[TestClient]:
    with TestClient(create_receiver(settings_for(prefect_server, tmp_path))) as client:
        yield client
