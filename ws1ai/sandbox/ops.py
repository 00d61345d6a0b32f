"""What writes do to the tenant: command semantics, messages, compliance changes (callers hold the lock).

Event-notification `EventType` strings: "Compliance Status Changed", "Compromised Status Changed" and
"Break MDM Confirmed" are real (docs/uem-api.md#webhook-payload); the wipe/delete/lock ones are the sandbox's
choice because the real strings are unverified.
"""

from __future__ import annotations

from typing import Any

from ws1ai.sandbox.errors import ApiError
from ws1ai.sandbox.identifiers import fmt_ts, stable_uuid
from ws1ai.sandbox.records import DeviceRecord
from ws1ai.sandbox.state import SandboxState

__all__ = [
    "BULK_COMMANDS",
    "COMMANDS",
    "V2_COMMANDS",
    "apply_command",
    "canonical_command",
    "enroll_device",
    "log_event",
    "set_compliance",
]

# v1 `command` enum (docs/uem-api.md#commands); matched case-insensitively, as scripts in the wild send
# `softreset`.
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


_DEFAULT_MODELS = {
    "AppleOsX": ("MacBook Pro (14-inch, 2024)", "15.1"),
    "WinRT": ("Latitude 7450", "10.0.26100"),
    "Apple": ("iPhone 16", "18.1"),
    "Android": ("Galaxy S24", "15"),
}


def enroll_device(
    state: SandboxState,
    email: str,
    platform: str = "AppleOsX",
    model: str | None = None,
    ownership: str = "C",
) -> DeviceRecord:
    """A new device enrolls for `email` (a new hire's laptop, a replacement): fires "Enrollment Complete"."""
    if platform not in _DEFAULT_MODELS:
        raise ApiError.bad_request(f"platform must be one of {', '.join(_DEFAULT_MODELS)}.")
    if ownership not in ("C", "E", "S"):
        raise ApiError.bad_request("ownership must be C, E or S.")
    emp = {}
    if state.employees.height:
        match = state.employees.filter(state.employees["email"].str.to_lowercase() == email.lower())
        emp = match.row(0, named=True) if match.height else {}
    known = state.devices_of_user(email)
    site = (
        known[0].lgid
        if known
        else min((o for o, g in state.org_groups.items() if g["level"] == 2), default=570)
    )
    new_id = (max(state.devices) if state.devices else 10_000) + 1
    now = state.now()
    default_model, os_version = _DEFAULT_MODELS[platform]
    rec = DeviceRecord(
        id=new_id,
        uuid=stable_uuid("device", f"enrolled:{new_id}"),
        serial=f"SBX{new_id:09d}",
        platform=platform,
        model=model or default_model,
        os_version=os_version,
        ownership=ownership,
        user_name=known[0].user_name if known else email.split("@")[0],
        user_email=email,
        department=str(emp.get("department") or (known[0].department if known else "")),
        role=str(emp.get("role") or (known[0].role if known else "")),
        lgid=site,
        enrolled_on=now,
        last_seen=now,
        compliance="Compliant",
        compromised=False,
        encrypted=True,
        purchase_date=now.date(),
        warranty_end=now.date().replace(year=now.year + 3),
        battery_health=100.0 if platform != "WinRT" else None,
        battery_cycles=0 if platform != "WinRT" else None,
        storage_used_pct=12.0,
        last_compliance_check=now,
    )
    state.add_device(rec)
    log_event(state, rec, "Enrollment complete", "Info")
    state.emit(rec, "Enrollment Complete")
    return rec
