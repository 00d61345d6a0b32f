"""Execution at most once, in-doubt handling, rollback — against the in-process audit store (no engine)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from ws1ai.governance.actions import Action, ActionKind
from ws1ai.governance.audit import AuditStatus, MemoryAuditStore, TargetOutcome, record_for
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


class Tenant:
    """An executor with per-target results and a read-back, over an in-memory device → tags table.

    `fail_at`: the k-th target (0-based) of the next call is refused before sending (certainly not applied)
    and the rest are not attempted; `lose`: these targets' writes are applied but their answers are lost.
    """

    def __init__(self) -> None:
        self.tags: dict[str, set[str]] = {}
        self.writes: list[tuple[str, str]] = []  # (kind, target) actually applied
        self.fail_at: int | None = None
        self.lose: set[str] = set()
        self.readable = True

    def __call__(self, action: Action) -> TargetOutcome:
        done: list[str] = []
        failed: dict[str, str] = {}
        unknown: dict[str, str] = {}
        for i, t in enumerate(action.targets):
            if self.fail_at is not None and i >= self.fail_at:
                failed[t] = "refused before sending" if i == self.fail_at else "not attempted"
                continue
            self.writes.append((action.kind.value, t))
            tags = self.tags.setdefault(t, set())
            if action.kind is ActionKind.TAG_REMOVE:
                tags.discard(action.payload["tag"])
            else:
                tags.add(action.payload["tag"])
            if t in self.lose:
                unknown[t] = "response lost"
            else:
                done.append(t)
        self.fail_at, self.lose = None, set()
        return TargetOutcome(done=tuple(done), failed=failed, unknown=unknown)

    def verify(self, action: Action, targets: Sequence[str]) -> dict[str, bool | None]:
        if not self.readable:
            return dict.fromkeys(targets)
        present = {t: action.payload["tag"] in self.tags.get(t, set()) for t in targets}
        return {t: v == (action.kind is not ActionKind.TAG_REMOVE) for t, v in present.items()}


def _msg(targets: list[int], run_key: str = "exec-1") -> Action:
    # A message kind (not repeatable) carrying a tag payload so the Tenant double can apply it.
    return Action(run_key=run_key, kind=ActionKind.MESSAGE_SEND, targets=targets, payload={"tag": "hello"})


def test_partial_failure_records_done_targets_and_a_rerun_writes_only_the_rest() -> None:
    store, tenant = MemoryAuditStore(), Tenant()
    tag = _tag([1, 2, 3, 4, 5])
    tenant.fail_at = 3  # target "4" is refused, "5" not attempted
    first = execute_actions([tag], tenant, store=store)
    assert tag.correlation_id in first.partial
    assert store.records[-1].status is AuditStatus.PARTIAL
    assert [t for _, t in tenant.writes] == ["1", "2", "3"]
    second = execute_actions([tag], tenant, store=store)
    assert second.executed == [tag.correlation_id]
    assert [t for _, t in tenant.writes] == ["1", "2", "3", "4", "5"]  # each target written exactly once
    third = execute_actions([tag], tenant, store=store)
    assert "already executed" in third.skipped[tag.correlation_id] and len(tenant.writes) == 5


def test_rollback_of_a_partial_action_undoes_exactly_the_done_targets() -> None:
    store, tenant = MemoryAuditStore(), Tenant()
    tag = _tag([1, 2, 3])
    tenant.fail_at = 2
    execute_actions([tag], tenant, store=store)
    report = rollback([tag.correlation_id], tenant, store=store, mode=RolloutMode.AUTO)
    assert report.rolled_back == [tag.correlation_id]
    assert [w for w in tenant.writes if w[0] == "tag_remove"] == [("tag_remove", "1"), ("tag_remove", "2")]


def test_note_failures_never_make_a_done_write_look_undone() -> None:
    store = MemoryAuditStore()
    calls: list[Action] = []

    def write_then_note_fails(action: Action) -> TargetOutcome:
        calls.append(action)
        return TargetOutcome(done=action.targets, note_failures=dict.fromkeys(action.targets, "HTTP 500"))

    tag = _tag([1, 2])
    report = execute_actions([tag], write_then_note_fails, store=store)
    assert report.executed == [tag.correlation_id] and tag.correlation_id in report.note_failures
    assert store.records[-1].status is AuditStatus.EXECUTED
    execute_actions([tag], write_then_note_fails, store=store)
    assert len(calls) == 1  # never written twice
    undo = rollback([tag.correlation_id], write_then_note_fails, store=store, mode=RolloutMode.AUTO)
    assert undo.rolled_back == [tag.correlation_id]


def test_in_doubt_targets_are_read_back_before_any_retry() -> None:
    store, tenant = MemoryAuditStore(), Tenant()
    msg = _msg([1, 2, 3])
    tenant.lose = {"2"}  # applied, answer lost
    first = execute_actions([msg], tenant, store=store)
    assert msg.correlation_id in first.in_doubt and store.records[-1].status is AuditStatus.IN_DOUBT
    second = execute_actions([msg], tenant, store=store)
    # The read-back finds "2" applied: recorded done, nothing written again.
    assert second.executed == [msg.correlation_id] and len(tenant.writes) == 3
    assert "verified against the tenant" in (store.records[-1].detail or "")


def test_a_write_read_back_as_not_applied_is_retried_and_an_unreadable_one_is_not() -> None:
    store, tenant = MemoryAuditStore(), Tenant()
    msg = _msg([7])
    store.write([record_for(msg, AuditStatus.STARTED)])  # a crash: nothing was applied in fact
    tenant.readable = False
    report = execute_actions([msg], tenant, store=store)
    assert "in doubt" in report.in_doubt[msg.correlation_id] and tenant.writes == []
    tenant.readable = True
    again = execute_actions([msg], tenant, store=store)
    assert again.executed == [msg.correlation_id] and tenant.writes == [("message_send", "7")]


def test_the_same_write_under_another_run_key_is_not_repeated_within_the_window() -> None:
    store, tenant = MemoryAuditStore(), Tenant()
    settings = GovernanceSettings()
    auto = RolloutMode.AUTO
    first = govern([_msg([1, 2], run_key="attacker-1")], tenant, store=store, settings=settings, mode=auto)
    assert len(first.execution.executed) == 1
    # Same kind, payload and targets (and one more device) under a caller-chosen run key.
    again = _msg([1, 2, 3], run_key="attacker-2")
    second = govern([again], tenant, store=store, settings=settings, mode=RolloutMode.AUTO)
    assert [t for _, t in tenant.writes] == ["1", "2", "3"]  # only the new device got it
    assert second.execution.executed == [again.correlation_id]
    third = govern([_msg([1], run_key="attacker-3")], tenant, store=store, settings=settings, mode=auto)
    (cid,) = third.execution.skipped
    assert "not repeated: the same message_send was done by action" in third.execution.skipped[cid]
    assert len(tenant.writes) == 3 and store.records[-1].status is AuditStatus.SKIPPED
    # With the window switched off, the same content under a new run key is a new action.
    off = settings.model_copy(update={"repeat_window_hours": 0})
    govern([_msg([1], run_key="attacker-4")], tenant, store=store, settings=off, mode=RolloutMode.AUTO)
    assert len(tenant.writes) == 4
