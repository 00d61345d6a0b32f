"""Run governed actions exactly once — also when a failure is ambiguous — and roll them back through
governance again.

`govern()` is what a flow calls with its planned actions and an executor (a callable that performs one
`Action`, e.g. `tasks.actions.ActionExecutor`). The executor reports per target what happened to the
*write* (a `TargetOutcome`: done, failed = certainly not applied, unknown = may have been applied; a failed
follow-up note is listed apart and never makes a done write look undone). A plain return value means every
target is done; an exception is classified by `execute_state.outcome_of_error`. `govern()`:

1. folds each action's audit records into per-target states (`execute_state.action_state`): an action
   whose every target is done is skipped ("already executed in flow run …");
2. reads back from the tenant (`verifier`, e.g. `ActionExecutor.verify`) every target *in doubt* before
   anything else: verified done → recorded done, never repeated; verified not done → retried; still
   unknown → left in doubt and not repeated unless its kind is in `REPEATABLE_KINDS`
   (`ws1ai audit in-doubt` lists it, `ws1ai audit resolve` settles it);
3. refuses to send a write (kind, payload, target) that another action — under any run key — did or may
   have done within the repeat window (`GovernanceSettings.repeat_window_hours`), and records why;
4. plans the rest (`planning.plan_actions`), asks the approval gate where needed and executes only the
   targets not yet done: a partially executed action's re-run writes only to the remaining ones.

Each attempt writes `started` (all attempted targets unknown) before calling the executor and its result
after, with the action's resulting status: `executed`, `partially_executed`, `failed` or `in_doubt`. A
`started` without a result (the process died) leaves its targets in doubt. Rollback undoes exactly the done
targets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from ws1ai.governance.actions import Action, ActionKind
from ws1ai.governance.approval import ApprovalOutcome, request_approval
from ws1ai.governance.approval_forms import Notifier
from ws1ai.governance.approval_suspend import (
    RecordedPlan,
    can_suspend,
    next_step,
    pending_elsewhere,
    record_plan,
    recorded_plan,
)
from ws1ai.governance.audit import (
    AuditRecord,
    AuditStatus,
    AuditStore,
    TargetOutcome,
    devices_touched_since,
    done_targets_by_kind,
    record_for,
)
from ws1ai.governance.config import GovernanceSettings, RolloutMode
from ws1ai.governance.execute_state import (
    DONE,
    ActionState,
    action_state,
    by_correlation_id,
    outcome_of_error,
    repeated_content,
    restricted,
    status_after,
)
from ws1ai.governance.planning import Plan, plan_actions

__all__ = [
    "REPEATABLE_KINDS",
    "ExecutionReport",
    "Executor",
    "GovernanceReport",
    "RollbackReport",
    "Verifier",
    "execute_actions",
    "govern",
    "rollback",
    "verify_action",
]

Executor = Callable[[Action], Any]
# (action, targets in doubt) → per target: True applied, False not applied, None cannot tell.
Verifier = Callable[[Action, Sequence[str]], Mapping[str, bool | None]]

# Kinds whose effect is the same when applied twice: safe to retry when a target is in doubt and the tenant
# cannot tell. Messages, locks, wipes, scripts, tickets and notes are not: they are verified or left alone.
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
IN_DOUBT_HINT = "`ws1ai audit in-doubt` lists it, `ws1ai audit resolve <correlation id> --verify` settles it"


class ExecutionReport(BaseModel):
    executed: list[str] = Field(default_factory=list)  # every target done (now, or verified done)
    partial: dict[str, str] = Field(default_factory=dict)  # correlation id → which targets are done/not
    failed: dict[str, str] = Field(default_factory=dict)  # nothing applied: safe to try again
    in_doubt: dict[str, str] = Field(default_factory=dict)  # some target may or may not be applied
    skipped: dict[str, str] = Field(default_factory=dict)  # correlation id → why (already done, repeat…)
    note_failures: dict[str, str] = Field(default_factory=dict)  # write done, follow-up note failed
    # correlation id → target → done | failed | unknown, after this run (only actions it looked at).
    targets: dict[str, dict[str, str]] = Field(default_factory=dict)

    def merge(self, other: ExecutionReport) -> None:
        self.executed += [c for c in other.executed if c not in self.executed]
        for mine, theirs in (
            (self.partial, other.partial),
            (self.failed, other.failed),
            (self.in_doubt, other.in_doubt),
            (self.skipped, other.skipped),
            (self.note_failures, other.note_failures),
        ):
            mine.update(theirs)
        self.targets.update(other.targets)

    @property
    def problems(self) -> int:
        """Actions that did not fully happen as planned: failed, partially executed or in doubt."""
        return len(self.failed) + len(self.partial) + len(self.in_doubt)


class GovernanceReport(BaseModel):
    plan: Plan
    approval: ApprovalOutcome = Field(default_factory=ApprovalOutcome)
    execution: ExecutionReport = Field(default_factory=ExecutionReport)
    already_executed: list[str] = Field(default_factory=list)

    @property
    def nothing_to_do(self) -> bool:
        return self.plan.empty and not self.execution.problems


class RollbackReport(BaseModel):
    rolled_back: list[str] = Field(default_factory=list)  # original correlation ids undone
    irreversible: dict[str, str] = Field(default_factory=dict)
    not_executed: list[str] = Field(default_factory=list)  # nothing to undo
    already_rolled_back: list[str] = Field(default_factory=list)
    in_doubt: dict[str, str] = Field(default_factory=dict)  # targets whose write is unknown: not undone
    governance: GovernanceReport | None = None


def _history(store: AuditStore, actions: Sequence[Action]) -> dict[str, list[AuditRecord]]:
    if not actions:
        return {}
    records = store.read(
        run_keys={a.run_key for a in actions}, correlation_ids={a.correlation_id for a in actions}
    )
    return by_correlation_id(records)


def _already_executed(state: ActionState) -> str:
    """Why an action is skipped: where and when it ran, so the audit export can answer "why nothing?"."""
    first = state.first_done
    if first is None:
        return "already executed"
    where = f" in flow run {first.flow_run_id}" if first.flow_run_id else ""
    return f"already executed{where} at {first.occurred.isoformat(timespec='seconds')}"


def _window_start(settings: GovernanceSettings | None, actions: Sequence[Action]) -> datetime | None:
    hours = max((settings.repeat_window(a.kind) for a in actions), default=0.0) if settings else 0.0
    return datetime.now(UTC) - timedelta(hours=hours) if hours > 0 else None


def _repeats(
    action: Action, recent: Mapping[str, list[AuditRecord]], settings: GovernanceSettings | None
) -> dict[str, str]:
    """Targets not to write because the same write was done (or is in doubt) within the window."""
    if settings is None or action.inverse_of is not None:  # an explicit undo is never "a repeat"
        return {}
    hours = settings.repeat_window(action.kind)
    if hours <= 0:
        return {}
    return repeated_content(action, recent, datetime.now(UTC) - timedelta(hours=hours))


def verify_action(
    action: Action,
    state: ActionState,
    verifier: Verifier,
    *,
    store: AuditStore,
    mode: str | None = None,
    records: list[AuditRecord] | None = None,
) -> ActionState:
    """Read the in-doubt targets back from the tenant and record what was found (if anything was)."""
    doubtful = state.unknown
    if not doubtful:
        return state
    try:
        found = verifier(action, doubtful)
    except Exception as exc:  # a failed read changes nothing: the targets stay in doubt
        found = {}
        why = f"read-back failed: {type(exc).__name__}: {exc}"[:300]
    else:
        why = "the tenant cannot tell (no read-back for this kind, or the state is ambiguous)"
    outcome = TargetOutcome(
        done=tuple(t for t in doubtful if found.get(t) is True),
        failed={t: "read back from the tenant: not applied" for t in doubtful if found.get(t) is False},
        unknown={t: why for t in doubtful if found.get(t) is None},
    )
    if not outcome.done and not outcome.failed:
        return state  # nothing learned: no record (the next run, or `ws1ai audit resolve`, reads again)
    states = {**state.targets}
    states.update(dict.fromkeys(outcome.done, DONE))
    states.update(dict.fromkeys(outcome.failed, "failed"))
    status = status_after(states, action.targets)
    record = record_for(
        action, status, mode=mode, outcome=outcome, detail=f"verified against the tenant: {outcome.brief()}"
    )
    store.write([record])
    return action_state(action, [*(records or []), record])


def _outcome_from(result: Any, targets: Sequence[str]) -> TargetOutcome:
    """The executor's per-target report; a plain return value means every target is done."""
    if not isinstance(result, TargetOutcome):
        return TargetOutcome(done=tuple(targets))
    reported = {*result.done, *result.failed, *result.unknown, *result.skipped}
    missing = [t for t in targets if t not in reported]
    if missing:  # never assume: a target the executor did not account for may have been written
        unknown = {**result.unknown, **dict.fromkeys(missing, "the executor did not report this target")}
        return result.model_copy(update={"unknown": unknown})
    return result


