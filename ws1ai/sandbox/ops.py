"""What writes do to the tenant: command semantics, messages, compliance changes (callers hold the lock).

Event-notification `EventType` strings: "Compliance Status Changed", "Compromised Status Changed" and
"Break MDM Confirmed" are real (ref §9); the wipe/delete/lock ones are the sandbox's choice because the real
strings are unverified.
"""

from __future__ import annotations

from typing import Any

from ws1ai.sandbox.errors import ApiError
from ws1ai.sandbox.identifiers import fmt_ts
from ws1ai.sandbox.records import DeviceRecord
from ws1ai.sandbox.state import SandboxState

__all__ = [
    "BULK_COMMANDS",
    "COMMANDS",
    "V2_COMMANDS",
    "apply_command",
    "canonical_command",
    "log_event",
    "set_compliance",
]

# v1 `command` enum (ref §4); matched case-insensitively, as scripts in the wild send `softreset`.
COMMANDS = [
    "Lock",
    "EnterpriseWipe",
    "DeviceWipe",
    "DeviceQuery",
    "ClearPasscode",
    "SyncDevice",
    "StopAirPlay",
    "ScheduleOsUpdate",
    "CustomMdmCommand",
    "InstallPackagedMacOSXAgent",
    "SoftReset",
    "Shutdown",
    "EnterpriseReset",
    "SyncSensors",
    "OsUpdateStatus",
    "RotateFileVaultKey",
    "RotateDEPAdminPassword",
    "ResetBiosPassword",
    "UserList",
    "SyncWorkflows",
    "InstallSeededScepProfile",
]
BULK_COMMANDS = ["EnterpriseWipe", "LockDevice", "ScheduleOsUpdate", "SoftReset", "Shutdown"]
V2_COMMANDS = [
    "Lock",
    "DeviceWipe",
    "logout-user",
    "delete-user",
    "user-list",
    "SyncSensors",
    "suspend-bitlocker",
    "resume-bitlocker",
]
_ALL = {c.lower(): c for c in [*COMMANDS, *BULK_COMMANDS, *V2_COMMANDS]}


def canonical_command(raw: str | None, allowed: list[str] | None = None) -> str:
    if not raw:
        raise ApiError.bad_request("Parameter command is required.")
    name = _ALL.get(raw.strip().lower())
    pool = {c.lower() for c in (allowed if allowed is not None else COMMANDS)}
    if name is None or name.lower() not in pool:
        raise ApiError.bad_request(f"Invalid command '{raw}'.")
    return name


def log_event(
    state: SandboxState,
    rec: DeviceRecord,
    event: str,
    severity: str = "Info",
    data: dict[str, str] | None = None,
) -> None:
    now = state.now()
    rec.add_event(
        {
            "_time": now,
            "Severity": severity,
            "TimeStamp": fmt_ts(now),
            "Source": "Console",
            "Event": event,
            "AdminAccount": "sandbox-admin",
            "EventDataList": [{"Name": k, "Value": v} for k, v in (data or {}).items()],
        }
    )


def apply_command(
    state: SandboxState, rec: DeviceRecord, command: str, params: dict[str, Any] | None = None
) -> None:
    """Change the device as the real command eventually would, and log it on the device."""
    now = state.now()
    changed = False
    if command in ("Lock", "LockDevice"):
        rec.locked = True
    elif command == "ClearPasscode":
        rec.locked = False
    elif command in ("SyncDevice", "DeviceQuery", "SyncSensors", "OsUpdateStatus"):
        rec.last_seen = now
        rec.last_compliance_check = now
        changed = True
    elif command == "EnterpriseWipe" and rec.enrollment_status == "Enrolled":
        rec.enrollment_status = "EnterpriseWipePending"
        rec.status_changed = now
        changed = True
        state.schedule(state.wipe_completion_seconds, rec.id, "enterprise_wipe_done")
        state.emit(rec, "Enterprise Wipe")
    elif command == "DeviceWipe" and rec.enrollment_status in ("Enrolled", "EnterpriseWipePending"):
        rec.enrollment_status = "DeviceWipePending"
        rec.status_changed = now
        changed = True
        state.schedule(state.wipe_completion_seconds, rec.id, "device_wipe_done")
        state.emit(rec, "Device Wipe")
    if command in ("Lock", "LockDevice"):
        state.emit(rec, "Device Lock")
    log_event(
        state, rec, f"{command} command requested", "Notice", {k: str(v) for k, v in (params or {}).items()}
    )
    if changed:
        state.touch()


def set_compliance(
    state: SandboxState, rec: DeviceRecord, status: str, compromised: bool | None = None
) -> bool:
    """Returns True if anything changed (and then sends the matching event notifications)."""
    if status not in ("Compliant", "NonCompliant", "NotAvailable"):
        raise ApiError.bad_request("ComplianceStatus must be Compliant, NonCompliant or NotAvailable.")
    changed = False
    now = state.now()
    if rec.compliance != status:
        rec.compliance = status
        rec.last_compliance_check = now
        changed = True
        log_event(state, rec, f"Compliance status changed to {status}", "Warning")
        state.emit(rec, "Compliance Status Changed")
    if compromised is not None and compromised != rec.compromised:
        rec.compromised = compromised
        changed = True
        state.emit(rec, "Compromised Status Changed")
    if changed:
        state.touch()
    return changed
