"""What the audit trail says was done to each target of an action, and what the same content did elsewhere.

`action_state` folds an action's records (oldest first) into one state per target:

* `done` — the write is applied (an attempt reported it, a read-back of the tenant found it, or an
  operator marked it so);
* `failed` — certainly not applied (refused before sending, rejected by the API, read back as absent);
* `unknown` — the write may or may not have happened (a lost response, a 5xx after sending, a timeout, or
  a `started` record with no result after it: the process died). Such a target is *in doubt* until the
  tenant is read back; it is never written again blindly unless its kind is safe to repeat.

Targets with no record were never attempted. The action's status follows: every target done →
`executed`; any in doubt → `in_doubt`; some done → `partially_executed`; none done → `failed`.

The **content key** (`audit_records.content_key`) identifies what an action writes without the run key (kind
and payload; compared per target), so
an action planned again under another run key — a caller may choose any — is recognised as a repeat of
the same write (`repeated_content`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ws1ai.governance.actions import Action
from ws1ai.governance.audit_records import AuditRecord, AuditStatus, TargetOutcome, content_key

__all__ = [
    "ActionState",
    "action_state",
    "by_correlation_id",
    "certainly_not_applied",
    "content_key",
    "outcome_of_error",
    "repeated_content",
    "restricted",
    "status_after",
]

DONE, FAILED, UNKNOWN = "done", "failed", "unknown"


@dataclass
class ActionState:
    """One action's per-target state from its audit records (see the module docstring)."""

    action: Action
    targets: dict[str, str] = field(default_factory=dict)  # target → done | failed | unknown
    why: dict[str, str] = field(default_factory=dict)  # target → the latest reason for its state
    rolled_back: bool = False
    first_done: AuditRecord | None = None  # the record that first reported a done target
    last_result: AuditRecord | None = None  # the latest record that carried a result
    last_activity: AuditRecord | None = None  # the latest attempt, result or read-back
    started_at: datetime | None = None  # when the latest unresolved attempt began

    @property
    def done(self) -> list[str]:
        return [t for t in self.action.targets if self.targets.get(t) == DONE]

    @property
    def unknown(self) -> list[str]:
        return [t for t in self.action.targets if self.targets.get(t) == UNKNOWN]

    @property
    def remaining(self) -> list[str]:
        """Targets whose write is not known to be done (never attempted, failed or in doubt)."""
        return [t for t in self.action.targets if self.targets.get(t) != DONE]

    @property
    def attempted(self) -> bool:
        return bool(self.targets)

    @property
    def fully_done(self) -> bool:
        return not self.remaining

    @property
    def status(self) -> AuditStatus | None:
        """The action's status from its targets (None: never attempted)."""
        if not self.attempted:
            return None
        return status_after(self.targets, self.action.targets)


def status_after(states: Mapping[str, str], targets: Sequence[str]) -> AuditStatus:
    values = [states.get(t) for t in targets]
    if all(v == DONE for v in values):
        return AuditStatus.EXECUTED
    if any(v == UNKNOWN for v in values):
        return AuditStatus.IN_DOUBT
    if any(v == DONE for v in values):
        return AuditStatus.PARTIAL
    return AuditStatus.FAILED


def certainly_not_applied(exc: BaseException) -> bool:
    """True when a failed write certainly did not change anything: it never left this process (`sent` is
    False on the UEM and connector errors), or the API refused it with a 4xx (not 408) or a 503 — answers
    given without acting. Anything else (timeout, lost response, other 5xx, an unknown exception) leaves
    the write's outcome unknown."""
    if getattr(exc, "sent", True) is False:
        return True
    status = getattr(exc, "status", None)
    return isinstance(status, int) and ((400 <= status < 500 and status != 408) or status == 503)


def outcome_of_error(exc: BaseException, targets: Sequence[str]) -> TargetOutcome:
    """Every target of a failed write: failed when certainly not applied, else unknown (in doubt)."""
    why = f"{type(exc).__name__}: {exc}"[:300]
    if certainly_not_applied(exc):
        return TargetOutcome(failed=dict.fromkeys(targets, why))
    return TargetOutcome(unknown=dict.fromkeys(targets, why))


