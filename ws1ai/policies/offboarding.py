"""Offboarding: what a leaver's devices, licences, account and asset record need (pure, no engine).

Idempotency comes from two sides. Every action's run key is `offboarding:<employee_id>`, so the same
decision about the same person is the same correlation id however many runs reach it, and governance never
executes it twice. And the policy looks at the tenant's state first: a user already inactive is not
deactivated again, a device whose wipe is pending (or done) is neither wiped nor stripped of apps again.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field, field_validator

from ws1ai.governance.actions import Action, ActionKind

__all__ = [
    "DONE_ENROLLMENT_STATES",
    "Leaver",
    "LeaverDevice",
    "PaidApp",
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
    """Licences first (while the device is still managed), then wipes, the account, and the asset record."""
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
    if leaver.devices:
        # Built only from facts that do not change as the offboarding progresses (not enrolment states), so
        # the record is the same action, and the same ticket, on every run.
        rows = [
            f"- device {d.device_id}: {d.platform} {d.model} serial {d.serial_number} "
            f"({_OWNERSHIP.get(d.ownership.upper(), d.ownership)})"
            for d in sorted(leaver.devices, key=lambda d: d.device_id)
        ]
        corporate = [d for d in leaver.devices if not d.byod]
        actions.append(
            Action(
                run_key=run_key,
                kind=ActionKind.ITSM_TICKET,
                targets=tuple(str(d.device_id) for d in leaver.devices),
                payload={
                    "short_description": f"Offboarding {leaver.employee_id}: recover {len(corporate)} "
                    f"corporate device(s)",
                    "description": f"{leaver.name} <{leaver.email}> ({who}).\n"
                    "Devices enterprise-wiped by ws1ai offboarding; collect the corporate ones:\n"
                    + "\n".join(rows),
                    "category": "hardware",
                    "subcategory": "asset recovery",
                    "impact": "3",
                    "urgency": "3",
                },
                rationale=f"{who}: asset record for the returned devices",
            )
        )
    return actions