class _Run:
    """One pass over a batch: history, read-backs, the repeat window, attempts and their records."""

    def __init__(
        self,
        actions: Sequence[Action],
        *,
        store: AuditStore,
        mode: str | None,
        verifier: Verifier | None,
        settings: GovernanceSettings | None,
    ) -> None:
        self.store, self.mode, self.verifier, self.settings = store, mode, verifier, settings
        self.history = _history(store, actions)
        since = _window_start(settings, actions)
        self.hour_ago = datetime.now(UTC) - timedelta(hours=1)
        # One read serves the repeat window and (in `govern`) the per-hour blast-radius cap.
        self.recent: dict[str, list[AuditRecord]] | None = (
            by_correlation_id(store.read(since=min(since, self.hour_ago))) if since is not None else None
        )
        self.report = ExecutionReport()
        self.skip_records: list[AuditRecord] = []
        self.verified: set[str] = set()  # read back as done in this run

    def state(self, action: Action) -> ActionState:
        records = self.history.get(action.correlation_id, [])
        state = action_state(action, records)
        if state.unknown and self.verifier is not None:
            state = verify_action(
                action, state, self.verifier, store=self.store, mode=self.mode, records=records
            )
            if state.fully_done:  # its verification record (status executed) is this run's result
                self.verified.add(action.correlation_id)
        return state

    def triage(self, action: Action, state: ActionState) -> tuple[list[str], dict[str, str]] | None:
        """(targets to write now, targets left alone as repeats) — or None when nothing may be written now
        (already done, or only in-doubt/repeated targets left; the reason is recorded)."""
        cid = action.correlation_id
        self.report.targets[cid] = dict(state.targets)
        if cid in self.verified:
            self.report.executed.append(cid)
            return None
        if state.fully_done:
            why = _already_executed(state)
            self.report.skipped[cid] = why
            self.skip_records.append(record_for(action, AuditStatus.SKIPPED, detail=why, mode=self.mode))
            return None
        unresolved = [] if action.kind in REPEATABLE_KINDS else state.unknown
        repeats = _repeats(action, self.recent or {}, self.settings)
        todo = [t for t in state.remaining if t not in unresolved and t not in repeats]
        if todo:
            return todo, repeats
        if unresolved:
            n = len(unresolved)
            why = f"in doubt: {n} target(s) may already be written; not repeated ({IN_DOUBT_HINT})"
            self.report.in_doubt[cid] = why
        else:
            why = "not repeated: " + next(iter(repeats.values()))
            self.report.skipped[cid] = why
        outcome = TargetOutcome(skipped={**dict.fromkeys(unresolved, "in doubt"), **repeats})
        self.skip_records.append(
            record_for(action, AuditStatus.SKIPPED, detail=why, mode=self.mode, outcome=outcome)
        )
        return None

    def attempt(
        self,
        action: Action,
        state: ActionState,
        todo: list[str],
        repeats: dict[str, str],
        executor: Executor,
    ) -> None:
        cid = action.correlation_id
        sub = restricted(action, todo)
        scope = None if sub is action else f"writing {len(todo)} of {len(action.targets)} targets"
        # Written (synchronously) before acting, so a crash mid-call leaves exactly these targets in doubt.
        started = TargetOutcome(unknown=dict.fromkeys(todo, "started, no result recorded"))
        self.store.write(
            [record_for(action, AuditStatus.STARTED, mode=self.mode, outcome=started, detail=scope)]
        )
        try:
            result = executor(sub)
        except Exception as exc:
            outcome, text = outcome_of_error(exc, todo), None
        else:
            outcome = _outcome_from(result, todo)
            text = None if result is None or isinstance(result, TargetOutcome) else str(result)[:300]
        if repeats:
            outcome = outcome.model_copy(update={"skipped": repeats})
        states = dict(state.targets)
        states.update(dict.fromkeys(outcome.done, DONE))
        states.update(dict.fromkeys(outcome.failed, "failed"))
        states.update(dict.fromkeys(outcome.unknown, "unknown"))
        counted = [t for t in action.targets if t not in repeats]
        status = status_after(states, counted)
        problems = outcome.failed or outcome.unknown or outcome.note_failures or repeats or scope
        detail = "; ".join(x for x in (scope, text, outcome.brief() if problems else None) if x) or None
        self.store.write([record_for(action, status, mode=self.mode, outcome=outcome, detail=detail)])
        self.report.targets[cid] = states
        if outcome.note_failures:
            self.report.note_failures[cid] = (
                f"{len(outcome.note_failures)} device note(s) failed after the write"
            )
        summary = outcome.brief()
        if status is AuditStatus.EXECUTED:
            self.report.executed.append(cid)
        elif status is AuditStatus.PARTIAL:
            self.report.partial[cid] = summary
        elif status is AuditStatus.IN_DOUBT:
            self.report.in_doubt[cid] = f"{summary} ({IN_DOUBT_HINT})"
        else:
            self.report.failed[cid] = summary


