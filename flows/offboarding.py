"""Offboarding: HRIS leavers → their devices, licences and account → govern → act → record.

For each leaver (terminated in the HRIS, or past the end date): paid app licences are recovered (uninstall
while the device is still managed), every device gets an enterprise wipe — on a corporate device it removes
corporate data and unenrols it, on a personal (BYOD) device the same UEM command removes only the corporate
data and apps — the UEM enrolment user is deactivated, and a ServiceNow record lists the devices to collect.
Wipes are destructive: they always wait for two verified approvers.

Running it twice changes nothing the second time: the run key is `offboarding:<employee_id>` (the same
decision is the same correlation id, which governance executes at most once), and the reads skip users
already inactive and devices whose wipe is pending or done.

    python -m flows.offboarding    # every current leaver, approve mode, against the tenant in the environment
"""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact
from prefect.client.schemas.objects import State
from prefect.states import Completed

from flows._govern import govern_and_act
from tasks.hris import read_leavers
from ws1ai.governance.actions import Action
from ws1ai.governance.config import RolloutMode
from ws1ai.policies.offboarding import offboarding_actions

__all__ = ["offboarding"]


@flow(name="offboarding", log_prints=True)
def offboarding(
    employee_id: str | None = None,
    since: date | None = None,
    mode: RolloutMode = RolloutMode.APPROVE,
    dry_run: bool = False,
    max_leavers: int = 50,
    today: date | None = None,
    approval_timeout_seconds: int | None = None,
) -> State[Any]:
    """Offboard one leaver (`employee_id`), the leavers since a date (`since`), or every current leaver."""
    log = get_run_logger()
    today = today or date.today()
    leavers = read_leavers(employee_id, since, today, max_leavers)
    actions: list[Action] = []
    rows: list[dict[str, Any]] = []
    for leaver in leavers:
        planned = offboarding_actions(leaver)
        actions += planned
        rows.append(
            {
                "employee": leaver.employee_id,
                "end_date": str(leaver.end_date or ""),
                "devices": ", ".join(
                    f"{d.device_id} ({d.ownership}, {d.enrollment_status})" for d in leaver.devices
                ),
                "user_active": leaver.uem_user_active,
                "actions": ", ".join(sorted({str(a.kind) for a in planned})) or "nothing left to do",
            }
        )
    if not actions:
        log.info("%d leaver(s), nothing left to do", len(leavers))
        return Completed(name="SKIPPED", message=f"{len(leavers)} leaver(s), nothing left to do")
    create_table_artifact(
        key="offboarding-plan",
        table=rows,
        description=f"Offboarding plan ({mode}, {'dry run' if dry_run else 'live'})",
    )
    log.info("offboarding %d leaver(s): %d actions", len(leavers), len(actions))
    return govern_and_act(
        actions,
        title=f"Offboarding: {len(leavers)} leaver(s), {sum(len(a.targets) for a in actions)} targets",
        mode=mode,
        dry_run=dry_run,
        approval_timeout_seconds=approval_timeout_seconds,
    )


if __name__ == "__main__":
    offboarding()
