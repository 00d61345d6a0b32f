"""Coalesced triggers on the session's real Prefect server: a burst of compliance changes becomes one batch
event and one run of `compliance-triage-on-event` (as prefect.yaml defines it) whose `device_ids` lists every
device once; a receiver stopped mid-window (SIGTERM) flushes its buffer, one killed (SIGKILL) sends it after
the restart. Nothing here runs the flow: the deployment has no runner, so its runs stay SCHEDULED with the
parameters the trigger rendered, which is what is checked."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from deployments.project import PROJECT_FILE, runner_deployments
from tests._wait import wait_for
from tests.deployments.conftest import PASSWORD, USER, basic, events_for, live_receiver, settings_for
from ws1ai.net import free_port

pytestmark = [pytest.mark.prefect, pytest.mark.slow]

DEPLOYMENT = "compliance-triage-on-event"
_device_ids = itertools.count(960_001)  # apart from conftest's range: reads by resource stay per test


def _payload(device_id: int, event_id: int = 178) -> dict[str, Any]:
    return {
        "EventId": event_id, "EventType": "Compliance Status Changed", "DeviceId": device_id,
        "EventTime": "2026-12-08T00:30:00.1234567Z", "ComplianceStatus": "NonCompliant",
        "EnrollmentStatus": "Enrolled", "Platform": "AppleOsX", "Ownership": "CorporateDedicated",
    }  # fmt: skip


def _fleet() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


def _batch_events(api: str, fleet: str, *, expect: int = 1, timeout: float = 60.0) -> list[dict[str, Any]]:
    events = events_for(api, f"ws1.fleet.{fleet}", expect=expect, timeout=timeout)
    return sorted(events, key=lambda e: (e["payload"]["window_started"], e["payload"]["part"]))


def _runs_of(api: str, deployment_id: str) -> list[dict[str, Any]]:
    body = {"deployments": {"id": {"any_": [deployment_id]}}, "limit": 50}
    resp = httpx.post(f"{api}/flow_runs/filter", json=body, timeout=30)
    resp.raise_for_status()
    runs: list[dict[str, Any]] = resp.json()
    return runs


@pytest.fixture
def on_event_deployment(prefect_server: str) -> Iterator[str]:
    """prefect.yaml's `compliance-triage-on-event` registered (with its trigger) and no runner: its id."""
    from prefect import get_client

    [deployment] = runner_deployments(PROJECT_FILE, only={DEPLOYMENT})
    deployment_id = str(deployment.apply())
    with get_client(sync_client=True) as client:
        automations = wait_for(lambda: client.read_automations_by_name(f"{DEPLOYMENT}__automation_1"))
    assert automations, "the deployment's trigger was not registered"
    try:
        yield deployment_id
    finally:
        with get_client(sync_client=True) as client:  # its trigger must not fire on later tests' batches
            client.delete_resource_owned_automations(f"prefect.deployment.{deployment_id}")
            client.delete_deployment(uuid.UUID(deployment_id))


def test_a_burst_of_200_changes_is_one_batch_event_and_one_run_listing_all(
    prefect_server: str, tmp_path: Path, on_event_deployment: str
) -> None:
    fleet = _fleet()
    devices = [next(_device_ids) for _ in range(200)]
    # The window closes 5 s after the last new device (at the latest 10 min after the first): the burst,
    # however slowly a busy machine sends it, is one batch.
    settings = settings_for(
        prefect_server, tmp_path, coalesce_seconds=5, coalesce_max_seconds=600, fleet=fleet
    )
    with live_receiver(settings) as url, httpx.Client(headers=basic(), timeout=30) as client:
        with ThreadPoolExecutor(4) as pool:
            codes = list(pool.map(lambda d: client.post(f"{url}/webhooks/ws1", json=_payload(d)), devices))
        assert [r.status_code for r in codes] == [200] * len(devices)
        [batch] = _batch_events(prefect_server, fleet)
        metrics = client.get(f"{url}/metrics").json()
    assert batch["event"] == "ws1.devices.compliance-changed"
    ids = batch["payload"]["device_ids"]
    assert len(ids) == len(set(ids)) == 200 and set(ids) == set(devices)
    assert (metrics["batches"], metrics["coalesced"], metrics["buffered"]) == (1, 200, 0)
    # The per-device events are still there (the audit feed).
    assert (
        events_for(prefect_server, f"ws1.device.{devices[-1]}")[0]["event"] == "ws1.device.compliance-changed"
    )
    runs = wait_for(lambda: _runs_of(prefect_server, on_event_deployment), timeout=60)
    assert len(runs) == 1, [r["parameters"] for r in runs]
    assert runs[0]["parameters"]["device_ids"] == ids  # the list itself, in arrival order
    assert runs[0]["parameters"]["mode"] == "approve"


