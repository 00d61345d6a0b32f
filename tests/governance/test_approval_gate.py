"""The approval gate on a real Prefect server: verified approvers, two-person rule, timeout → rejected."""

from __future__ import annotations

import threading
from collections.abc import Callable
from uuid import UUID

import pytest
from prefect import flow, get_client
from prefect.flow_runs import resume_flow_run

from ws1ai.governance.actions import Action, ActionKind
from ws1ai.governance.approval import ApprovalOutcome, ApprovalTimeout, Decision, request_approval
from ws1ai.governance.approval_forms import ApprovalNotice
from ws1ai.governance.audit import AuditStatus, MemoryAuditStore
from ws1ai.governance.config import GovernanceSettings, TimeoutOutcome
from ws1ai.governance.resume import list_pending, submit_decision, wait_for_pending

pytestmark = pytest.mark.prefect


def _in_thread(fn: Callable[[], None]) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as exc:  # surfaced by the test
            errors.append(exc)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, errors


def test_wipe_needs_two_distinct_verified_approvers(
    prefect_server: str, gov_settings: GovernanceSettings, tokens: dict[str, str]
) -> None:
    store = MemoryAuditStore()
    wipe = Action(run_key="gate-1", kind=ActionKind.DEVICE_WIPE, targets=[101], rationale="stolen")
    tag = Action(run_key="gate-1", kind=ActionKind.TAG_ADD, targets=[102], payload={"tag": "x"})

    @flow(name="ws1ai-test-two-person")
    def gated() -> ApprovalOutcome:
        return request_approval([wipe, tag], title="two-person", store=store, settings=gov_settings)

    def approver_side() -> None:
        p = wait_for_pending(title="two-person")
        # Malformed input is refused by the server against the form's schema; the run stays paused.
        with pytest.raises(RuntimeError):
            resume_flow_run(UUID(p.flow_run_id), run_input={"decision": "maybe", "approver": "alice"})
        assert "device_wipe on 1 device(s)" in "".join(i.summary for i in p.request.items)
        # alice approves the batch but rejects the tag action by prefix.
        submit_decision(
            p.flow_run_id,
            approver="alice",
            credential=tokens["alice"],
            decision=Decision.APPROVE,
            decisions={tag.correlation_id[:8]: Decision.REJECT},
        )
        p = wait_for_pending(title="two-person", after_round=p.request.round)
        assert p.request.items[0].approvals == ["alice"]
        # The same person again does not count as the second approver.
        submit_decision(
            p.flow_run_id, approver="Alice", credential=tokens["alice"], decision=Decision.APPROVE
        )
        p = wait_for_pending(title="two-person", after_round=p.request.round)
        assert "second, distinct approver" in p.request.note
        # A name without its token proves nothing: mallory signs, claiming to be bob.
        submit_decision(
            p.flow_run_id, approver="bob", credential=tokens["mallory"], decision=Decision.APPROVE
        )
        p = wait_for_pending(title="two-person", after_round=p.request.round)
        assert "'bob' is not signed with their token" in p.request.note
        submit_decision(
            p.flow_run_id,
            approver="bob",
            credential=tokens["bob"],
            decision=Decision.APPROVE,
            comment="confirmed with security",
        )

    t, errors = _in_thread(approver_side)
    state = gated(return_state=True)
    t.join(timeout=30)
    assert not errors, errors
    assert state.is_completed()
    outcome = state.result()
    assert [a.correlation_id for a in outcome.approved] == [wipe.correlation_id]
    assert [a.correlation_id for a in outcome.rejected] == [tag.correlation_id]
    assert outcome.approvers[wipe.correlation_id] == ["alice", "bob"]
    assert outcome.refused == 2 and not outcome.timed_out
    approved = [r for r in store.records if r.status is AuditStatus.APPROVED]
    assert [(r.approvers, r.comment) for r in approved] == [(("alice", "bob"), "confirmed with security")]
    # The submitted form does not stay in Prefect's flow-run input, and the request marker is gone.
    with get_client(sync_client=True) as client:
        left = client.filter_flow_run_input(
            state.state_details.flow_run_id, key_prefix="paused-", limit=50, exclude_keys=set()
        )
    assert not [i for i in left if i.key.endswith("-response")]
    assert all(p.flow_run_id != str(state.state_details.flow_run_id) for p in list_pending())


def test_timeout_is_rejected_audited_and_the_run_completes(
    prefect_server: str, gov_settings: GovernanceSettings
) -> None:
    store = MemoryAuditStore()
    notices: list[ApprovalNotice] = []
    settings = gov_settings.model_copy(update={"reminder_before_seconds": [2]})
    lock = Action(run_key="gate-2", kind=ActionKind.DEVICE_LOCK, targets=[7])

    @flow(name="ws1ai-test-timeout")
    def gated() -> ApprovalOutcome:
        return request_approval(
            [lock], title="timeout", store=store, settings=settings, notify=notices.append, timeout_seconds=4
        )

    state = gated(return_state=True)
    # Not FAILED: the gate decided at its own deadline instead of letting Prefect's pause time out.
    assert state.is_completed()
    outcome = state.result()
    assert outcome.timed_out and outcome.approved == [] and outcome.rejected == [lock]
    [rec] = store.records
    assert rec.status is AuditStatus.REJECTED and "timed out" in (rec.detail or "")
    assert [n.event for n in notices] == ["requested", "reminder", "timed_out"]


def test_timeout_outcome_fail_audits_then_fails_the_run(
    prefect_server: str, gov_settings: GovernanceSettings
) -> None:
    store = MemoryAuditStore()
    settings = gov_settings.model_copy(update={"timeout_outcome": TimeoutOutcome.FAIL})
    tag = Action(run_key="gate-3", kind=ActionKind.TAG_ADD, targets=[8], payload={"tag": "t"})

    @flow(name="ws1ai-test-timeout-fail")
    def gated() -> ApprovalOutcome:
        return request_approval(
            [tag], title="timeout-fail", store=store, settings=settings, timeout_seconds=2
        )

    state = gated(return_state=True)
    assert state.is_failed()
    with pytest.raises(ApprovalTimeout):
        state.result()
    [rec] = store.records
    assert rec.status is AuditStatus.REJECTED and "outcome: fail" in (rec.detail or "")
