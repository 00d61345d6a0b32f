"""The approval gate: Prefect `pause_flow_run(wait_for_input=ApprovalInput)` with verified approvers.

`request_approval(items, title=..., store=...)` is called from inside a flow run. It pauses the run with a
typed `RunInput` whose form the Prefect UI renders (and `ws1ai approvals approve` fills from a terminal),
with a markdown description: what will happen, to how many devices, why, and how to undo it.

* Every submission is verified (see `identity.py` for the trust model). An invalid one — bad token, unknown
  approver, unknown correlation id, or the same approver again on a two-person action — is refused,
  recorded as a `ws1ai.approval.refused` event, and the run pauses again with the reason in the description.
* Decisions are per batch, optionally overridden per action (`decisions: {correlation id or unique prefix:
  approve|reject}`). Any verified rejection rejects that action; a wipe needs two distinct approvers.
* **Timeouts never rely on Prefect's own pause timeout**, which ends the run FAILED even when caught. A
  watcher thread sends reminders before the deadline through `notify`, and at the deadline it writes the
  audit records for the configured outcome (default reject) *first*, then resumes the run itself with a
  one-time nonce only this process knows. The run then ends normally (or, with outcome `fail`, raises
  `ApprovalTimeout`). Prefect's pause timeout is set later than our deadline, as a backstop only.
* The token in the submitted form is deleted from Prefect's flow-run input as soon as it has been read.
"""

from __future__ import annotations

import contextlib
import contextvars
import hmac
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

from ws1ai.governance.actions import Action, RiskTier
from ws1ai.governance.approval_forms import (
    REQUEST_KEY,
    TIMEOUT_APPROVER,
    ApprovalInput,
    ApprovalNotice,
    ApprovalOutcome,
    ApprovalRequest,
    ApprovalTimeout,
    Decision,
    Notifier,
    RequestItem,
    delete_input,
    emit_refused,
    log_notice,
    markdown,
    save_request,
    undo_hint,
    where_to_approve,
)
from ws1ai.governance.audit import AuditRecord, AuditStatus, AuditStore, record_for
from ws1ai.governance.config import GovernanceSettings, TimeoutOutcome
from ws1ai.governance.identity import ApproverVerifier
from ws1ai.governance.policy import PlannedAction

__all__ = [
    "REQUEST_KEY",
    "ApprovalInput",
    "ApprovalOutcome",
    "ApprovalTimeout",
    "Decision",
    "request_approval",
]

log = logging.getLogger("ws1ai.governance.approval")


class _Entry:
    def __init__(self, item: PlannedAction | Action) -> None:
        if isinstance(item, PlannedAction):
            self.action, self.tier = item.action, item.tier
            self.required = max(item.approvers_required, 1)
        else:
            self.action, self.tier = item, item.tier()
            self.required = 2 if item.needs_two_approvers else 1
        self.approvals: list[str] = []
        self.decided: AuditStatus | None = None


