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


def test_the_form_shows_the_command_that_signs_a_code_for_this_run() -> None:
    """The UI cannot sign: the description gives the one-line command whose output goes into the form."""
    req = ApprovalRequest(
        flow_run_id="0b3c2f4e-1111-4c3a-9d6e-2a1b3c4d5e6f",
        title="t",
        pause_key="k",
        round=1,
        deadline=datetime(2026, 11, 23, 18, 0, tzinfo=UTC),
        timeout_outcome=TimeoutOutcome.REJECT,
        items=[],
    )
    text = markdown(req)
    run = req.flow_run_id
    assert f"`ws1ai approvals code {run} --approver <your id> --decision approve`" in text
    assert "**approval_code**" in text and "personal token" not in text  # no secret goes into the form
    assert f"`ws1ai approvals approve {run} --approver <your id>`" in text


def test_the_headline_counts_distinct_devices_not_targets_per_action() -> None:
    """Three actions on the same 50 devices read "148 action(s) on 148 device(s)" before: a reviewer must see
    how many devices a decision touches."""
    from ws1ai.governance.actions import Action, ActionKind
    from ws1ai.governance.approval_forms import count_targets, describe_targets

    devices = list(range(1, 51))
    actions = [
        Action(kind=ActionKind.ITSM_TICKET, targets=devices, run_key="r", rationale="x"),
        Action(
            kind=ActionKind.CUSTOM_ATTRIBUTE_SET,
            targets=devices,
            run_key="r",
            rationale="x",
            payload={"name": "Status", "value": "Pending Replacement"},
        ),
        Action(kind=ActionKind.MESSAGE_SEND, targets=devices[:48], run_key="r", rationale="x"),
    ]
    assert count_targets(actions) == {"device": 50}
    req = ApprovalRequest(
        flow_run_id="run-1",
        title="t",
        pause_key="k",
        round=1,
        deadline=datetime(2026, 11, 23, 18, 0, tzinfo=UTC),
        timeout_outcome=TimeoutOutcome.REJECT,
        items=[],
        targets=count_targets(actions),
    )
    assert f"on {describe_targets(req.targets)}." in markdown(req)
    assert "on 50 device(s)." in markdown(req)
