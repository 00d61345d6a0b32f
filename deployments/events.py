"""Workspace ONE / HRIS changes → Prefect events: the names and resources that prefect.yaml triggers match.

Pure functions (no I/O). The payload carries identifiers and statuses only — never a name, e-mail address,
serial number, IMEI, MAC address, phone number or asset tag — because Prefect events are readable by anyone
with API access and kept for the audit retention. A flow that needs more looks the device up by id.

Event ids are derived from the de-duplication key (uuid5), so a replayed or re-sent event has the same id:
Prefect stores events with ON CONFLICT DO NOTHING and its trigger service skips ids it has seen, which makes
emission idempotent end to end even if a POST succeeded but its response was lost.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from deployments.payloads import HRISChangeEvent, UEMEvent

__all__ = [
    "BATCH_EVENT",
    "DEVICE_EVENT_NAMES",
    "FALLBACK_DEVICE_EVENT",
    "batch_events",
    "coalesced_device",
    "device_event",
    "device_event_name",
    "hris_event",
]

# UEM EventType → Prefect event name. Strings are the ones UEM sends (docs/uem-api.md#webhook-payload)
# plus those the sandbox emits for wipe/delete/lock, whose real wording is unverified.
DEVICE_EVENT_NAMES: dict[str, str] = {
    "Compliance Status Changed": "ws1.device.compliance-changed",
    "Compromised Status Changed": "ws1.device.compromised-changed",
    "Enrollment Complete": "ws1.device.enrolled",
    "MDM Enrollment Complete": "ws1.device.enrolled",
    "MDMEnrollmentComplete": "ws1.device.enrolled",  # historic (≈2013) payloads
    "Break MDM Confirmed": "ws1.device.unenrolled",
    "Enterprise Wipe": "ws1.device.enterprise-wiped",
    "Device Wipe": "ws1.device.wiped",
    "Device Wipe Completed": "ws1.device.wiped",
    "Device Delete": "ws1.device.deleted",
    "Device Lock": "ws1.device.locked",
    "Device Operating System Changed": "ws1.device.os-changed",
    "Device Organization Group Changed": "ws1.device.organization-group-changed",
    "Device MCC": "ws1.device.mcc-changed",
}
FALLBACK_DEVICE_EVENT = "ws1.device.event"
# One event per coalescing window naming every device that fell out of compliance in it (the receiver's
# buffer, deployments.store); `compliance-triage-on-event` triggers on this, not on the per-device events.
BATCH_EVENT = "ws1.devices.compliance-changed"
_COALESCED = ("ws1.device.compliance-changed", "NonCompliant")
_NAMESPACE = uuid.UUID("6f3c1a52-2d0b-4f4e-9a57-1d1b2b7e0c11")  # fixed: ids must be stable across releases
_COMPROMISED_TRUE = {"compromised", "true", "yes", "1"}
_COMPROMISED_FALSE = {"", "false", "no", "0", "notcompromised", "not compromised"}


def event_id(dedup_key: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, dedup_key))


def device_event_name(event_type: str) -> str:
    return DEVICE_EVENT_NAMES.get(event_type, FALLBACK_DEVICE_EVENT)


def _compromised(value: str | bool | None) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = value.strip().lower()
    if text in _COMPROMISED_TRUE:
        return True
    return False if text in _COMPROMISED_FALSE else None


def _now() -> str:
    return datetime.now(UTC).isoformat()


def device_event(event: UEMEvent, *, received_at: str | None = None) -> dict[str, Any]:
    """The Prefect event (JSON-ready, as `POST /api/events` takes it) for one UEM event notification.

    `occurred` is when we received it: UEM's clock (and the sandbox's simulated one) may be ahead of ours,
    and Prefect's event queries stop at "now", so a future `occurred` would hide the event. UEM's own
    time travels in the payload as `event_time`.
    """
    device = str(event.DeviceId)
    payload: dict[str, Any] = {
        "uem_event_id": event.EventId,
        "event_type": event.EventType,
        "event_time": event.occurred_at.isoformat(),
        "device_id": event.DeviceId,
        "device_uuid": event.DeviceUUID,
        "compliance_status": event.ComplianceStatus,
        "compromised": _compromised(event.CompromisedStatus),
        "enrollment_status": event.EnrollmentStatus,
        "platform": event.Platform,
        "os_version": event.OperatingSystem,
        "ownership": event.Ownership,
    }
    # Trigger `match` sees resource labels only (not the payload), so the states a trigger may want to filter
    # on ride along as labels: e.g. match {"ws1.device.compliance-status": "NonCompliant"} starts triage
    # only when a device falls out of compliance, not when it comes back.
    labels = {
        "ws1.device.compliance-status": event.ComplianceStatus,
        "ws1.device.compromised": _label(payload["compromised"]),
        "ws1.device.platform": event.Platform,
    }
    resource = {"prefect.resource.id": f"ws1.device.{device}", "prefect.resource.name": device}
    resource.update({k: v for k, v in labels.items() if v})
    return {
        "id": event_id(event.dedup_key),
        "occurred": received_at or _now(),
        "event": device_event_name(event.EventType),
        "resource": resource,
        "related": [],
        "payload": {k: v for k, v in payload.items() if v is not None},
    }


def _label(value: bool | None) -> str | None:
    return None if value is None else str(value).lower()


def hris_event(change: HRISChangeEvent, *, received_at: str | None = None) -> dict[str, Any]:
    """`ws1.hris.hire|leave|move` on resource `ws1.employee.<employee_id>`; ids and dates only."""
    return {
        "id": event_id(change.dedup_key),
        "occurred": received_at or _now(),
        "event": f"ws1.hris.{change.type}",
        "resource": {
            "prefect.resource.id": f"ws1.employee.{change.employee_id}",
            "prefect.resource.name": change.employee_id,
        },
        "related": [],
        "payload": {
            "hris_event_id": change.event_id,
            "type": change.type,
            "employee_id": change.employee_id,
            "effective_date": change.effective_date.isoformat(),
        },
    }


def coalesced_device(event: dict[str, Any]) -> int | None:
    """The device id when `event` (a `device_event`) goes into the coalescing buffer, else None.

    Only devices falling out of compliance: the per-device trigger this replaces matched exactly those, and a
    device coming back into compliance has nothing to triage.
    """
    name, status = _COALESCED
    if event["event"] != name or event["resource"].get("ws1.device.compliance-status") != status:
        return None
    return int(event["payload"]["device_id"])


def batch_events(
    fleet: str,
    device_ids: list[int],
    *,
    window_started: float,
    window_seconds: float,
    max_devices: int,
    received_at: str | None = None,
) -> list[dict[str, Any]]:
    """`ws1.devices.compliance-changed` events on resource `ws1.fleet.<fleet>`: `device_ids` in order, at most
    `max_devices` per event (a longer list becomes several events, `part` of `parts`).

    Ids and counts only, like every event here. Ids are random: each event is written to the outbox once (in
    the transaction that empties the buffer) and re-sent from there unchanged, so a retry keeps its id.
    """
    chunks = [device_ids[i : i + max_devices] for i in range(0, len(device_ids), max_devices)]
    started = datetime.fromtimestamp(window_started, UTC).isoformat()
    return [
        {
            "id": str(uuid.uuid4()),
            "occurred": received_at or _now(),
            "event": BATCH_EVENT,
            "resource": {
                "prefect.resource.id": f"ws1.fleet.{fleet}",
                "prefect.resource.name": fleet,
                "ws1.device.compliance-status": _COALESCED[1],
            },
            "related": [],
            "payload": {
                "device_ids": chunk,
                "devices": len(chunk),
                "part": part,
                "parts": len(chunks),
                "window_started": started,
                "window_seconds": window_seconds,
            },
        }
        for part, chunk in enumerate(chunks, start=1)
    ]
