"""Reminders and deadlines for approvals that hold no process (`WS1AI_GOVERNANCE_APPROVAL_WAIT=suspend`).

A suspended run has no process to remind anyone or to notice its deadline, so this small flow, scheduled every
few minutes (deployment `approvals-check` in prefect.yaml), does it for every suspended ws1ai approval: due
reminders once each, and past the deadline the configured timeout outcome, written to the audit trail first,
then the run resumed to apply it (see ws1ai/governance/approval_suspend.py).
"""

from __future__ import annotations

from prefect import flow, get_run_logger

from ws1ai.governance.approval_suspend import CheckReport, check_suspended
from ws1ai.governance.audit import PrefectAuditStore
from ws1ai.governance.config import GovernanceSettings


@flow(name="approvals-check")
def approvals_check(limit: int = 200) -> CheckReport:
    """Check at most `limit` suspended approvals: remind, and time out those past their deadline."""
    settings = GovernanceSettings()
    report = check_suspended(store=PrefectAuditStore(settings), settings=settings, limit=limit)
    get_run_logger().info(
        "%d suspended approval(s) checked, %d reminded, %d timed out",
        report.checked,
        len(report.reminded),
        len(report.timed_out),
    )
    return report
