"""Run governed actions exactly once, and roll them back through governance again.

`govern()` is what a flow calls with its planned actions and an executor (a callable that performs one
`Action`, e.g. through the UEM client; it raises on failure). It:

1. drops actions the audit trail already shows as executed (a re-run or a crashed run's retry never
   repeats one — the correlation id is the key, looked up in the durable artifact copy before acting), and
   records each as `skipped` ("already executed in flow run …"), so the trail says why a re-run did nothing;
2. plans the rest (`planning.plan_actions`, with the last hour's executed devices for the per-hour cap) and
   records them as `planned`;
3. in `observe`/`recommend`/dry-run stops there; otherwise executes the automatic ones, asks the approval
   gate for the rest, and executes what was approved.

Each execution writes `started` before calling the executor and `executed`/`failed` after. A `started`
without a result (the process died in between) is *in doubt*: kinds that are safe to repeat are retried,
the others (wipes, locks, messages, scripts, tickets) are skipped and reported for a human to check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from ws1ai.governance.actions import Action, ActionKind
from ws1ai.governance.approval import ApprovalOutcome, request_approval
from ws1ai.governance.approval_forms import Notifier
from ws1ai.governance.audit import AuditRecord, AuditStatus, AuditStore, devices_touched_since, record_for
from ws1ai.governance.config import GovernanceSettings, RolloutMode
from ws1ai.governance.planning import Plan, plan_actions

__all__ = [
    "REPEATABLE_KINDS",
    "ExecutionReport",
    "Executor",
    "GovernanceReport",
    "RollbackReport",
    "execute_actions",
    "govern",
    "rollback",
]

Executor = Callable[[Action], Any]

# Kinds whose effect is the same when applied twice: safe to retry when a crash left them in doubt.
REPEATABLE_KINDS: frozenset[ActionKind] = frozenset(
    {
        ActionKind.TAG_ADD,
        ActionKind.TAG_REMOVE,
        ActionKind.PROFILE_INSTALL,
        ActionKind.PROFILE_REMOVE,
        ActionKind.APP_INSTALL,
        ActionKind.APP_UNINSTALL,
        ActionKind.SMART_GROUP_ADD,
        ActionKind.SMART_GROUP_REMOVE,
        ActionKind.CUSTOM_ATTRIBUTE_SET,
        ActionKind.DEVICE_SYNC,
        ActionKind.USER_ACTIVATE,
        ActionKind.USER_DEACTIVATE,
        ActionKind.QUARANTINE_PROFILE,
    }
)


class ExecutionReport(BaseModel):
    executed: list[str] = Field(default_factory=list)
    failed: dict[str, str] = Field(default_factory=dict)
    skipped: dict[str, str] = Field(default_factory=dict)  # correlation id → why (already done, in doubt…)


class GovernanceReport(BaseModel):
    plan: Plan
    approval: ApprovalOutcome = Field(default_factory=ApprovalOutcome)
    execution: ExecutionReport = Field(default_factory=ExecutionReport)
    already_executed: list[str] = Field(default_factory=list)

    @property
    def nothing_to_do(self) -> bool:
        return self.plan.empty


class RollbackReport(BaseModel):
    rolled_back: list[str] = Field(default_factory=list)  # original correlation ids undone
    irreversible: dict[str, str] = Field(default_factory=dict)
    not_executed: list[str] = Field(default_factory=list)  # nothing to undo
    already_rolled_back: list[str] = Field(default_factory=list)
    governance: GovernanceReport | None = None


def _history(store: AuditStore, actions: Sequence[Action]) -> dict[str, list[AuditRecord]]:
    if not actions:
        return {}
    records = store.read(
        run_keys={a.run_key for a in actions}, correlation_ids={a.correlation_id for a in actions}
    )
    by_cid: dict[str, list[AuditRecord]] = {}
    for r in sorted(records, key=lambda r: r.occurred):
        by_cid.setdefault(r.correlation_id, []).append(r)
    return by_cid


def _executed(records: Iterable[AuditRecord]) -> AuditRecord | None:
    """The record of the action's execution, if it has one (`skipped` notes of later runs do not count)."""
    return next((r for r in records if r.status is AuditStatus.EXECUTED), None)


def _in_doubt(records: Iterable[AuditRecord]) -> bool:
    """The last attempt started and recorded no result (the process died in between)."""
    last: AuditStatus | None = None
    for r in records:
        if r.status in (AuditStatus.STARTED, AuditStatus.FAILED):
            last = r.status
    return last is AuditStatus.STARTED


def _already_executed(executed: AuditRecord) -> str:
    """Why an action is skipped: where and when it ran, so the audit export can answer "why nothing?"."""
    where = f" in flow run {executed.flow_run_id}" if executed.flow_run_id else ""
    return f"already executed{where} at {executed.occurred.isoformat(timespec='seconds')}"


