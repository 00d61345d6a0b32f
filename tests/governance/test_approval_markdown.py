"""The approval form's description fits the narrow dialog both Prefect UIs show it in."""

from __future__ import annotations

from datetime import UTC, datetime

from ws1ai.governance.actions import RiskTier
from ws1ai.governance.approval_forms import ApprovalRequest, RequestItem, markdown
from ws1ai.governance.config import TimeoutOutcome


def test_every_action_shows_approvals_why_and_undo_in_a_narrow_column() -> None:
    req = ApprovalRequest(
        flow_run_id="run-1",
        title="Offboarding: 1 leaver(s)",
        pause_key="k",
        round=2,
        deadline=datetime(2026, 11, 23, 18, 0, tzinfo=UTC),
        timeout_outcome=TimeoutOutcome.REJECT,
        items=[
            RequestItem(
                correlation_id="c0ffee",
                summary="enterprise wipe",
                tier=RiskTier.DESTRUCTIVE,
                devices=1,
                approvals_required=2,
                approvals=["alice"],
                rationale="employee left | last day 2026-11-20",
                undo="irreversible: re-enrolment is manual",
            ),
            RequestItem(
                correlation_id="beef",
                summary="uninstall app 7",
                tier=RiskTier.MEDIUM,
                devices=3,
                approvals_required=1,
                undo="`ws1ai rollback beef` (app_install)",
            ),
        ],
    )
    text = markdown(req)
    assert "|---" not in text  # no table: its right-hand columns were clipped by the dialog
    assert "- **enterprise wipe**: 1 device(s), tier **destructive**, approvals 1/2 (alice)" in text
    assert "  - why: employee left | last day 2026-11-20" in text
    assert "  - undo: irreversible: re-enrolment is manual" in text
    assert "approvals 0/1" in text and "`ws1ai rollback beef` (app_install)" in text
    assert "correlation id `c0ffee`" in text