def execute_actions(
    actions: Sequence[Action],
    executor: Executor,
    *,
    store: AuditStore,
    mode: str | None = None,
    verifier: Verifier | None = None,
    settings: GovernanceSettings | None = None,
) -> ExecutionReport:
    """Execute approved/automatic actions: only targets not yet done, in-doubt ones verified first."""
    verifier = verifier or _verifier_of(executor)
    run = _Run(actions, store=store, mode=mode, verifier=verifier, settings=settings)
    seen: set[str] = set()
    for action in actions:
        if action.correlation_id in seen:
            continue
        seen.add(action.correlation_id)
        state = run.state(action)
        plan = run.triage(action, state)
        if plan is not None:
            run.attempt(action, state, *plan, executor)
    if run.skip_records:
        store.write(run.skip_records)
    return run.report


def _verifier_of(executor: Executor) -> Verifier | None:
    verify = getattr(executor, "verify", None)
    return verify if callable(verify) else None


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
    verifier: Verifier | None = None,
) -> GovernanceReport:
    """Plan, record, execute the automatic part, ask for approval of the rest, execute what is approved."""
    settings = settings or GovernanceSettings()
    mode = mode or settings.mode
    verifier = verifier or _verifier_of(executor)
    suspending = not dry_run and can_suspend(settings)
    if suspending:
        next_step()
    if suspending and (resumed := recorded_plan(store)) is not None:
        # Resumed after a suspended approval: continue the recorded plan, not a recomputed one.
        return _resume(
            resumed, actions, executor, store=store, settings=settings, notify=notify, verifier=verifier
        )
    # Read-backs happen before planning, so a write verified done never waits for an approval again. In a
    # dry run or a report-only mode nothing is read back or recorded beyond the plan.
    reporting = dry_run or mode in (RolloutMode.OBSERVE, RolloutMode.RECOMMEND)
    run = _Run(actions, store=store, mode=mode, verifier=None if reporting else verifier, settings=settings)
    fresh: list[Action] = []
    seen: set[str] = set()
    for a in actions:
        if a.correlation_id in seen:
            continue
        seen.add(a.correlation_id)
        if run.triage(a, run.state(a)) is not None:
            fresh.append(a)
    if run.skip_records:
        # Written in every mode, dry runs included: it is a fact about this run (it found the action done,
        # in doubt or a repeat), not an act, and without it a re-run that did nothing would leave no trace.
        store.write(run.skip_records)
    already = sorted(c for c, why in run.report.skipped.items() if why.startswith("already executed"))
    if run.recent is not None:
        recent = done_targets_by_kind(
            r for rs in run.recent.values() for r in rs if r.occurred >= run.hour_ago
        )
    else:
        recent = devices_touched_since(store, run.hour_ago)
    plan = plan_actions(fresh, mode=mode, settings=settings, dry_run=dry_run, recent_devices=recent)
    pre = ExecutionReport(
        executed=run.report.executed,
        in_doubt=run.report.in_doubt,
        skipped={c: w for c, w in run.report.skipped.items() if c not in already},
        targets=run.report.targets,
    )
    report = GovernanceReport(plan=plan, already_executed=already, execution=pre)
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
    kwargs: dict[str, Any] = {"store": store, "mode": mode, "verifier": verifier, "settings": settings}
    report.execution.merge(execute_actions([p.action for p in plan.auto], executor, **kwargs))
    asking = plan.needs_approval
    if asking:
        # Actions already waiting in another run's approval are that run's: one request per set of actions.
        elsewhere = pending_elsewhere([p.action for p in asking])
        if elsewhere:
            asking = [p for p in asking if p.action.correlation_id not in elsewhere]
            skips = []
            for p in plan.needs_approval:
                if (other := elsewhere.get(p.action.correlation_id)) is not None:
                    why = f"pending approval in run {other}"
                    report.execution.skipped[p.action.correlation_id] = why
                    skip = record_for(p.action, AuditStatus.SKIPPED, tier=p.tier, detail=why, mode=mode)
                    skips.append(skip)
            store.write(skips)
    if asking and suspending:
        timeout = approval_timeout_seconds or settings.approval_timeout_seconds
        record_plan(RecordedPlan(title=title, mode=mode, timeout=timeout, plan=plan, asked=asking))
    if asking:
        report.approval = request_approval(
            asking,
            title=title,
            store=store,
            settings=settings,
            notify=notify,
            timeout_seconds=approval_timeout_seconds,
            mode=mode,
        )
        report.execution.merge(execute_actions(report.approval.approved, executor, **kwargs))
    return report