def _apply(state: ActionState, outcome: TargetOutcome) -> None:
    # A done write stays done: later reads of "not applied" concern a retry, never an undo of it.
    for t in outcome.done:
        state.targets[t] = DONE
        state.why.pop(t, None)
    for t, why in outcome.failed.items():
        if state.targets.get(t) != DONE:
            state.targets[t], state.why[t] = FAILED, why
    for t, why in outcome.unknown.items():
        if state.targets.get(t) != DONE:
            state.targets[t], state.why[t] = UNKNOWN, why


# Records that say nothing about what was written (a skip's outcome lists targets left alone, not results).
_NO_RESULT = frozenset({AuditStatus.PLANNED, AuditStatus.APPROVED, AuditStatus.REJECTED, AuditStatus.SKIPPED})


def action_state(action: Action, records: Iterable[AuditRecord]) -> ActionState:
    """Fold `records` (any order; all of this action's correlation id) into per-target states."""
    state = ActionState(action)
    for r in sorted(records, key=lambda r: r.occurred):
        if r.status is AuditStatus.ROLLED_BACK:
            state.rolled_back = True
            continue
        if r.status in _NO_RESULT:
            continue
        if r.outcome is not None:
            _apply(state, r.outcome)
        elif r.status is AuditStatus.EXECUTED:  # a record without per-target detail: every target done
            _apply(state, TargetOutcome(done=action.targets))
        elif r.status is AuditStatus.STARTED:
            _apply(state, TargetOutcome(unknown=dict.fromkeys(action.targets, "started, no result recorded")))
        elif r.status is AuditStatus.FAILED:
            _apply(state, TargetOutcome(failed=dict.fromkeys(action.targets, r.detail or "failed")))
        else:
            continue
        state.last_activity = r
        if r.status is AuditStatus.STARTED:
            state.started_at = r.occurred
        else:
            state.last_result = r
        if state.first_done is None and any(v == DONE for v in state.targets.values()):
            state.first_done = r
    return state


def by_correlation_id(records: Iterable[AuditRecord]) -> dict[str, list[AuditRecord]]:
    out: dict[str, list[AuditRecord]] = {}
    for r in sorted(records, key=lambda r: r.occurred):
        out.setdefault(r.correlation_id, []).append(r)
    return out


def restricted(action: Action, targets: Sequence[str]) -> Action:
    """The same write on a subset of its targets (a retry of the remaining ones, a rollback of the done
    ones). Its own correlation id follows from the narrower target list."""
    if sorted(targets) == list(action.targets):
        return action
    data = action.model_dump(exclude={"correlation_id"})
    data["targets"] = tuple(targets)
    return Action.model_validate(data)


def repeated_content(
    action: Action, recent: Mapping[str, list[AuditRecord]], since: datetime
) -> dict[str, str]:
    """Targets of `action` whose same write (kind, payload, target) another action — under any run key — did,
    or may have done, since `since`; each with where. Rolled-back actions and rollbacks do not count."""
    key = content_key(action.kind, action.payload)
    found: dict[str, str] = {}
    for cid, records in recent.items():
        if cid == action.correlation_id or not records:
            continue
        other = records[-1].action
        # The key stored with the record was taken from the live action (the stored payload may be redacted).
        stored = next((r.content_key for r in records if r.content_key), None)
        if other.kind is not action.kind or other.inverse_of is not None:
            continue
        if (stored or content_key(other.kind, other.payload)) != key:
            continue
        state = action_state(other, records)
        stamp = state.last_activity
        if state.rolled_back or stamp is None or stamp.occurred < since:
            continue
        for t in action.targets:
            value = state.targets.get(t)
            if value in (DONE, UNKNOWN):
                where = f" in flow run {stamp.flow_run_id}" if stamp.flow_run_id else ""
                found[t] = (
                    f"the same {action.kind} was {'done' if value == DONE else 'possibly done (in doubt)'} "
                    f"by action {cid} (run key {other.run_key!r}){where} at "
                    f"{stamp.occurred.isoformat(timespec='seconds')}"
                )
    return found
