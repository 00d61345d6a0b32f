"""Execution at most once, in-doubt handling, rollback — against the in-process audit store (no engine)."""

from __future__ import annotations

import pytest

from ws1ai.governance.actions import Action, ActionKind
from ws1ai.governance.audit import AuditStatus, MemoryAuditStore, record_for
from ws1ai.governance.audit_export import action_history
from ws1ai.governance.config import GovernanceSettings, RolloutMode
from ws1ai.governance.execute import execute_actions, govern, rollback


class Ledger:
    """A real (in-memory) executor: applies tag actions to a device→tags table and logs every call."""

    def __init__(self) -> None:
        self.tags: dict[str, set[str]] = {}
        self.calls: list[tuple[str, tuple[str, ...]]] = []

    def __call__(self, action: Action) -> str:
        self.calls.append((action.kind.value, action.targets))
        if action.payload.get("explode"):
            raise RuntimeError("UEM said no")
        for t in action.targets:
            if action.kind is ActionKind.TAG_ADD:
                self.tags.setdefault(t, set()).add(action.payload["tag"])
            elif action.kind is ActionKind.TAG_REMOVE:
                self.tags.setdefault(t, set()).discard(action.payload["tag"])
        return f"ok {len(action.targets)}"


def _tag(targets: list[int], tag: str = "stale", **extra: object) -> Action:
    return Action(run_key="exec-1", kind=ActionKind.TAG_ADD, targets=targets, payload={"tag": tag, **extra})


def test_rerun_never_repeats_an_executed_action() -> None:
    store, ledger = MemoryAuditStore(), Ledger()
    actions = [_tag([1, 2]), _tag([3])]
    first = govern(actions, ledger, store=store, mode=RolloutMode.AUTO)
    assert sorted(first.execution.executed) == sorted(a.correlation_id for a in actions)
    second = govern(actions, ledger, store=store, mode=RolloutMode.AUTO)
    assert second.plan.empty and sorted(second.already_executed) == sorted(a.correlation_id for a in actions)
    assert len(ledger.calls) == 2
    statuses = [r.status for r in store.records if r.correlation_id == actions[0].correlation_id]
    # The re-run leaves a trace of why it did nothing.
    assert statuses == [AuditStatus.PLANNED, AuditStatus.STARTED, AuditStatus.EXECUTED, AuditStatus.SKIPPED]
    assert (store.records[-1].detail or "").startswith("already executed at ")


def test_rollback_after_reruns_inverts_each_execution_once() -> None:
    store, ledger = MemoryAuditStore(), Ledger()
    tag = _tag([1, 2])
    for _ in range(3):  # one execution, then two re-runs that only record "skipped"
        govern([tag], ledger, store=store, mode=RolloutMode.AUTO)
    assert [r.status for r in store.records].count(AuditStatus.SKIPPED) == 2
    report = rollback([tag.correlation_id], ledger, store=store, mode=RolloutMode.AUTO)
    again = rollback([tag.correlation_id], ledger, store=store, mode=RolloutMode.AUTO)
    assert report.rolled_back == [tag.correlation_id] and again.already_rolled_back == [tag.correlation_id]
    assert [c[0] for c in ledger.calls] == ["tag_add", "tag_remove"]
    rows = {r["correlation_id"]: r for r in action_history(store.records)}
    # Re-runs do not change what happened to the action; they are listed with the reason.
    assert rows[tag.correlation_id]["status"] == "rolled_back"
    assert rows[tag.correlation_id]["skip_reason"].startswith("already executed")


def test_in_doubt_action_left_alone_exports_as_in_doubt() -> None:
    store, ledger = MemoryAuditStore(), Ledger()
    wipe = Action(run_key="exec-1", kind=ActionKind.DEVICE_WIPE, targets=[4])
    store.write([record_for(wipe, AuditStatus.STARTED)])
    report = execute_actions([wipe], ledger, store=store)
    (row,) = action_history(store.records)
    assert row["status"] == "in_doubt" and row["in_doubt_targets"] == ["4"] and ledger.calls == []
    assert "in doubt" in report.in_doubt[wipe.correlation_id]
    undo = rollback([wipe.correlation_id], ledger, store=store)
    assert undo.not_executed == [wipe.correlation_id] and wipe.correlation_id in undo.in_doubt


class NotSent(RuntimeError):
    sent = False  # like the UEM client's errors for a request that never left the process


