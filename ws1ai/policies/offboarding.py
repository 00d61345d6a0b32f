"""Offboarding: what a leaver's devices, licences, account and asset record need (pure, no engine).

Idempotency comes from two sides. Every action's run key is `offboarding:<employee_id>`, so the same
decision about the same person is the same correlation id however many runs reach it, and governance never
executes it twice. And the policy looks at the tenant's state first: a user already inactive is not
deactivated again, a device whose wipe is pending (or done) is neither wiped nor stripped of apps again.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from pydantic import BaseModel, Field, field_validator

from ws1ai.governance.actions import Action, ActionKind

__all__ = [
    "DONE_ENROLLMENT_STATES",
    "WIPE_OUTCOMES",
    "Leaver",
    "LeaverDevice",
    "PaidApp",
    "asset_record_action",
    "is_leaver",
    "offboarding_actions",
    "run_key_for",
]

# A device in one of these states has been (or is being) wiped: nothing more to do to it.
DONE_ENROLLMENT_STATES = frozenset(
    {"enterprisewipepending", "devicewipepending", "unenrolled", "unenrolledenterprisewipe", "retired"}
)
# UEM ownership codes: C corporate-dedicated, S corporate-shared, E employee-owned (BYOD).
_OWNERSHIP = {"C": "corporate", "E": "employee-owned", "S": "corporate-shared"}
# The v1 API spells ownership out; the data contract (and this policy) use the one-letter codes.
_OWNERSHIP_WORDS = {"corporatededicated": "C", "corporateshared": "S", "employeeowned": "E"}


class PaidApp(BaseModel):
    app_id: int
    app_kind: str  # internal / public / purchased: the uninstall route's segment
    name: str
    license_cost_usd: float = Field(ge=0.0)


class LeaverDevice(BaseModel):
    device_id: int
    serial_number: str = ""
    platform: str = ""
    model: str = ""
    ownership: str = ""
    enrollment_status: str = "Enrolled"
    paid_apps: list[PaidApp] = Field(default_factory=list)

    @field_validator("ownership")
    @classmethod
    def _code(cls, value: str) -> str:
        return _OWNERSHIP_WORDS.get(value.replace(" ", "").replace("-", "").lower(), value.upper())

    @property
    def done(self) -> bool:
        return self.enrollment_status.replace(" ", "").lower() in DONE_ENROLLMENT_STATES

    @property
    def byod(self) -> bool:
        return self.ownership.upper() == "E"


class Leaver(BaseModel):
    employee_id: str
    name: str
    email: str
    end_date: date | None = None
    status: str = "terminated"
    uem_user_id: int | None = None
    uem_user_active: bool = False
    devices: list[LeaverDevice] = Field(default_factory=list)


def is_leaver(status: str, end_date: date | None, today: date) -> bool:
    """Terminated in the HRIS, or past the last working day even if HR has not flipped the status yet."""
    return status == "terminated" or (end_date is not None and end_date <= today)


def run_key_for(employee_id: str) -> str:
    return f"offboarding:{employee_id}"


def offboarding_actions(leaver: Leaver) -> list[Action]:
    """Licences first (while the device is still managed), then wipes and the account.

    The asset record is not among them: it says what happened to each device, so it is built after these
    actions ran (`asset_record_action`)."""
    run_key = run_key_for(leaver.employee_id)
    who = f"{leaver.employee_id} left" + (f" on {leaver.end_date}" if leaver.end_date else "")
    live = [d for d in leaver.devices if not d.done]
    actions: list[Action] = []
    by_app: dict[int, tuple[PaidApp, list[int]]] = {}
    for device in live:
        for app in device.paid_apps:
            by_app.setdefault(app.app_id, (app, []))[1].append(device.device_id)
    for app_id, (app, device_ids) in sorted(by_app.items()):
        actions.append(
            Action(
                run_key=run_key,
                kind=ActionKind.APP_UNINSTALL,
                targets=tuple(str(d) for d in device_ids),
                payload={"app_id": app_id, "app_kind": app.app_kind.lower(), "app_name": app.name},
                rationale=f"{who}: recover the paid licence of {app.name} "
                f"(${app.license_cost_usd:.2f} per device)",
            )
        )
    for device in live:
        scope = (
            "removes only corporate data and apps from this personal device"
            if device.byod
            else f"removes corporate data and unenrols this {_OWNERSHIP.get(device.ownership.upper(), '')} "
            "device"
        )
        actions.append(
            Action(
                run_key=run_key,
                kind=ActionKind.ENTERPRISE_WIPE,
                targets=(str(device.device_id),),
                payload={"ownership": device.ownership.upper()},
                rationale=f"{who}: enterprise wipe {scope}",
            )
        )
    if leaver.uem_user_id is not None and leaver.uem_user_active:
        actions.append(
            Action(
                run_key=run_key,
                kind=ActionKind.USER_DEACTIVATE,
                targets=(str(leaver.uem_user_id),),
                target_type="user",
                payload={"email": leaver.email},
                rationale=f"{who}: deactivate the enrolment user",
            )
        )
    return actions


# What happened to a device's wipe, as the asset record tells it. Worded per outcome and not per run ("sent
# now" and "sent earlier" read the same), so a re-run that finds the same facts plans the same record.
WIPE_OUTCOMES = {
    "wiped": "enterprise wipe sent (or the device was already wiped)",
    "not_approved": "NOT wiped: the wipe was not approved",
    "failed": "NOT wiped: the wipe failed",
    "in_doubt": "wipe outcome UNKNOWN (in doubt; being verified, do not assume it is wiped)",
    "planned": "NOT wiped: the wipe is only planned (report-only mode)",
    "not_wiped": "NOT wiped",
}


def asset_record_action(leaver: Leaver, wipes: Mapping[int, str]) -> Action | None:
    """The ServiceNow asset record for a leaver's devices, stating what happened to each device's wipe.

    `wipes` maps device id → a `WIPE_OUTCOMES` key (from the execution report; devices missing from it are
    "not_wiped", whatever was planned). Built only from the device facts that do not change as offboarding
    progresses and from those outcomes, so the same facts are the same action — and the same ticket — on
    every run, and a ticket never claims a wipe that did not happen.
    """
    if not leaver.devices:
        return None
    who = f"{leaver.employee_id} left" + (f" on {leaver.end_date}" if leaver.end_date else "")
    devices = sorted(leaver.devices, key=lambda d: d.device_id)
    outcome = {d.device_id: wipes.get(d.device_id, "not_wiped") for d in devices}
    rows = [
        f"- device {d.device_id}: {d.platform} {d.model} serial {d.serial_number} "
        f"({_OWNERSHIP.get(d.ownership.upper(), d.ownership)}): {WIPE_OUTCOMES[outcome[d.device_id]]}"
        for d in devices
    ]
    corporate = [d for d in devices if not d.byod]
    wiped = sum(1 for d in devices if outcome[d.device_id] == "wiped")
    state = "all wiped" if wiped == len(devices) else f"{wiped} of {len(devices)} wiped"
    return Action(
        run_key=run_key_for(leaver.employee_id),
        kind=ActionKind.ITSM_TICKET,
        targets=tuple(str(d.device_id) for d in devices),
        payload={
            "short_description": f"Offboarding {leaver.employee_id}: recover {len(corporate)} corporate "
            f"device(s) ({state})",
            "description": f"{leaver.name} <{leaver.email}> ({who}).\n"
            "ws1ai offboarding, per device (collect the corporate ones):\n" + "\n".join(rows),
            "category": "hardware",
            "subcategory": "asset recovery",
            "impact": "3",
            "urgency": "3",
        },
        rationale=f"{who}: asset record for the returned devices ({state})",
    )