class _Gate:
    def __init__(
        self,
        entries: list[_Entry],
        title: str,
        store: AuditStore,
        settings: GovernanceSettings,
        notify: Notifier | None,
        timeout: int,
        poll: int,
        mode: str | None,
    ) -> None:
        from prefect.context import FlowRunContext

        ctx = FlowRunContext.get()
        if ctx is None or ctx.flow_run is None:
            raise RuntimeError("request_approval must be called inside a flow run")
        self.flow_run_id = ctx.flow_run.id
        self.entries = {e.action.correlation_id: e for e in entries}
        self.title, self.store, self.settings, self.notify = title, store, settings, notify
        self.timeout, self.poll, self.mode = timeout, poll, mode
        self.verifier = ApproverVerifier(settings)
        self.deadline_mono = time.monotonic() + timeout
        self.deadline = datetime.now(UTC) + timedelta(seconds=timeout)
        self.nonce = secrets.token_urlsafe(24)
        self.lock = threading.Lock()
        self.timed_out = False
        self.acknowledged = threading.Event()
        self.stop = threading.Event()
        self.outcome = ApprovalOutcome()

    # -- state ---------------------------------------------------------------------------------------
    def pending(self) -> list[_Entry]:
        return [e for e in self.entries.values() if e.decided is None]

    def _decide(
        self,
        entry: _Entry,
        status: AuditStatus,
        approvers: list[str],
        comment: str | None,
        detail: str | None,
    ) -> AuditRecord:
        """Mark the entry decided and return its audit record (callers write a round's records at once)."""
        entry.decided = status
        cid = entry.action.correlation_id
        (self.outcome.approved if status is AuditStatus.APPROVED else self.outcome.rejected).append(
            entry.action
        )
        self.outcome.approvers[cid] = approvers
        return record_for(
            entry.action,
            status,
            tier=entry.tier,
            approvers=approvers,
            comment=comment or None,
            detail=detail,
            mode=self.mode,
        )

    # -- timeout -------------------------------------------------------------------------------------
    def declare_timeout(self) -> None:
        """Write the timeout decisions (audit first), then the run may be resumed or fail."""
        with self.lock:
            if self.timed_out or not self.pending():
                return
            self.timed_out = True
            waiting = self.pending()
            self.outcome.timed_out = True
            outcome = self.settings.timeout_outcome
            records: list[AuditRecord] = []
            for e in self.pending():
                got = f"{len(e.approvals)} of {e.required} approvals" + (
                    f" ({', '.join(e.approvals)})" if e.approvals else ""
                )
                silent_ok = (
                    outcome is TimeoutOutcome.APPROVE
                    and e.required == 1
                    and e.tier is not RiskTier.DESTRUCTIVE
                )
                if silent_ok:
                    decided = self._decide(
                        e,
                        AuditStatus.APPROVED,
                        [TIMEOUT_APPROVER],
                        None,
                        f"no objection within {self.timeout} s (timeout outcome: approve)",
                    )
                else:
                    decided = self._decide(
                        e,
                        AuditStatus.REJECTED,
                        list(e.approvals),
                        None,
                        f"timed out after {self.timeout} s with {got}; outcome: {outcome}",
                    )
                records.append(decided)
            # Written before the run is resumed (or fails): the audit trail never misses a timeout.
            self.store.write(records)
        self._notify("timed_out", waiting)

    def watch(self) -> None:
        reminders = sorted(
            self.deadline_mono - r for r in self.settings.reminder_before_seconds if 0 < r < self.timeout
        )
        for at in reminders:
            if self.stop.wait(max(0.0, at - time.monotonic())):
                return
            if self.pending():
                self._notify("reminder")
        if self.stop.wait(max(0.0, self.deadline_mono - time.monotonic())):
            return
        self.declare_timeout()
        if not self.timed_out:
            return
        from prefect.flow_runs import resume_flow_run

        # The main thread may be between pauses; keep trying until it has seen the timeout.
        while not self.acknowledged.is_set() and not self.stop.is_set():
            # Not paused right now, or a transient API error: try again.
            with contextlib.suppress(Exception):
                resume_flow_run(
                    self.flow_run_id,
                    run_input={
                        "decision": "reject",
                        "approver": TIMEOUT_APPROVER,
                        "token": self.nonce,
                        "decisions": {},
                        "comment": "deadline passed",
                    },
                )
            self.acknowledged.wait(1.0)

    # -- a submission --------------------------------------------------------------------------------
    def apply(self, resp: ApprovalInput) -> str | None:
        """Apply a verified submission; return the refusal reason for an invalid one."""
        who = self.verifier.verify(resp.approver, resp.token.get_secret_value())
        if who is None:
            return f"approver {resp.approver!r} could not be verified (unknown id or wrong token)"
        pending = {e.action.correlation_id: e for e in self.pending()}
        per_action: dict[str, Decision] = {}
        for key, d in resp.decisions.items():
            matches = [cid for cid in self.entries if cid == key or (len(key) >= 6 and cid.startswith(key))]
            if len(matches) != 1:
                return f"decision key {key!r} does not name exactly one action of this request"
            per_action[matches[0]] = d
        changed = False
        records: list[AuditRecord] = []
        for cid, e in pending.items():
            d = per_action.get(cid, resp.decision)
            if d is Decision.REJECT:
                records.append(
                    self._decide(e, AuditStatus.REJECTED, [who], resp.comment, f"rejected by {who}")
                )
                changed = True
            elif who not in e.approvals:
                e.approvals.append(who)
                changed = True
                if len(e.approvals) >= e.required:
                    records.append(
                        self._decide(e, AuditStatus.APPROVED, sorted(e.approvals), resp.comment, None)
                    )
        if records:
            self.store.write(records)
        if not changed:
            return f"{who} has already approved; a second, distinct approver is needed"
        return None

    # -- Prefect plumbing ----------------------------------------------------------------------------
    def describe(self, note: str) -> tuple[str, ApprovalRequest, str]:
        key = f"ws1ai-approval-{uuid.uuid4().hex[:12]}"
        items = [
            RequestItem(
                correlation_id=cid,
                summary=e.action.summary(),
                tier=e.tier,
                devices=len(e.action.targets),
                approvals_required=e.required,
                approvals=list(e.approvals),
                rationale=e.action.rationale,
                undo=undo_hint(e.action),
            )
            for cid, e in self.entries.items()
            if e.decided is None
        ]
        req = ApprovalRequest(
            flow_run_id=str(self.flow_run_id),
            title=self.title,
            pause_key=key,
            round=0,
            deadline=self.deadline,
            timeout_outcome=self.settings.timeout_outcome,
            items=items,
            note=note,
        )
        return key, req, markdown(req)

    def _notify(
        self, event: Literal["requested", "reminder", "timed_out"], pending: list[_Entry] | None = None
    ) -> None:
        pending = self.pending() if pending is None else pending
        notice = ApprovalNotice(
            event=event,
            flow_run_id=str(self.flow_run_id),
            title=self.title,
            deadline=self.deadline,
            pending=len(pending),
            devices=sum(len(e.action.targets) for e in pending),
            message=where_to_approve(str(self.flow_run_id)),
        )
        try:
            (self.notify or log_notice)(notice)
        except Exception:  # a broken notifier must not break the gate
            log.exception("approval notifier failed for %s", event)


