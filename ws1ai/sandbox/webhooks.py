"""Event notifications: POST the real UEM JSON payload to each configured target, with retry.

The payload's fields are listed in docs/uem-api.md#webhook-payload.

Delivery runs in one background thread so a slow receiver never blocks the API. A failed POST is retried
(UEM re-sends too), so a receiver may see duplicates — it must be idempotent on `EventId`.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

import httpx

from ws1ai.sandbox.identifiers import asset_number, imei, mac_address, phone_number, udid
from ws1ai.sandbox.records import DeviceRecord
from ws1ai.sandbox.state import SandboxState

__all__ = ["EVENT_TOGGLES", "WebhookDispatcher", "event_payload"]

log = logging.getLogger(__name__)

# EventType → the DeviceEvents toggle of EventNotificationModel that enables it.
EVENT_TOGGLES = {
    "Compliance Status Changed": "ComplianceStatusChange",
    "Enrollment Complete": "Enrollment",
    "Compromised Status Changed": "CompromisedStatusChange",
    "Enterprise Wipe": "UnenrolledEnterpriseWipe",
    "Break MDM Confirmed": "UnenrolledEnterpriseWipe",
    "Device Wipe": "Wipe",
    "Device Wipe Completed": "Wipe",
    "Device Delete": "Delete",
    "Device Organization Group Changed": "DeviceAttributes",  # real string (docs/uem-api.md#webhook-payload)
    "Device Lock": "DeviceAttributes",  # sandbox extra; enabled by any DeviceAttributes toggle
}
_OWNERSHIP = {"C": "CorporateDedicated", "E": "EmployeeOwned", "S": "CorporateShared"}
MAX_ATTEMPTS = 4
RETRY_DELAY_SECONDS = 0.5


def event_payload(state: SandboxState, rec: DeviceRecord, event_type: str, event_id: int) -> dict[str, Any]:
    og = state.org_groups.get(rec.lgid, {"name": ""})
    user_id = state.user_id_for(rec.user_email)
    user = state.users.get(user_id, {})
    now = state.now()
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond * 10:07d}"[:7] + "Z"
    return {
        "EventId": event_id,
        "EventType": event_type,
        "DeviceId": rec.id,
        "DeviceFriendlyName": f"{rec.user_name} {rec.model}",
        "EnrollmentEmailAddress": rec.user_email,
        "EnrollmentUserName": rec.user_name,
        "EventTime": stamp,
        "EnrollmentStatus": rec.enrollment_status,
        "CompromisedStatus": "Compromised" if rec.compromised else "",
        "CompromisedTimeStamp": stamp,
        "ComplianceStatus": rec.compliance,
        "PhoneNumber": phone_number(rec.id, rec.platform),
        "Udid": udid(rec.id),
        "SerialNumber": rec.serial,
        "MACAddress": mac_address(rec.id),
        "DeviceIMEI": imei(rec.id, rec.platform),
        "EnrollmentUserId": user_id,
        "AssetNumber": asset_number(rec.id),
        "Platform": rec.platform,
        "OperatingSystem": rec.os_version,
        "Ownership": _OWNERSHIP.get(rec.ownership, "Undefined"),
        "SIMMCC": "",
        "CurrentMCC": "",
        "OrganizationGroupName": og["name"],
        "DeviceUUID": rec.uuid,
        "EnrollmentUserUUID": user.get("uuid", ""),
    }


def _enabled(config: dict[str, Any], event_type: str) -> bool:
    if not config.get("IsActive", True) or int(config.get("Format", 1)) != 1:
        return False  # XML (Format 0) targets are stored but not delivered by the sandbox
    toggles = config.get("DeviceEvents") or {}
    toggle = EVENT_TOGGLES.get(event_type)
    if toggle == "DeviceAttributes":
        return any(bool(v) for v in (toggles.get("DeviceAttributes") or {}).values())
    return bool(toggles.get(toggle)) if toggle else False


class WebhookDispatcher:
    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self._queue: queue.Queue[tuple[str, str, str, dict[str, Any]]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._event_seq = 0
        self.delivered = 0
        self.failed = 0

    def enqueue(self, rec: DeviceRecord, event_type: str) -> None:
        """Called under the state lock by `SandboxState.emit`."""
        targets = [c for c in self.state.event_notifications.values() if _enabled(c, event_type)]
        if not targets:
            return
        self._event_seq += 1
        payload = event_payload(self.state, rec, event_type, self._event_seq)
        for cfg in targets:
            self._queue.put(
                (
                    str(cfg["TargetUrl"]),
                    str(cfg.get("Username") or ""),
                    str(cfg.get("Password") or ""),
                    payload,
                )
            )
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        with httpx.Client(timeout=5.0) as client:
            while True:  # a daemon thread that never exits: no race between "idle, exiting" and a new event
                url, user, pwd, payload = self._queue.get()
                self._deliver(client, url, user, pwd, payload)
                self._queue.task_done()

    def _deliver(self, client: httpx.Client, url: str, user: str, pwd: str, payload: dict[str, Any]) -> None:
        auth: httpx.BasicAuth | None = httpx.BasicAuth(user, pwd) if user else None
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                resp = client.post(url, json=payload, auth=auth) if auth else client.post(url, json=payload)
                if resp.status_code < 300:
                    self.delivered += 1
                    return
            except Exception as exc:  # any failure (bad URL too) is a failed attempt; the thread must live on
                log.info("webhook to %s failed (attempt %d): %s", url, attempt, type(exc).__name__)
            time.sleep(RETRY_DELAY_SECONDS * attempt)
        self.failed += 1

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every queued delivery finished (tests); True if the queue emptied in time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.unfinished_tasks == 0:
                return True
            time.sleep(0.02)
        return False