def _resume(
    recorded: RecordedPlan,
    actions: Sequence[Action],
    executor: Executor,
    *,
    store: AuditStore,
    settings: GovernanceSettings,
    notify: Notifier | None,
    verifier: Verifier | None,
) -> GovernanceReport:
    """The governed tail of a run resumed from a suspended approval: decide the recorded actions, execute the
    approved ones (exactly once, as always)."""
    import logging

    asked = {p.action.correlation_id for p in recorded.asked}
    recomputed = {a.correlation_id for a in actions}
    if not asked <= recomputed:
        # The approval was asked for the recorded actions; what the flow computes now is for a later run.
        logging.getLogger("ws1ai.governance.execute").warning(
            "resumed run recomputed a different action set (%d of %d recorded ones missing); continuing with "
            "the recorded plan",
            len(asked - recomputed),
            len(asked),
        )
    mode = RolloutMode(recorded.mode) if recorded.mode else None
    report = GovernanceReport(plan=recorded.plan)
    report.approval = request_approval(
        recorded.asked,
        title=recorded.title,
        store=store,
        settings=settings,
        notify=notify,
        timeout_seconds=recorded.timeout,
        mode=mode,
    )
    kwargs: dict[str, Any] = {"store": store, "mode": mode, "verifier": verifier, "settings": settings}
    report.execution.merge(execute_actions(report.approval.approved, executor, **kwargs))
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
    """Undo the done targets of executed (or partially executed) actions by running their inverses through
    governance; report irreversible ones and targets still in doubt.

    Approval may be needed (by mode and tier), so call this inside a flow run.
    """
    report = RollbackReport()
    records = by_correlation_id(store.read(correlation_ids=set(correlation_ids)))
    inverses: dict[str, Action] = {}
    originals: dict[str, Action] = {}
    for cid in dict.fromkeys(correlation_ids):
        recs = records.get(cid, [])
        # Only a done write is undone: `skipped` records (re-runs that found it done, or an in-doubt action
        # left alone) never stand for one, and `rolled_back` means its inverse already ran once.
        state = action_state(recs[-1].action, recs) if recs else None
        if state is not None and state.unknown:
            report.in_doubt[cid] = f"{len(state.unknown)} target(s) in doubt are not undone; {IN_DOUBT_HINT}"
        if state is None or not state.done:
            report.not_executed.append(cid)
            continue
        if state.rolled_back:
            report.already_rolled_back.append(cid)
            continue
        original = state.action
        inverse = original.inverse()
        if inverse is None:
            report.irreversible[cid] = original.irreversible_reason() or "no inverse"
            continue
        # Undo exactly the done targets: the others were never written (or are in doubt, reported above).
        inverse = restricted(inverse, state.done)
        inverses[inverse.correlation_id] = inverse
        originals[inverse.correlation_id] = original
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