def request_approval(
    items: Sequence[PlannedAction | Action],
    *,
    title: str,
    store: AuditStore,
    settings: GovernanceSettings | None = None,
    notify: Notifier | None = None,
    timeout_seconds: int | None = None,
    poll_interval: int | None = None,
    mode: str | None = None,
) -> ApprovalOutcome:
    """Pause this flow run until every item is approved or rejected (or the deadline passes)."""
    from prefect.exceptions import FlowPauseTimeout
    from prefect.flow_runs import pause_flow_run

    settings = settings or GovernanceSettings()
    entries = [_Entry(i) for i in items]
    if not entries:
        return ApprovalOutcome()
    if not ApproverVerifier(settings).configured:
        # Nobody could ever be verified, so waiting would only delay the same answer: reject now, loudly.
        detail = "no approver identities configured (WS1AI_GOVERNANCE_APPROVER_KEY / _SECRET_HASHES)"
        log.error("approval %r: %s; rejecting %d action(s)", title, detail, len(entries))
        store.write(
            [
                record_for(e.action, AuditStatus.REJECTED, tier=e.tier, detail=detail, mode=mode)
                for e in entries
            ]
        )
        return ApprovalOutcome(rejected=[e.action for e in entries])
    timeout = timeout_seconds or settings.approval_timeout_seconds
    poll = poll_interval or settings.approval_poll_seconds
    gate = _Gate(entries, title, store, settings, notify, timeout, poll, mode)
    watcher = threading.Thread(
        target=contextvars.copy_context().run, args=(gate.watch,), daemon=True, name="ws1ai-approval-watcher"
    )
    gate._notify("requested")
    watcher.start()
    note = ""
    round_no = 0
    try:
        while gate.pending() and not gate.timed_out:
            round_no += 1
            key, req, md = gate.describe(note)
            req.round = round_no
            save_request(gate.flow_run_id, req)
            form = ApprovalInput.with_initial_data(description=md, decision=Decision.REJECT)
            # Backstop only: our watcher decides at the deadline, well before Prefect's pause times out.
            backstop = int(max(gate.deadline_mono - time.monotonic(), 0)) + max(30, 3 * poll)
            try:
                resp = pause_flow_run(wait_for_input=form, timeout=backstop, poll_interval=poll, key=key)
            except FlowPauseTimeout:
                gate.declare_timeout()
                raise
            delete_input(gate.flow_run_id, f"paused-{key}-response")  # the token must not linger
            if resp.approver == TIMEOUT_APPROVER and hmac.compare_digest(
                resp.token.get_secret_value(), gate.nonce
            ):
                break
            with gate.lock:
                if gate.timed_out:
                    break  # a human answered after the deadline was declared: too late
                reason = gate.apply(resp)
            gate.outcome.refused += reason is not None
            note = f"Previous submission refused: {reason}" if reason else _progress(gate)
            if reason:
                emit_refused(gate.flow_run_id, resp.approver, reason)
                log.warning("approval submission refused: %s", reason)
    finally:
        gate.acknowledged.set()
        gate.stop.set()
        watcher.join(timeout=10)
        delete_input(gate.flow_run_id, REQUEST_KEY)
    if gate.timed_out and settings.timeout_outcome is TimeoutOutcome.FAIL:
        raise ApprovalTimeout(f"approval {title!r} timed out after {timeout} s; nothing approved")
    return gate.outcome


def _progress(gate: _Gate) -> str:
    waiting = [e for e in gate.pending() if e.approvals]
    if not waiting:
        return ""
    who = ", ".join(sorted({a for e in waiting for a in e.approvals}))
    return f"{len(waiting)} action(s) approved by {who}; waiting for a second, distinct approver."
