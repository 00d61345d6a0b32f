"""The receiver on a real loopback socket: replay after an outage, concurrent load, and the sandbox tenant's
own event notifications (UEM → receiver → Prefect), all through real HTTP."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from deployments.deadletters import DeadLetters
from deployments.webhook import notification_model
from tests.deployments.conftest import basic, events_for, live_receiver, settings_for, settle, uem_payload
from ws1ai.net import free_port
from ws1ai.sandbox import SandboxState, create_app
from ws1ai.sandbox.server import serve_in_background
from ws1ai.settings import UEMSettings

pytestmark = pytest.mark.prefect


def _forwarder(api_url: str) -> FastAPI:
    """Stands in for the Prefect API once it is 'back': forwards event POSTs to the real server."""
    app = FastAPI()

    @app.post("/api/events")
    async def forward(request: Request) -> Response:
        async with httpx.AsyncClient() as client:
            resp = await client.post(
                f"{api_url}/events",
                content=await request.body(),
                headers={"Content-Type": "application/json"},
            )
        return Response(status_code=resp.status_code)

    return app


def test_outage_then_replay_endpoint(prefect_server: str, tmp_path: Path) -> None:
    port = free_port()
    settings = settings_for(prefect_server, tmp_path, prefect_api_url=f"http://127.0.0.1:{port}/api")
    bodies = [uem_payload() for _ in range(3)]
    with live_receiver(settings) as url:
        for body in bodies:  # Prefect is down: each event is acknowledged and stays in the outbox
            resp = httpx.post(f"{url}/webhooks/ws1", json=body, headers=basic())
            assert (resp.status_code, resp.json()["status"]) == (200, "accepted")
        assert httpx.post(f"{url}/webhooks/replay").status_code == 401
        down = settle(httpx, url)
        assert (down["pending"], down["spooled"], down["prefect_reachable"]) == (3, 3, 0)
        with serve_in_background(_forwarder(prefect_server), port=port):  # Prefect is back
            replay = httpx.post(f"{url}/webhooks/replay", headers=basic(), timeout=30)
            assert replay.json() == {"sent": 3, "pending": 0}
        metrics = httpx.get(f"{url}/metrics").json()
    assert (metrics["spooled"], metrics["replayed"], metrics["emitted"]) == (3, 3, 3)
    for body in bodies:
        [event] = events_for(prefect_server, f"ws1.device.{body['DeviceId']}")
        assert event["event"] == "ws1.device.compliance-changed"


def test_concurrent_senders_are_batched_and_none_lost(prefect_server: str, tmp_path: Path) -> None:
    bodies = [uem_payload(EventType="Device Operating System Changed") for _ in range(60)]
    with live_receiver(settings_for(prefect_server, tmp_path)) as url:
        with httpx.Client(headers=basic()) as client, ThreadPoolExecutor(6) as pool:
            codes = list(pool.map(lambda b: client.post(f"{url}/webhooks/ws1", json=b).status_code, bodies))
        metrics = settle(httpx, url)
    assert codes == [200] * len(bodies)
    assert metrics["emitted"] == len(bodies)
    assert metrics["prefect_posts"] <= len(bodies)  # group commit: never more POSTs than events
    last = bodies[-1]
    assert events_for(prefect_server, f"ws1.device.{last['DeviceId']}")[0]["event"] == "ws1.device.os-changed"


@pytest.fixture(scope="module")
def tenant_state() -> SandboxState:
    return SandboxState.seeded(devices=30, seed=3, days=3)


def test_sandbox_compliance_change_end_to_end(
    prefect_server: str, tmp_path: Path, tenant_state: SandboxState
) -> None:
    settings = settings_for(prefect_server, tmp_path)
    uem = UEMSettings(_env_file=None)
    admin = {
        **basic(uem.username, uem.password.get_secret_value()),
        "aw-tenant-code": uem.tenant_code.get_secret_value(),
        "Accept": "application/json",
    }
    device = next(rec for rec in tenant_state.devices.values() if rec.compliance == "Compliant")
    with (
        live_receiver(settings) as receiver_url,
        serve_in_background(create_app(tenant_state)) as tenant_url,
    ):
        # Configure the tenant as an admin would: an event notification, JSON, Basic auth to our receiver.
        created = httpx.post(
            f"{tenant_url}/api/system/eventnotifications",
            json=notification_model(receiver_url, settings),
            headers=admin,
        )
        assert created.status_code == 200, created.text
        changed = httpx.post(
            f"{tenant_url}/_sandbox/devices/{device.id}/compliance", json={"ComplianceStatus": "NonCompliant"}
        )
        assert changed.json()["changed"] is True
        drained = httpx.post(f"{tenant_url}/_sandbox/webhooks/drain", timeout=30).json()
        assert drained["delivered"] >= 1 and drained["failed"] == 0
        [event] = events_for(prefect_server, f"ws1.device.{device.id}")
        metrics = settle(httpx, receiver_url)
    assert event["event"] == "ws1.device.compliance-changed"
    assert event["payload"]["compliance_status"] == "NonCompliant"
    assert event["payload"]["device_uuid"] == device.uuid
    assert device.serial not in str(event) and device.user_email not in str(event)
    assert (metrics["emitted"], metrics["rejected"]) == (1, 0)


def test_dead_letter_fixed_and_resent(prefect_server: str, tmp_path: Path) -> None:
    body = uem_payload(EventTime="2022-01-16T09:13:59.5720125")  # no zone: refused, kept
    with live_receiver(settings_for(prefect_server, tmp_path)) as url:
        assert httpx.post(f"{url}/webhooks/ws1", json=body, headers=basic()).status_code == 400
        letters = DeadLetters(tmp_path / "dead-letter")
        assert letters.resend(url, {"/webhooks/ws1": basic()}) == (0, 1)  # unchanged: still refused
        [path] = letters.files()
        record = json.loads(path.read_text())
        record["body"] = record["body"].replace('.5720125"', '.5720125Z"')  # the operator's fix
        path.write_text(json.dumps(record))
        assert letters.resend(url, {"/webhooks/ws1": basic()}) == (1, 0)
        assert letters.files() == [] and len(list((tmp_path / "dead-letter" / "resent").glob("*.json"))) == 1
    assert events_for(prefect_server, f"ws1.device.{body['DeviceId']}")