def execute_actions(
    actions: Sequence[Action], executor: Executor, *, store: AuditStore, mode: str | None = None
) -> ExecutionReport:
    """Execute approved/automatic actions at most once each (checked against the audit trail first)."""
    report = ExecutionReport()
    history = _history(store, actions)
    skipped: list[AuditRecord] = []
    done: set[str] = set()
    for action in actions:
        cid = action.correlation_id
        if cid in done:
            continue
        done.add(cid)
        records = history.get(cid, [])
        executed = _executed(records)
        if executed is not None:
            why = _already_executed(executed)
            report.skipped[cid] = why
            skipped.append(record_for(action, AuditStatus.SKIPPED, detail=why, mode=mode))
            continue
        if _in_doubt(records) and action.kind not in REPEATABLE_KINDS:
            why = "in doubt: an earlier attempt started but recorded no result; check the device first"
            report.skipped[cid] = why
            skipped.append(record_for(action, AuditStatus.SKIPPED, detail=why, mode=mode))
            continue
        # Written (synchronously) before acting, so a crash mid-call leaves the action visibly in doubt.
        store.write([record_for(action, AuditStatus.STARTED, mode=mode)])
        try:
            result = executor(action)
        except Exception as exc:
            detail = f"{type(exc).__name__}: {exc}"[:500]
            report.failed[cid] = detail
            store.write([record_for(action, AuditStatus.FAILED, detail=detail, mode=mode)])
            continue
        report.executed.append(cid)
        result_text = None if result is None else str(result)[:500]
        store.write([record_for(action, AuditStatus.EXECUTED, detail=result_text, mode=mode)])
    if skipped:
        store.write(skipped)
    return report


def govern(
    actions: Sequence[Action],
    executor: Executor,
    *,
    store: AuditStore,
    settings: GovernanceSettings | None = None,
    mode: RolloutMode | None = None,
    dry_run: bool = False,
    title: str = "ws1ai actions",
    notify: Notifier | None = None,
    approval_timeout_seconds: int | None = None,
) -> GovernanceReport:
    """Plan, record, execute the automatic part, ask for approval of the rest, execute what is approved."""
    settings = settings or GovernanceSettings()
    mode = mode or settings.mode
    history = _history(store, actions)
    fresh: list[Action] = []
    done: dict[str, AuditRecord] = {}  # correlation id → a skipped record for this run
    for a in actions:
        executed = _executed(history.get(a.correlation_id, []))
        if executed is None:
            fresh.append(a)
        elif a.correlation_id not in done:
            done[a.correlation_id] = record_for(
                a, AuditStatus.SKIPPED, detail=_already_executed(executed), mode=mode
            )
    if done:
        # Written in every mode, dry runs included: it is a fact about this run (it found the action done),
        # not an act, and without it a re-run that did nothing would leave no trace of why.
        store.write(list(done.values()))
    recent = devices_touched_since(store, datetime.now(UTC) - timedelta(hours=1))
    plan = plan_actions(fresh, mode=mode, settings=settings, dry_run=dry_run, recent_devices=recent)
    report = GovernanceReport(plan=plan, already_executed=sorted(done))
    if plan.empty:
        return report
    store.write(
        [
            record_for(p.action, AuditStatus.PLANNED, tier=p.tier, detail="; ".join(p.reasons), mode=mode)
            for p in plan.items
        ]
    )
    if plan.report_only:
        return report
    execution = execute_actions([p.action for p in plan.auto], executor, store=store, mode=mode)
    if plan.needs_approval:
        report.approval = request_approval(
            plan.needs_approval,
            title=title,
            store=store,
            settings=settings,
            notify=notify,
            timeout_seconds=approval_timeout_seconds,
            mode=mode,
        )
        approved = execute_actions(report.approval.approved, executor, store=store, mode=mode)
        execution.executed += approved.executed
        execution.failed |= approved.failed
        execution.skipped |= approved.skipped
    report.execution = execution
    return report


def rollback(
    correlation_ids: Sequence[str],
    executor: Executor,
    *,
    store: AuditStore,
    settings: GovernanceSettings | None = None,
    mode: RolloutMode = RolloutMode.APPROVE,
    title: str | None = None,
    notify: Notifier | None = None,
) -> RollbackReport:
    """Undo executed actions by running their inverses through governance; report irreversible ones.

    Approval may be needed (by mode and tier), so call this inside a flow run.
    """
    report = RollbackReport()
    records = store.read(correlation_ids=set(correlation_ids))
    inverses: dict[str, Action] = {}
    originals: dict[str, Action] = {}
    for cid in dict.fromkeys(correlation_ids):
        recs = [r for r in records if r.correlation_id == cid]
        # Only an execution is undone: `skipped` records (re-runs that found it done, or an in-doubt action
        # left alone) never stand for one, and `rolled_back` means its inverse already ran once.
        executed = _executed(recs)
        if executed is None:
            report.not_executed.append(cid)
            continue
        if any(r.status is AuditStatus.ROLLED_BACK for r in recs):
            report.already_rolled_back.append(cid)
            continue
        inverse = executed.action.inverse()
        if inverse is None:
            report.irreversible[cid] = executed.action.irreversible_reason() or "no inverse"
            continue
        inverses[inverse.correlation_id] = inverse
        originals[inverse.correlation_id] = executed.action
    if not inverses:
        return report
    gov = govern(
        list(inverses.values()),
        executor,
        store=store,
        settings=settings,
        mode=mode,
        title=title or f"rollback of {len(inverses)} action(s)",
        notify=notify,
    )
    report.governance = gov
    undone = set(gov.execution.executed) | set(gov.already_executed)
    marks = []
    for inv_cid, original in originals.items():
        if inv_cid in undone:
            report.rolled_back.append(original.correlation_id)
            marks.append(record_for(original, AuditStatus.ROLLED_BACK, detail=f"undone by {inv_cid}"))
    if marks:
        store.write(marks)
    return report