def test_the_same_device_twice_in_a_window_is_listed_once_and_a_close_flushes(
    prefect_server: str, tmp_path: Path
) -> None:
    fleet = _fleet()
    a, b = next(_device_ids), next(_device_ids)
    # A window far longer than the test: only closing the receiver can send the batch.
    settings = settings_for(
        prefect_server, tmp_path, coalesce_seconds=3600, coalesce_max_seconds=3600, fleet=fleet
    )
    with live_receiver(settings) as url:
        for body in (_payload(a, 1), _payload(b, 2), _payload(a, 3)):  # `a` changed twice (2 UEM events)
            resp = httpx.post(f"{url}/webhooks/ws1", json=body, headers=basic())
            assert resp.json()["status"] == "accepted"
        back_in = _payload(next(_device_ids), 4) | {"ComplianceStatus": "Compliant"}  # nothing to triage
        assert httpx.post(f"{url}/webhooks/ws1", json=back_in, headers=basic()).status_code == 200
        assert httpx.get(f"{url}/metrics").json()["buffered"] == 2
        assert events_for(prefect_server, f"ws1.fleet.{fleet}", timeout=0) == []
    [batch] = _batch_events(prefect_server, fleet)
    assert batch["payload"]["device_ids"] == [a, b]
    assert len(events_for(prefect_server, f"ws1.device.{a}", expect=2)) == 2  # both changes audited


def test_more_devices_than_the_cap_become_several_events(prefect_server: str, tmp_path: Path) -> None:
    fleet = _fleet()
    devices = [next(_device_ids) for _ in range(5)]
    settings = settings_for(
        prefect_server,
        tmp_path,
        coalesce_seconds=3600,
        coalesce_max_seconds=3600,
        coalesce_max_devices=2,
        fleet=fleet,
    )
    with live_receiver(settings) as url:
        for device in devices:
            httpx.post(f"{url}/webhooks/ws1", json=_payload(device), headers=basic()).raise_for_status()
    batches = _batch_events(prefect_server, fleet, expect=3)
    assert [e["payload"]["device_ids"] for e in batches] == [devices[0:2], devices[2:4], devices[4:]]
    assert [(e["payload"]["part"], e["payload"]["parts"]) for e in batches] == [(1, 3), (2, 3), (3, 3)]


