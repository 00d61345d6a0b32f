"""Offboarding: HRIS leavers → their devices, licences and account → govern → act → record.

For each leaver (terminated in the HRIS, or past the end date): paid app licences are recovered (uninstall
while the device is still managed), every device gets an enterprise wipe — on a corporate device it removes
corporate data and unenrols it, on a personal (BYOD) device the same UEM command removes only the corporate
data and apps — the UEM enrolment user is deactivated, and a ServiceNow record lists the devices to collect.
Wipes are destructive: they always wait for two verified approvers.

The ServiceNow record is a second governed step, planned after the first one ran: its text is built from
what actually happened to each device's wipe (sent, not approved, failed, in doubt), so it never claims a
wipe that did not happen. In approve mode it is a second approval round.

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

from flows._govern import final_state, govern_actions
from flows._params import not_after_today, refuse
from tasks.hris import read_leavers
from ws1ai.governance.actions import Action, ActionKind
from ws1ai.governance.config import RolloutMode
from ws1ai.governance.execute import GovernanceReport
from ws1ai.policies.offboarding import Leaver, asset_record_action, offboarding_actions

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
    """Offboard one leaver (`employee_id`), the leavers since a date (`since`), or every current leaver.

    `today` defaults to this worker's UTC date; a caller may set it earlier (fewer people count as past their
    last day), never later, in any mode: a later one is refused before anything is read.
    """
    log = get_run_logger()
    try:  # `today` may only look back: a later one would plan wipes for people who have not left yet
        today = not_after_today(today, "today")
    except ValueError as exc:
        return refuse(exc)
    leavers = read_leavers(employee_id, since, today, max_leavers)
    actions: list[Action] = []
    wipes: dict[int, Action] = {}  # device id → its wipe action in this run
    rows: list[dict[str, Any]] = []
    for leaver in leavers:
        planned = offboarding_actions(leaver)
        actions += planned
        wipes |= {int(a.targets[0]): a for a in planned if a.kind is ActionKind.ENTERPRISE_WIPE}
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
    if not actions and not any(leaver.devices for leaver in leavers):
        log.info("%d leaver(s), nothing left to do", len(leavers))
        return Completed(name="SKIPPED", message=f"{len(leavers)} leaver(s), nothing left to do")
    create_table_artifact(
        key="offboarding-plan",
        table=rows,
        description=f"Offboarding plan ({mode}, {'dry run' if dry_run else 'live'})",
    )
    log.info("offboarding %d leaver(s): %d actions", len(leavers), len(actions))
    steps: list[GovernanceReport] = []
    if actions:
        targets = sum(len(a.targets) for a in actions)
        steps.append(
            govern_actions(
                actions,
                title=f"Offboarding: {len(leavers)} leaver(s), {targets} targets",
                mode=mode,
                dry_run=dry_run,
                approval_timeout_seconds=approval_timeout_seconds,
            )
        )
    # Only now is it known what happened to each wipe; the asset record says exactly that.
    records = [
        r
        for leaver in leavers
        if (r := asset_record_action(leaver, wipe_outcomes(leaver, wipes, steps[0] if steps else None)))
    ]
    if records:
        steps.append(
            govern_actions(
                records,
                title=f"Offboarding asset records: {len(records)} leaver(s)",
                mode=mode,
                dry_run=dry_run,
                approval_timeout_seconds=approval_timeout_seconds,
            )
        )
    return final_state(*steps)


def wipe_outcomes(
    leaver: Leaver, wipes: dict[int, Action], report: GovernanceReport | None
) -> dict[int, str]:
    """Device id → what happened to its wipe (a `WIPE_OUTCOMES` key), from the tenant and the report."""
    out: dict[int, str] = {}
    rejected = {a.correlation_id for a in report.approval.rejected} if report else set()
    for device in leaver.devices:
        wipe = wipes.get(device.device_id)
        if device.done:
            out[device.device_id] = "wiped"  # the tenant shows it wiped (or being wiped) already
            continue
        if wipe is None or report is None:
            out[device.device_id] = "not_wiped"
            continue
        cid, ex = wipe.correlation_id, report.execution
        if cid in report.already_executed or ex.targets.get(cid, {}).get(str(device.device_id)) == "done":
            out[device.device_id] = "wiped"
        elif cid in ex.in_doubt:
            out[device.device_id] = "in_doubt"
        elif cid in rejected:
            out[device.device_id] = "not_approved"
        elif cid in ex.failed or cid in ex.partial:
            out[device.device_id] = "failed"
        elif report.plan.report_only:
            out[device.device_id] = "planned"
        else:
            out[device.device_id] = "not_wiped"
    return out


if __name__ == "__main__":
    offboarding()
