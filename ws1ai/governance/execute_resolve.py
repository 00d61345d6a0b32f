"""What an operator does with an action in doubt: list them, then settle each one.

An action is *in doubt* while some target's write may or may not have been applied (a lost response, a 5xx
after sending, a crash between `started` and its result) and no read-back has settled it. Governance never
repeats such a write blindly (unless its kind is safe to repeat), so it waits for one of:

* `resolve(..., how="verify")` — read the targets back from the tenant (the executor's `verify`) and record
  what was found: done targets are never written again, targets found not applied are retried by the next
  run, targets the tenant cannot tell about stay in doubt;
* `how="done"` / `how="not_done"` — an operator who checked by other means records the answer, with who and
  why (the reason is required). Marked not done, the next run writes it again.

`ws1ai audit in-doubt` and `ws1ai audit resolve` are the commands over these functions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from ws1ai.governance.audit_records import AuditStatus, AuditStore, TargetOutcome, record_for
from ws1ai.governance.execute import Verifier, verify_action
from ws1ai.governance.execute_state import action_state, by_correlation_id, status_after

__all__ = ["InDoubt", "Resolution", "list_in_doubt", "resolve"]


class InDoubt(BaseModel):
    correlation_id: str
    kind: str
    summary: str
    targets: int
    in_doubt_targets: list[str]
    done_targets: int
    run_key: str
    flow_run_id: str | None
    since: datetime  # when the attempt whose outcome is unknown began (or last reported)
    why: str


class Resolution(BaseModel):
    correlation_id: str
    status: str  # the action's status after resolving
    done: list[str]
    not_done: list[str]
    still_in_doubt: list[str]
    detail: str


def list_in_doubt(store: AuditStore, *, since: datetime | None = None) -> list[InDoubt]:
    """Every action with a target in doubt (oldest first)."""
    out: list[InDoubt] = []
    for cid, records in by_correlation_id(store.read(since=since)).items():
        state = action_state(records[-1].action, records)
        if not state.unknown or state.rolled_back:
            continue
        last = state.last_activity or records[-1]
        out.append(
            InDoubt(
                correlation_id=cid,
                kind=state.action.kind.value,
                summary=state.action.summary(),
                targets=len(state.action.targets),
                in_doubt_targets=state.unknown,
                done_targets=len(state.done),
                run_key=state.action.run_key,
                flow_run_id=next((r.flow_run_id for r in reversed(records) if r.flow_run_id), None),
                since=state.started_at or last.occurred,
                why=state.why.get(state.unknown[0], ""),
            )
        )
    return sorted(out, key=lambda d: d.since)


def resolve(
    correlation_id: str,
    *,
    store: AuditStore,
    how: Literal["verify", "done", "not_done"],
    verifier: Verifier | None = None,
    by: str | None = None,
    reason: str | None = None,
) -> Resolution:
    """Settle an in-doubt action (see the module docstring). Raises LookupError/ValueError on bad input."""
    records = by_correlation_id(store.read(correlation_ids={correlation_id})).get(correlation_id)
    if not records:
        raise LookupError(f"no action {correlation_id} in the audit trail")
    state = action_state(records[-1].action, records)
    doubtful = state.unknown
    if not doubtful:
        status = state.status.value if state.status else "not attempted"
        raise ValueError(f"action {correlation_id} is not in doubt (it is {status})")
    if how == "verify":
        if verifier is None:
            raise ValueError("no read-back is available (the executor has no `verify`)")
        state = verify_action(state.action, state, verifier, store=store, records=records)
        detail = "verified against the tenant"
    else:
        if not reason or not by:
            raise ValueError("a mark needs who (--by) and why (--reason)")
        verdict = "done" if how == "done" else "not done"
        detail = f"marked {verdict} by {by}: {reason}"
        why = f"marked not done by {by}"
        outcome = (
            TargetOutcome(done=tuple(doubtful))
            if how == "done"
            else TargetOutcome(failed=dict.fromkeys(doubtful, why))
        )
        states = {**state.targets, **dict.fromkeys(doubtful, "done" if how == "done" else "failed")}
        record = record_for(
            state.action,
            status_after(states, state.action.targets),
            outcome=outcome,
            detail=detail,
            comment=reason,
        )
        store.write([record])
        state = action_state(state.action, [*records, record])
    return Resolution(
        correlation_id=correlation_id,
        status=(state.status or AuditStatus.IN_DOUBT).value,
        done=[t for t in doubtful if state.targets.get(t) == "done"],
        not_done=[t for t in doubtful if state.targets.get(t) == "failed"],
        still_in_doubt=[t for t in doubtful if state.targets.get(t) == "unknown"],
        detail=detail,
    )
