"""Approvals that hold no process: `WS1AI_GOVERNANCE_APPROVAL_WAIT=suspend`.

With `pause` (the default) a run waiting for approval keeps its Python process and worker slot until someone
decides. With `suspend` the gate records what it asks and calls Prefect's
`suspend_flow_run(wait_for_input=ApprovalInput, key=<round key>)`: the process ends, and when someone submits
the form (UI or `ws1ai approvals approve`) Prefect reschedules the run, a worker starts it again *from the
top*, and the flow reaches governance again. Governance then finds its own recorded plan and round:

* `PLAN_KEY-<step>` (flow-run input; the step is which governed call of the flow this is): the planned
  actions that wait for approval, written before the first round. The resumed run continues with *these*
  actions, not with whatever it recomputed (the approval was for them); each reloaded action's correlation id
  is checked against its content, and against this run's `planned` records in the audit trail.
* `STATE_KEY-<step>`: the round number, the nonces already spent (the process that remembered them is gone)
  and every submission the gate accepted. A resumed gate re-checks those submissions (signature, run, round
  key, digest) to rebuild who approved what, so a state edited through the API cannot add an approval.
* `REQUEST_KEY`: the current round (its pause key), as with `pause`. Calling `suspend_flow_run` again with a
  key that already fired returns the submitted input instead of suspending (Prefect's own semantics), and the
  same gate code as the pause loop verifies it: signature, run, round key, digest, nonce used once.

Reminders and the deadline are kept by the `approvals-check` flow (flows/approvals_check.py, scheduled every
few minutes) with nothing of the run alive: `check_suspended()` sends due reminders (remembered in
`REMINDERS_KEY`, never repeated) and, past the deadline, writes the timeout outcome to the audit trail first
and then resumes the run with a timeout submission. The resumed gate accepts a timeout only once the deadline
has passed by its own clock (the deadline is this run's own `planned` records' time plus its timeout), so
nobody can resume a run into an early timeout, and a timeout applies only the configured outcome.

`pending_elsewhere()` lets a run that would ask for actions already waiting in another run's approval (same
correlation id, or the same write to the same targets) leave them to that run instead of asking twice.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError

from ws1ai.governance.actions import Action
from ws1ai.governance.approval_forms import (
    REQUEST_KEY,
    TIMEOUT_APPROVER,
    ApprovalInput,
    ApprovalOutcome,
    ApprovalRequest,
    ApprovalTimeout,
    ApprovalVerdict,
    Decision,
    Notifier,
    delete_input,
    emit_refused,
    log_notice,
    markdown,
    publish_verdict,
    save_request,
)
from ws1ai.governance.approval_gate import ApprovalGate, GateEntry, peek_nonce, targets_digest
from ws1ai.governance.audit import AuditStatus, AuditStore
from ws1ai.governance.audit_records import content_key
from ws1ai.governance.config import GovernanceSettings, TimeoutOutcome
from ws1ai.governance.planning import Plan, PlannedAction
from ws1ai.governance.resume import list_pending

__all__ = [
    "PLAN_KEY",
    "REMINDERS_KEY",
    "STATE_KEY",
    "CheckReport",
    "GateState",
    "RecordedPlan",
    "can_suspend",
    "check_suspended",
    "clear_suspended",
    "current_run_id",
    "current_step",
    "next_step",
    "pending_elsewhere",
    "record_plan",
    "recorded_plan",
    "request_approval_suspended",
]

log = logging.getLogger("ws1ai.governance.approval")

PLAN_KEY = "ws1ai-approval-plan"
STATE_KEY = "ws1ai-approval-state"
REMINDERS_KEY = "ws1ai-approval-reminders"
# A suspended run is resumable well after our own deadline: `approvals-check` may run late, and Prefect fails
# a resume after the pause timeout. The deadline that counts is ours.
BACKSTOP_MARGIN_SECONDS = 24 * 3600

M = TypeVar("M", bound=BaseModel)


class RecordedPlan(BaseModel):
    """What a suspended run asked approval for; the resumed run continues with exactly this."""

    title: str
    mode: str | None = None
    timeout: int
    plan: Plan
    asked: list[PlannedAction]


class Submission(BaseModel):
    round_key: str
    form: dict[str, Any]


class GateState(BaseModel):
    round: int = 0
    timed_out: bool = False
    # When the first round was asked: the deadline's start only for a caller that planned nothing in the audit
    # trail (governed runs count from their own `planned` records).
    requested_at: datetime | None = None
    used_nonces: list[str] = Field(default_factory=list)
    accepted: list[Submission] = Field(default_factory=list)
    refused: int = 0


class CheckReport(BaseModel):
    checked: int = 0
    reminded: list[str] = Field(default_factory=list)
    timed_out: list[str] = Field(default_factory=list)


# Governed steps of this process's flow run, counted in order: a flow may govern more than once, and a resumed
# run re-runs them all from the top, so each step finds its own recorded plan and state by its number.
_steps: dict[uuid.UUID, int] = {}


def next_step() -> int:
    """Count one more governed step of the current flow run (`govern` calls this once per call)."""
    run_id = current_run_id()
    if run_id is None:
        return 0
    _steps[run_id] = _steps.get(run_id, 0) + 1
    return _steps[run_id]


def current_step() -> int:
    run_id = current_run_id()
    return _steps.get(run_id, 0) if run_id is not None else 0


def _key(base: str, step: int) -> str:
    return f"{base}-{step}"


def current_run_id() -> uuid.UUID | None:
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    return ctx.flow_run.id if ctx is not None and ctx.flow_run is not None else None


def can_suspend(settings: GovernanceSettings) -> bool:
    """Suspend is asked for and possible here: Prefect suspends only a deployment's top-level run (a run
    started in-process, e.g. `ws1ai run` or a test, or a subflow, cannot be rescheduled), so those pause."""
    from prefect.context import FlowRunContext

    if settings.approval_wait != "suspend":
        return False
    ctx = FlowRunContext.get()
    run = ctx.flow_run if ctx is not None else None
    if run is None or run.deployment_id is None or run.parent_task_run_id is not None:
        log.info("approval wait: suspend asked, but this run has no deployment (or is a subflow); pausing")
        return False
    return True


def _load(flow_run_id: uuid.UUID, key: str, model: type[M]) -> M | None:
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError

    try:
        with get_client(sync_client=True) as client:
            value = client.read_flow_run_input(flow_run_id, key)
    except (ObjectNotFound, PrefectHTTPStatusError):
        return None
    try:
        return model.model_validate_json(value)
    except ValidationError as exc:  # unreadable: treated as absent, and said
        log.warning("flow run %s: input %s unreadable (%s); ignored", flow_run_id, key, exc.error_count())
        return None


def _save(flow_run_id: uuid.UUID, key: str, value: BaseModel) -> None:
    from prefect import get_client

    delete_input(flow_run_id, key)
    with get_client(sync_client=True) as client:
        client.create_flow_run_input(flow_run_id, key, value.model_dump_json(), sender="ws1ai-gate")


def record_plan(recorded: RecordedPlan) -> None:
    run_id = current_run_id()
    if run_id is None:
        raise RuntimeError("a suspended approval must be requested inside a flow run")
    _save(run_id, _key(PLAN_KEY, current_step()), recorded)


def recorded_plan(store: AuditStore) -> RecordedPlan | None:
    """This run's recorded plan, if it was suspended for approval before (None on a first execution).

    Each action reloads only if its stored correlation id matches its content (`Action` checks), and every
    asked action must have a `planned` record of this run in the audit trail: an input planted through the API
    cannot smuggle in an action this run never planned."""
    run_id = current_run_id()
    if run_id is None:
        return None
    recorded = _load(run_id, _key(PLAN_KEY, current_step()), RecordedPlan)
    if recorded is None:
        return None
    asked = {p.action.correlation_id for p in recorded.asked}
    planned = {
        r.action.correlation_id
        for r in store.read(run_keys={p.action.run_key for p in recorded.asked}, correlation_ids=asked)
        if r.status is AuditStatus.PLANNED and r.flow_run_id == str(run_id)
    }
    if asked - planned:
        raise RuntimeError(
            f"flow run {run_id}: the recorded approval plan names {len(asked - planned)} action(s) this run "
            "never planned (no `planned` audit record); refusing to continue with it"
        )
    return recorded


def clear_suspended(flow_run_id: uuid.UUID) -> None:
    """The run no longer waits. Each step's plan and state stay: a later step's resume re-runs this one from
    the top, and it must find its decisions (it then asks nothing and re-executes nothing)."""
    for key in (REQUEST_KEY, REMINDERS_KEY):
        delete_input(flow_run_id, key)


def _planned_at(store: AuditStore, flow_run_id: uuid.UUID, actions: Sequence[Action]) -> datetime | None:
    """When this run planned these actions (its own audit records): the approval deadline counts from it."""
    records = store.read(
        run_keys={a.run_key for a in actions}, correlation_ids={a.correlation_id for a in actions}
    )
    stamps = [
        r.occurred for r in records if r.status is AuditStatus.PLANNED and r.flow_run_id == str(flow_run_id)
    ]
    return min(stamps) if stamps else None


def _timeouts_recorded(store: AuditStore, gate: ApprovalGate) -> set[str]:
    records = store.read(
        run_keys={e.action.run_key for e in gate.entries.values()}, correlation_ids=set(gate.entries)
    )
    return {
        r.action.correlation_id
        for r in records
        if r.flow_run_id == str(gate.flow_run_id)
        and r.status in (AuditStatus.APPROVED, AuditStatus.REJECTED)
        and ("timed out" in (r.detail or "") or "no objection" in (r.detail or ""))
    }


def _gate_for(
    entries: list[GateEntry],
    title: str,
    store: AuditStore,
    settings: GovernanceSettings,
    notify: Notifier | None,
    timeout: int,
    mode: str | None,
    state: GateState,
    flow_run_id: uuid.UUID | None = None,
) -> ApprovalGate:
    """A gate rebuilt from the run's recorded state: earlier rounds' signed submissions checked again."""
    gate = ApprovalGate(entries, title, store, settings, notify, timeout, mode, flow_run_id=flow_run_id)
    planned = _planned_at(store, gate.flow_run_id, [e.action for e in entries])
    started = planned or state.requested_at or datetime.now(UTC)
    state.requested_at = state.requested_at or started
    gate.deadline = started + timedelta(seconds=timeout)
    gate.deadline_mono = 0.0  # unused here: a suspended run waits with no clock running
    gate.replaying = True
    for sub in state.accepted:
        gate.round_key = sub.round_key
        try:
            verdict, _ = gate.apply(ApprovalInput.model_validate(sub.form))
        except ValidationError:
            verdict = ApprovalVerdict(verdict="refused", reason="unreadable")
        if verdict.verdict != "accepted":
            log.warning(
                "flow run %s: a recorded submission does not verify (%s); ignored",
                gate.flow_run_id,
                verdict.reason,
            )
    gate.replaying = False
    gate.used_nonces = set(state.used_nonces)
    gate.outcome.refused = state.refused
    # Decided by an earlier execution of this run (its records are in the audit trail); believed only past the
    # deadline by this clock, so a state edited through the API cannot bring a timeout forward.
    if state.timed_out and datetime.now(UTC) >= gate.deadline:
        notifier, gate.notifier = gate.notifier, lambda _notice: None
        gate.timeout_recorded = _timeouts_recorded(store, gate)
        gate.declare_timeout()
        gate.notifier = notifier
        gate.timed_out = gate.outcome.timed_out = True
    return gate


def _backstop(gate: ApprovalGate) -> int:
    left = (gate.deadline - datetime.now(UTC)).total_seconds()
    return int(max(left, 0)) + BACKSTOP_MARGIN_SECONDS


def _judge(gate: ApprovalGate, state: GateState, resp: ApprovalInput) -> tuple[ApprovalVerdict, str | None]:
    """One submission: a timeout (accepted only past the deadline by this clock) or a signed code."""
    if resp.approver.strip().lower() == TIMEOUT_APPROVER:
        if datetime.now(UTC) < gate.deadline:
            when = gate.deadline.isoformat(timespec="seconds")
            return ApprovalVerdict(verdict="refused", reason=f"the deadline is {when}; not timed out"), None
        gate.timeout_recorded = _timeouts_recorded(gate.store, gate)
        gate.declare_timeout()
        gate.timed_out = gate.outcome.timed_out = state.timed_out = True
        return ApprovalVerdict(verdict="accepted", reason="deadline passed"), None
    if datetime.now(UTC) >= gate.deadline:
        # Too late, as with `pause`: the deadline decides, never a second decision after it.
        gate.timeout_recorded = _timeouts_recorded(gate.store, gate)
        gate.declare_timeout()
        gate.timed_out = gate.outcome.timed_out = state.timed_out = True
        late = ApprovalVerdict(verdict="refused", reason="the approval deadline had passed")
        return late, peek_nonce(resp.approval_code)
    with gate.lock:
        verdict, nonce = gate.apply(resp)
    if verdict.verdict == "accepted":
        form = resp.model_dump(
            mode="json", include={"decision", "approver", "approval_code", "decisions", "comment"}
        )
        state.accepted.append(Submission(round_key=gate.round_key, form=form))
    return verdict, nonce


def request_approval_suspended(
    entries: list[GateEntry],
    *,
    title: str,
    store: AuditStore,
    settings: GovernanceSettings,
    notify: Notifier | None,
    timeout: int,
    mode: str | None,
) -> ApprovalOutcome:
    """Ask for approval without holding this process: suspend per round, verify on the resumed run."""
    from prefect.flow_runs import suspend_flow_run

    run_id = current_run_id()
    if run_id is None:
        raise RuntimeError("request_approval must be called inside a flow run")
    step = current_step()
    state_key = _key(STATE_KEY, step)
    state = _load(run_id, state_key, GateState) or GateState()
    gate = _gate_for(entries, title, store, settings, notify, timeout, mode, state)
    if state.round == 0:
        gate.notify("requested")
    req = _load(run_id, REQUEST_KEY, ApprovalRequest)
    note = ""
    while gate.pending() and not gate.timed_out:
        ours = req is not None and req.flow_run_id == str(run_id) and req.step == step
        if req is None or not ours:
            state.round += 1
            _, req, md = gate.describe(note)
            req.round, req.wait, req.step = state.round, "suspend", step
            _save(run_id, state_key, state)
            save_request(run_id, req)
        else:
            gate.round_key = req.pause_key
            md = markdown(req)
        form = ApprovalInput.with_initial_data(description=md, decision=Decision.REJECT)
        # A fresh key: Prefect records the suspension and ends this process here (it raises `Pause`). A key
        # that already fired: the run was resumed, and this returns what was submitted for it.
        try:
            resp = suspend_flow_run(wait_for_input=form, key=req.pause_key, timeout=_backstop(gate))
        except Exception as exc:  # resumed without a readable input (e.g. a bare resume): ask again
            log.warning("approval round %s resumed without a decision: %s", req.pause_key, exc)
            note, req = "The run was resumed without a decision; asking again.", None
            continue
        verdict, nonce = _judge(gate, state, resp)
        state.used_nonces = sorted(gate.used_nonces)
        state.refused = gate.outcome.refused + (verdict.verdict == "refused")
        gate.outcome.refused = state.refused
        _save(run_id, state_key, state)  # the spent nonce is durable before anything else happens
        delete_input(run_id, f"paused-{req.pause_key}-response")
        nonce = nonce or peek_nonce(resp.approval_code)
        if nonce is not None:
            publish_verdict(run_id, nonce, verdict)
        if verdict.verdict == "refused":
            emit_refused(run_id, resp.approver, verdict.reason)
            log.warning("approval submission refused: %s", verdict.reason)
            note = f"Previous submission refused: {verdict.reason}"
        else:
            note = gate.progress()
        req = None
    clear_suspended(run_id)
    if gate.timed_out and settings.timeout_outcome is TimeoutOutcome.FAIL:
        raise ApprovalTimeout(f"approval {title!r} timed out after {timeout} s; nothing approved")
    return gate.outcome


def pending_elsewhere(actions: Sequence[Action], *, limit: int = 200) -> dict[str, str]:
    """Correlation id → flow run id, for actions already waiting in another run's approval request (by
    correlation id, or by the same write — content key — to the same targets). Reads at most `limit` runs."""
    own_id = current_run_id()
    if own_id is None:
        return {}
    own = str(own_id)
    try:
        waiting = list_pending(limit)
    except Exception as exc:  # best effort: without the look-up this run asks, as it always did
        log.warning("could not read other runs' pending approvals (%s); asking anyway", exc)
        return {}
    by_cid: dict[str, str] = {}
    by_content: dict[tuple[str, str], str] = {}
    for pending in waiting:
        if pending.flow_run_id == own:
            continue
        for item in pending.request.items:
            by_cid.setdefault(item.correlation_id, pending.flow_run_id)
            if item.content_key and item.targets_digest:
                by_content.setdefault((item.content_key, item.targets_digest), pending.flow_run_id)
    found: dict[str, str] = {}
    for a in actions:
        where = by_cid.get(a.correlation_id) or by_content.get(
            (content_key(a.kind, a.payload), targets_digest(a))
        )
        if where is not None:
            found[a.correlation_id] = where
    return found


def check_suspended(
    *,
    store: AuditStore,
    settings: GovernanceSettings | None = None,
    notify: Notifier | None = None,
    limit: int = 200,
) -> CheckReport:
    """Reminders and timeouts for suspended ws1ai approvals (the `approvals-check` flow calls this)."""
    from prefect.flow_runs import resume_flow_run

    settings = settings or GovernanceSettings()
    report = CheckReport()
    now = datetime.now(UTC)
    for pending in list_pending(limit):
        run_id, req = uuid.UUID(pending.flow_run_id), pending.request
        if req.wait != "suspend":
            continue  # a paused run keeps its own deadline in its own process
        report.checked += 1
        recorded = _load(run_id, _key(PLAN_KEY, req.step), RecordedPlan)
        if recorded is None:
            continue
        state = _load(run_id, _key(STATE_KEY, req.step), GateState) or GateState()
        entries = [GateEntry(p) for p in recorded.asked]
        gate = _gate_for(
            entries,
            recorded.title,
            store,
            settings,
            notify or log_notice,
            recorded.timeout,
            recorded.mode,
            state,
            flow_run_id=run_id,
        )
        if now < gate.deadline:
            sent = _load(run_id, REMINDERS_KEY, _Reminders) or _Reminders()
            due = [
                r
                for r in settings.reminder_before_seconds
                if 0 < r < recorded.timeout
                and now >= gate.deadline - timedelta(seconds=r)
                and r not in sent.sent
            ]
            if due and gate.pending():
                # Recorded before sending: a reminder is at most missed on a crash, never repeated.
                _save(run_id, REMINDERS_KEY, _Reminders(sent=sorted({*sent.sent, *due})))
                gate.notify("reminder")
                report.reminded.append(str(run_id))
            continue
        # Past the deadline: the outcome goes to the audit trail first, then the run is resumed to apply it.
        gate.timeout_recorded = _timeouts_recorded(store, gate)
        gate.declare_timeout()
        try:
            resume_flow_run(
                run_id,
                run_input={
                    "decision": "reject",
                    "approver": TIMEOUT_APPROVER,
                    "approval_code": "deadline passed",
                    "decisions": {},
                    "comment": "deadline passed (approvals-check)",
                },
                _sync=True,  # type: ignore[call-arg]  # see resume.submit_decision
            )
        except Exception as exc:  # recorded already; the next check resumes it
            log.warning("flow run %s: timeout recorded, resume failed (%s); next check retries", run_id, exc)
            continue
        report.timed_out.append(str(run_id))
    return report


class _Reminders(BaseModel):
    sent: list[int] = Field(default_factory=list)
