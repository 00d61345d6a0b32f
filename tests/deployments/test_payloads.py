"""Pure parts: payload validation, the EventType → event-name table, PII-free payloads, dedup memory."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from deployments.events import FALLBACK_DEVICE_EVENT, device_event, hris_event
from deployments.payloads import HRISChangeEvent, UEMEvent, describe_errors
from deployments.store import EventStore
from tests.deployments.conftest import uem_payload

PERSONAL = ("DeviceFriendlyName", "EnrollmentEmailAddress", "EnrollmentUserName", "PhoneNumber", "Udid",
            "SerialNumber", "MACAddress", "DeviceIMEI", "AssetNumber", "EnrollmentUserUUID")  # fmt: skip


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2022-01-16T09:13:59.5720125Z", datetime(2022, 1, 16, 9, 13, 59, 572012, tzinfo=UTC)),
        ("2022-01-16T09:13:59.57201Z", datetime(2022, 1, 16, 9, 13, 59, 572010, tzinfo=UTC)),
    ],
)
def test_event_time_with_seven_or_five_digits(stamp: str, expected: datetime) -> None:
    assert UEMEvent.model_validate(uem_payload(EventTime=stamp)).occurred_at == expected


@pytest.mark.parametrize(
    "stamp", ["2022-01-16T09:13:59.5720125", "2022-01-16 09:13:59Z", "/Date(1368076195887)/"]
)
def test_event_time_without_zone_or_in_other_shapes_is_refused(stamp: str) -> None:
    with pytest.raises(ValidationError) as info:
        UEMEvent.model_validate(uem_payload(EventTime=stamp))
    assert describe_errors(info.value).startswith("EventTime:")


def test_errors_name_every_missing_field() -> None:
    body = uem_payload()
    del body["DeviceId"], body["EventId"]
    with pytest.raises(ValidationError) as info:
        UEMEvent.model_validate(body)
    message = describe_errors(info.value)
    assert "DeviceId: Field required" in message and "EventId: Field required" in message


def test_compliance_change_needs_its_status() -> None:
    with pytest.raises(ValidationError, match="ComplianceStatus is required"):
        UEMEvent.model_validate(uem_payload(ComplianceStatus=""))


def test_extra_fields_are_accepted() -> None:
    assert UEMEvent.model_validate(uem_payload(NewFieldFrom2027="x")).DeviceId > 0


@pytest.mark.parametrize(
    ("event_type", "name"),
    [
        ("Compliance Status Changed", "ws1.device.compliance-changed"),
        ("Compromised Status Changed", "ws1.device.compromised-changed"),
        ("Enrollment Complete", "ws1.device.enrolled"),
        ("Device Wipe", "ws1.device.wiped"),
        ("Device Operating System Changed", "ws1.device.os-changed"),
        ("Something UEM Adds Later", FALLBACK_DEVICE_EVENT),
    ],
)
def test_event_names(event_type: str, name: str) -> None:
    event = device_event(UEMEvent.model_validate(uem_payload(EventType=event_type)))
    assert event["event"] == name
    assert event["payload"]["event_type"] == event_type  # unknown types stay identifiable


def test_device_event_carries_ids_and_statuses_only() -> None:
    body = uem_payload(CompromisedStatus="Compromised")
    event = device_event(UEMEvent.model_validate(body))
    device = str(body["DeviceId"])
    assert event["resource"] == {
        "prefect.resource.id": f"ws1.device.{device}",
        "prefect.resource.name": device,
        "ws1.device.compliance-status": "NonCompliant",  # labels: what trigger `match` can filter on
        "ws1.device.compromised": "true",
        "ws1.device.platform": "AppleOsX",
    }
    assert event["payload"] == {
        "uem_event_id": 178, "event_type": "Compliance Status Changed",
        "event_time": "2022-01-16T09:13:59.572012+00:00", "device_id": body["DeviceId"],
        "device_uuid": body["DeviceUUID"], "compliance_status": "NonCompliant", "compromised": True,
        "enrollment_status": "Enrolled", "platform": "AppleOsX", "os_version": "11.6.1",
        "ownership": "CorporateDedicated",
    }  # fmt: skip
    dumped = json.dumps(event)
    assert not [field for field in PERSONAL if str(body[field]) in dumped]


def test_event_id_is_stable_for_a_resend_and_differs_per_event() -> None:
    body = uem_payload()
    first, again = (device_event(UEMEvent.model_validate(body)) for _ in range(2))
    other = device_event(UEMEvent.model_validate({**body, "EventId": 179}))
    assert first["id"] == again["id"] != other["id"]


def test_hris_change_aliases_termination_to_leave() -> None:
    change = HRISChangeEvent.model_validate(
        {
            "event_id": 7,
            "type": "termination",
            "employee_id": "E00042",
            "effective_date": "2026-12-01",
            "name": "Ada Lovelace",
        }
    )
    event = hris_event(change)
    assert event["event"] == "ws1.hris.leave"
    assert event["resource"]["prefect.resource.id"] == "ws1.employee.E00042"
    assert "Ada" not in json.dumps(event)


def test_store_dedups_and_keeps_the_outbox_across_restarts(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "r.sqlite3", capacity=3)
    assert store.accept("a", {"n": 1}) and store.accept("b", {"n": 2})
    assert not store.accept("a", {"n": 1})
    store.close()
    reopened = EventStore(tmp_path / "r.sqlite3", capacity=3)
    assert not reopened.accept("a", {"n": 1})  # a re-send after a receiver restart is still a duplicate
    pending = reopened.pending(10)
    assert [event for _, event in pending] == [{"n": 1}, {"n": 2}]  # arrival order survives too
    reopened.done([pending[0][0]])
    assert reopened.count_after(0) == (1, pending[1][0])


def test_a_trigger_can_start_triage_only_when_a_device_falls_out_of_compliance() -> None:
    """Prefect's own trigger matching (server schema), on the events the receiver builds."""
    from prefect.server.events.schemas.automations import EventTrigger, Posture
    from prefect.server.events.schemas.events import Event

    trigger = EventTrigger(
        expect={"ws1.device.compliance-changed"},
        match={"prefect.resource.id": "ws1.device.*", "ws1.device.compliance-status": "NonCompliant"},
        posture=Posture.Reactive,
    )

    def covers(status: str) -> bool:
        event = device_event(UEMEvent.model_validate(uem_payload(ComplianceStatus=status)))
        return trigger.covers(Event.model_validate(event).receive())

    assert covers("NonCompliant") and not covers("Compliant")
