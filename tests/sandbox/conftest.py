"""Sandbox tests talk HTTP to the app (TestClient is an httpx.Client); one small seeded fleet per session."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from ws1ai.sandbox import SandboxState, create_app
from ws1ai.settings import UEMSettings

DEVICES = 300
SEED = 5


def basic_headers(
    version: int = 1, *, user: str | None = None, password: str | None = None, tenant: str | None = None
) -> dict[str, str]:
    cfg = UEMSettings(_env_file=None)  # type: ignore[call-arg]
    u = user if user is not None else cfg.username
    p = password if password is not None else cfg.password.get_secret_value()
    token = base64.b64encode(f"{u}:{p}".encode()).decode()
    return {
        "Authorization": f"Basic {token}",
        "aw-tenant-code": tenant if tenant is not None else cfg.tenant_code.get_secret_value(),
        "Accept": f"application/json;version={version}",
    }


@pytest.fixture(scope="session")
def seeded_state() -> SandboxState:
    return SandboxState.seeded(devices=DEVICES, seed=SEED, days=10, rate_limit_per_minute=100_000)


@pytest.fixture(scope="session")
def original_fleet(seeded_state: SandboxState) -> Any:
    return seeded_state.fleet


@pytest.fixture
def state(seeded_state: SandboxState, original_fleet: Any) -> SandboxState:
    seeded_state.fleet = original_fleet  # a test may have re-seeded the tenant
    seeded_state.reset()
    seeded_state.clock_offset = 0.0
    seeded_state.gate.throttle.limit = 100_000
    seeded_state.gate.daily_quota = 250_000
    seeded_state.gate.token_lifetime_seconds = 3600
    seeded_state.wipe_completion_seconds = 120.0
    return seeded_state


@pytest.fixture
def client(state: SandboxState) -> Iterator[httpx.Client]:
    with TestClient(create_app(state), raise_server_exceptions=False) as c:
        c.headers.update(basic_headers())
        yield c


def first_device(client: httpx.Client, **params: Any) -> dict[str, Any]:
    r = client.get("/API/mdm/devices/search", params={"pagesize": 1, **params})
    assert r.status_code == 200, r.text
    device: dict[str, Any] = r.json()["Devices"][0]
    return device