def test_a_new_device_keeps_the_window_open_and_the_cap_closes_it(
    prefect_server: str, tmp_path: Path
) -> None:
    slow, capped = _fleet(), _fleet()
    a, b, c, d = (next(_device_ids) for _ in range(4))
    # Devices 6 s apart with a 10 s quiet time: one batch (a window fixed at 10 s from the first would have
    # closed before `c`). Sleeps pace the sender; nothing asserts how long anything took.
    settings = settings_for(
        prefect_server, tmp_path / "slow", coalesce_seconds=10, coalesce_max_seconds=600, fleet=slow
    )
    with live_receiver(settings) as url:
        for i, device in enumerate((a, b, c)):
            if i:
                time.sleep(6)
            httpx.post(f"{url}/webhooks/ws1", json=_payload(device), headers=basic()).raise_for_status()
        [batch] = _batch_events(prefect_server, slow)
    assert batch["payload"]["device_ids"] == [a, b, c]
    # A quiet time longer than the test: only the cap (2 s after the first device) can close this window.
    settings = settings_for(
        prefect_server, tmp_path / "capped", coalesce_seconds=3600, coalesce_max_seconds=2, fleet=capped
    )
    with live_receiver(settings) as url:
        httpx.post(f"{url}/webhooks/ws1", json=_payload(d), headers=basic()).raise_for_status()
        [batch] = _batch_events(prefect_server, capped)
        assert httpx.get(f"{url}/metrics").json()["batches"] == 1  # closed while running, not by the stop
    assert batch["payload"]["device_ids"] == [d]


@contextmanager
def _receiver_process(
    api: str, state: Path, fleet: str, window: float
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`python -m deployments.webhook serve` as an operator runs it (uvicorn, its own signal handling)."""
    port = free_port()
    env = {
        **os.environ,
        "WS1AI_WEBHOOK_USERNAME": USER,
        "WS1AI_WEBHOOK_PASSWORD": PASSWORD,
        "WS1AI_WEBHOOK_PREFECT_API_URL": api,
        "WS1AI_WEBHOOK_STATE_DIR": str(state),
        "WS1AI_WEBHOOK_COALESCE_SECONDS": str(window),
        "WS1AI_WEBHOOK_COALESCE_MAX_SECONDS": str(window),
        "WS1AI_WEBHOOK_FLEET": fleet,
    }
    cmd = [sys.executable, "-m", "deployments.webhook", "serve", "--port", str(port)]
    proc = subprocess.Popen(
        cmd, cwd=PROJECT_FILE.parent, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return proc.poll() is not None  # exited: stop waiting (asserted below)

    try:
        assert wait_for(up, timeout=60) and proc.poll() is None, "the receiver did not start"
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


def _send(url: str, devices: list[int]) -> None:
    with httpx.Client(headers=basic(), timeout=30) as client:
        for device in devices:
            assert client.post(f"{url}/webhooks/ws1", json=_payload(device)).json()["status"] == "accepted"


def test_sigterm_mid_window_flushes_the_batch(prefect_server: str, tmp_path: Path) -> None:
    fleet, devices = _fleet(), [next(_device_ids) for _ in range(20)]
    with _receiver_process(prefect_server, tmp_path, fleet, window=3600) as (proc, url):
        _send(url, devices)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == -signal.SIGTERM  # uvicorn re-raises it after its shutdown
    [batch] = _batch_events(prefect_server, fleet)
    assert batch["payload"]["device_ids"] == devices


def test_sigkill_mid_window_keeps_the_buffer_and_the_restart_sends_it(
    prefect_server: str, tmp_path: Path
) -> None:
    fleet, devices = _fleet(), [next(_device_ids) for _ in range(20)]
    with _receiver_process(prefect_server, tmp_path, fleet, window=3600) as (proc, url):
        _send(url, devices)
        proc.kill()  # no shutdown code runs: only what was committed before each 200 survives
        proc.wait(timeout=30)
    assert events_for(prefect_server, f"ws1.fleet.{fleet}", timeout=2) == []  # the batch had not gone out
    # Restarted on the same state with a 1 s window: the stored arrivals are long past, so it closes now.
    with _receiver_process(prefect_server, tmp_path, fleet, window=1) as (proc, url):
        [batch] = _batch_events(prefect_server, fleet)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == -signal.SIGTERM  # uvicorn re-raises it after its shutdown
    assert batch["payload"]["device_ids"] == devices
    assert events_for(prefect_server, f"ws1.device.{devices[-1]}")  # the audit events went out too
    assert len(events_for(prefect_server, f"ws1.fleet.{fleet}", expect=2, timeout=3)) == 1  # sent once