def test_a_write_certainly_not_sent_is_failed_and_retried_next_run() -> None:
    store = MemoryAuditStore()
    calls: list[Action] = []

    def refuse(action: Action) -> None:
        calls.append(action)
        raise NotSent("connection refused")

    bad = _tag([9])
    report = execute_actions([bad], refuse, store=store)
    assert "connection refused" in report.failed[bad.correlation_id]
    execute_actions([bad], refuse, store=store)
    assert len(calls) == 2  # nothing was applied: the next run tries again


def test_an_ambiguous_failure_is_in_doubt_not_failed() -> None:
    store, ledger = MemoryAuditStore(), Ledger()
    bad = _tag([9], explode=True)  # a RuntimeError: nobody knows whether the tenant applied it
    report = execute_actions([bad], ledger, store=store)
    assert bad.correlation_id not in report.failed and "UEM said no" in report.in_doubt[bad.correlation_id]
    assert store.records[-1].status is AuditStatus.IN_DOUBT


def test_in_doubt_wipe_is_not_repeated_but_a_tag_is() -> None:
    store, ledger = MemoryAuditStore(), Ledger()
    wipe = Action(run_key="exec-1", kind=ActionKind.DEVICE_WIPE, targets=[4])
    tag = _tag([5])
    # Simulate a crash between "started" and the result.
    store.write([record_for(wipe, AuditStatus.STARTED), record_for(tag, AuditStatus.STARTED)])
    report = execute_actions([wipe, tag], ledger, store=store)
    assert "in doubt" in report.in_doubt[wipe.correlation_id]
    assert report.executed == [tag.correlation_id]
    assert ledger.calls == [("tag_add", ("5",))]


def test_observe_mode_and_dry_run_write_nothing() -> None:
    for kwargs in ({"mode": RolloutMode.OBSERVE}, {"mode": RolloutMode.AUTO, "dry_run": True}):
        store, ledger = MemoryAuditStore(), Ledger()
        report = govern([_tag([1])], ledger, store=store, **kwargs)  # type: ignore[arg-type]
        assert ledger.calls == [] and report.plan.report_only
        assert [r.status for r in store.records] == [AuditStatus.PLANNED]


def test_rollback_runs_inverses_once_and_reports_irreversible() -> None:
    store, ledger = MemoryAuditStore(), Ledger()
    tag = _tag([1, 2])
    lock = Action(run_key="exec-1", kind=ActionKind.DEVICE_LOCK, targets=[3])
    execute_actions([tag, lock], ledger, store=store)
    assert ledger.tags == {"1": {"stale"}, "2": {"stale"}}
    # In auto mode the inverse (a low-tier tag removal) runs without a gate, so no flow run is needed here.
    settings = GovernanceSettings()
    report = rollback(
        [tag.correlation_id, lock.correlation_id, "nope"],
        ledger,
        store=store,
        settings=settings,
        mode=RolloutMode.AUTO,
    )
    assert report.rolled_back == [tag.correlation_id]
    assert "lock" in report.irreversible[lock.correlation_id]
    assert report.not_executed == ["nope"]
    assert ledger.tags == {"1": set(), "2": set()}
    again = rollback([tag.correlation_id], ledger, store=store, settings=settings, mode=RolloutMode.AUTO)
    assert again.already_rolled_back == [tag.correlation_id]
    assert [c[0] for c in ledger.calls] == ["tag_add", "device_lock", "tag_remove"]


def test_rollback_that_needs_approval_requires_a_flow_run(gov_settings: GovernanceSettings) -> None:
    store, ledger = MemoryAuditStore(), Ledger()
    tag = _tag([1])
    execute_actions([tag], ledger, store=store)
    with pytest.raises(RuntimeError, match="inside a flow run"):
        rollback([tag.correlation_id], ledger, store=store, settings=gov_settings, mode=RolloutMode.APPROVE)


def test_without_approver_identities_approval_is_rejected_at_once() -> None:
    store, ledger = MemoryAuditStore(), Ledger()
    wipe = Action(run_key="exec-1", kind=ActionKind.DEVICE_WIPE, targets=[1])
    report = govern([wipe], ledger, store=store, settings=GovernanceSettings(), mode=RolloutMode.APPROVE)
    assert report.approval.rejected == [wipe] and ledger.calls == []
    assert "no approver identities" in (store.records[-1].detail or "")
