"""Leavers from the HRIS and what the tenant knows about them (account, devices, paid apps) — read only.

One HRIS read for the leavers, one paged app search for the paid catalogue, then per leaver one user search
and one device search (by user). Installed apps are a per-device call because the API has no bulk form for
"apps on these devices"; a leaver has a handful of devices, and `max_leavers` bounds the run.
"""

from __future__ import annotations

from datetime import date

from prefect import get_run_logger, task

from ws1ai.connectors.hris import Employee, HRISClient
from ws1ai.policies.offboarding import Leaver, LeaverDevice, PaidApp, is_leaver
from ws1ai.uem import UEMClient

__all__ = ["read_leavers"]


def _hris_leavers(employee_id: str | None, since: date | None, today: date) -> list[Employee]:
    with HRISClient() as hris:
        if employee_id:
            found = [hris.employee(employee_id)]
        elif since is not None:
            found = [c.employee for c in hris.changes(since) if c.change_type == "termination"]
        else:
            found = list(hris.iter_employees())
    unique = {e.employee_id: e for e in found}
    return [e for _, e in sorted(unique.items()) if is_leaver(e.status, e.end_date, today)]


def _paid_catalogue(uem: UEMClient) -> dict[int, PaidApp]:
    paid: dict[int, PaidApp] = {}
    for app in uem.apps.iter_search():
        app_id = app.id.value if app.id is not None else None
        price = app.price or 0.0
        if app_id is None or price <= 0:
            continue
        paid[int(app_id)] = PaidApp(
            app_id=int(app_id),
            app_kind=str(app.app_type or "purchased").lower(),
            name=app.application_name or str(app_id),
            license_cost_usd=float(price),
        )
    return paid


@task(name="read-leavers")
def read_leavers(employee_id: str | None, since: date | None, today: date, max_leavers: int) -> list[Leaver]:
    """Leavers (terminated, or past their end date) with their UEM account, devices and paid apps."""
    log = get_run_logger()
    employees = _hris_leavers(employee_id, since, today)
    if len(employees) > max_leavers:
        log.warning("%d leavers found; this run handles the first %d", len(employees), max_leavers)
        employees = employees[:max_leavers]
    if not employees:
        return []
    leavers: list[Leaver] = []
    with UEMClient(read_only=True) as uem:
        paid = _paid_catalogue(uem)
        for emp in employees:
            user = next(
                (
                    u
                    for u in uem.users.search(email=emp.email).items
                    if (u.email or "").lower() == emp.email.lower()
                ),
                None,
            )
            devices: list[LeaverDevice] = []
            if user is not None and user.user_name:
                for d in uem.devices.iter_search(user=user.user_name):
                    if d.device_id is None or (d.user_email_address or "").lower() != emp.email.lower():
                        continue
                    apps = [
                        paid[a.id.value]
                        for a in uem.devices.iter_apps(d.device_id)
                        if a.id and a.id.value in paid
                    ]
                    devices.append(
                        LeaverDevice(
                            device_id=d.device_id,
                            serial_number=d.serial_number or "",
                            platform=d.platform or "",
                            model=d.model or "",
                            ownership=d.ownership or "",
                            enrollment_status=d.enrollment_status or "Enrolled",
                            paid_apps=apps,
                        )
                    )
            leavers.append(
                Leaver(
                    employee_id=emp.employee_id,
                    name=emp.name,
                    email=emp.email,
                    end_date=emp.end_date,
                    status=emp.status,
                    uem_user_id=user.id.value if user is not None and user.id is not None else None,
                    uem_user_active=bool(user.status) if user is not None else False,
                    devices=devices,
                )
            )
    return leavers
