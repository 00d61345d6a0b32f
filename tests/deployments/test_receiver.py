"""The receiver against the session's real Prefect server: auth, validation, dedup, PII, spool and replay."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from deployments.payloads import UEMEvent
from deployments.webhook import create_receiver
from tests.deployments.conftest import HRIS_KEY, basic, events_for, settings_for, settle, uem_payload

pytestmark = pytest.mark.prefect


def test_valid_event_reaches_prefect(receiver: TestClient, prefect_server: str) -> None:
    body = uem_payload()
    resp = receiver.post("/webhooks/ws1", json=body, headers=basic())
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "accepted"
    [event] = events_for(prefect_server, f"ws1.device.{body['DeviceId']}")
    assert event["id"] == resp.json()["id"]
    assert event["event"] == "ws1.device.compliance-changed"
    assert event["resource"]["prefect.resource.name"] == str(body["DeviceId"])
    assert event["payload"]["compliance_status"] == "NonCompliant"
    assert event["payload"]["uem_event_id"] == 178
    assert event["resource"]["ws1.device.compliance-status"] == "NonCompliant"  # triggers can match it
    # No personal data from the input reaches Prefect (readable by anyone with API access).
    stored = json.dumps(event)
    for field in ("SerialNumber", "EnrollmentEmailAddress", "EnrollmentUserName", "DeviceFriendlyName",
                  "Udid", "DeviceIMEI", "PhoneNumber", "MACAddress", "AssetNumber"):  # fmt: skip
        assert str(body[field]) not in stored, field


BAD_AUTH = {
    "missing": {},
    "wrong-password": basic(password="wrong"),
    "wrong-user": basic(user="someone-else"),
    "bearer": {"Authorization": "Bearer x"},
    "garbage": {"Authorization": "Basic not-base64!"},
}


def test_bad_basic_auth_is_401_and_emits_nothing(
    receiver: TestClient, prefect_server: str, tmp_path: Path
) -> None:
    refused = {name: uem_payload() for name in BAD_AUTH}
    for name, headers in BAD_AUTH.items():
        resp = receiver.post("/webhooks/ws1", json=refused[name], headers=headers)
        assert resp.status_code == 401, name
        assert resp.headers["www-authenticate"].startswith("Basic")
    # A later valid event is stored; the refused ones (same Prefect pipeline, earlier) never are.
    accepted = uem_payload()
    assert receiver.post("/webhooks/ws1", json=accepted, headers=basic()).status_code == 200
    assert events_for(prefect_server, f"ws1.device.{accepted['DeviceId']}")
    for body in refused.values():
        assert events_for(prefect_server, f"ws1.device.{body['DeviceId']}", timeout=0) == []
    metrics = settle(receiver)
    assert (metrics["unauthorized"], metrics["emitted"], metrics["rejected"]) == (5, 1, 5)
    assert not list(tmp_path.rglob("*.json"))  # unauthenticated bodies are not kept


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b'{"EventId": 1, "EventType": "Compliance', "Invalid JSON"),
        (
            json.dumps({k: v for k, v in uem_payload().items() if k != "DeviceId"}).encode(),
            "DeviceId: Field required",
        ),
        (json.dumps(uem_payload(EventTime="2022-01-16T09:13:59")).encode(), "EventTime:"),
        (b"[1, 2]", "Input should be an object"),
    ],
    ids=["truncated-json", "missing-device-id", "zone-less-time", "not-an-object"],
)
def test_malformed_is_400_and_kept_for_replay(
    receiver: TestClient, tmp_path: Path, raw: bytes, problem: str
) -> None:
    resp = receiver.post(
        "/webhooks/ws1", content=raw, headers={**basic(), "Content-Type": "application/json"}
    )
    assert resp.status_code == 400
    assert problem in resp.json()["error"]
    [kept] = (tmp_path / "dead-letter").glob("*.json")
    assert kept.name == resp.json()["dead_letter"]
    record = json.loads(kept.read_text())
    assert problem in record["reason"] and record["size"] == len(raw)
    assert record["endpoint"] == "/webhooks/ws1"
    # Only the replayable fields of a JSON object are kept; anything else keeps nothing of the body.
    kept_body = None if record["body"] is None else json.loads(record["body"])
    parsed = json.loads(raw) if raw.startswith(b"{\"EventId\": 178") else None
    expected = None if parsed is None else {k: parsed[k] for k in UEMEvent.REPLAY_FIELDS if k in parsed}
    assert kept_body == expected
    assert settle(receiver)["emitted"] == 0


def test_resent_event_is_emitted_once_even_after_a_restart(prefect_server: str, tmp_path: Path) -> None:
    body = uem_payload()
    settings = settings_for(prefect_server, tmp_path)
    with TestClient(create_receiver(settings)) as receiver:
        first = receiver.post("/webhooks/ws1", json=body, headers=basic())
        again = receiver.post("/webhooks/ws1", json=body, headers=basic())
        assert (first.status_code, again.status_code) == (200, 200)
        assert again.json()["status"] == "duplicate"
        metrics = settle(receiver)
        assert (metrics["emitted"], metrics["duplicates"], metrics["received"]) == (1, 1, 2)
    with TestClient(create_receiver(settings)) as restarted:  # same state dir: the sqlite memory
        assert restarted.post("/webhooks/ws1", json=body, headers=basic()).json()["status"] == "duplicate"
        later = {**body, "EventId": 179, "EventTime": "2022-01-16T09:20:00.1234567Z"}
        assert restarted.post("/webhooks/ws1", json=later, headers=basic()).json()["status"] == "accepted"
    assert len(events_for(prefect_server, f"ws1.device.{body['DeviceId']}", expect=2)) == 2


def test_prefect_down_spools_then_startup_replays(prefect_server: str, tmp_path: Path) -> None:
    body = uem_payload()
    with httpx.Client() as probe:  # a port where nothing listens: connection refused, as when Prefect is down
        dead_url = "http://127.0.0.1:9/api"
        with pytest.raises(httpx.ConnectError):
            probe.get(dead_url)
    with TestClient(
        create_receiver(settings_for(prefect_server, tmp_path, prefect_api_url=dead_url))
    ) as down:
        resp = down.post("/webhooks/ws1", json=body, headers=basic())
        assert resp.status_code == 200 and resp.json()["status"] == "accepted"  # on disk before the answer
        metrics = settle(down)
        assert (metrics["spooled"], metrics["pending"], metrics["emitted"]) == (1, 1, 0)
        assert metrics["prefect_reachable"] == 0
    with TestClient(create_receiver(settings_for(prefect_server, tmp_path))) as back:  # the next start
        [event] = events_for(prefect_server, f"ws1.device.{body['DeviceId']}")
        assert event["id"] == resp.json()["id"]
        metrics = settle(back)
    # Two waited: the device event, and the batch its stop closed the coalescing window into (test_coalesce).
    assert (metrics["spooled"], metrics["replayed"], metrics["pending"]) == (2, 2, 0)


def test_hris_change_becomes_an_employee_event(receiver: TestClient, prefect_server: str) -> None:
    change = {"event_id": "hr-991", "type": "leave", "employee_id": "E910001", "effective_date": "2026-12-31",
              "email": "leaver@example.com"}  # fmt: skip
    assert receiver.post("/webhooks/hris", json=change, headers={"X-API-Key": "nope"}).status_code == 401
    resp = receiver.post("/webhooks/hris", json=change, headers={"X-API-Key": HRIS_KEY})
    assert resp.status_code == 200, resp.text
    [event] = events_for(prefect_server, "ws1.employee.E910001")
    assert event["event"] == "ws1.hris.leave"
    assert event["payload"] == {"hris_event_id": "hr-991", "type": "leave", "employee_id": "E910001",
                                "effective_date": "2026-12-31"}  # fmt: skip
    bad = receiver.post(
        "/webhooks/hris", json={**change, "type": "promotion"}, headers={"X-API-Key": HRIS_KEY}
    )
    assert bad.status_code == 400 and "type:" in bad.json()["error"]


def test_health_and_metrics(receiver: TestClient) -> None:
    assert receiver.get("/healthz").json() == {"status": "ok"}
    assert set(receiver.get("/metrics").json()) >= {
        "received",
        "emitted",
        "duplicates",
        "rejected",
        "spooled",
    }
