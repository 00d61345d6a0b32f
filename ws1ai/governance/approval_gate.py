"""The state of one approval request: which actions wait, who approved what, and the decisions it records.

`ApprovalGate` is what `approval.request_approval` (the pause loop) and `approval_deadline.DeadlineWatcher`
(reminders and the timeout) share. It decides; it never pauses or resumes the run itself. Every decision is
written to the audit store the moment it is made, a round's records in one write.

Both threads change it, so everything that decides (`apply`, `declare_timeout`) runs under `lock`: a human
answer that arrives after the deadline was declared is too late, never a second decision.

A submission counts only with an approval code (approval_code.py) that `identity.ApproverVerifier`
authenticates and that is bound to this run, this round's pause key, what is pending and what the form says,
unexpired and never seen before (`used_nonces`): a code read off the Prefect API is worth nothing elsewhere.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import ValidationError

from ws1ai.governance.actions import Action, RiskTier
from ws1ai.governance.approval_code import CodePayload, MalformedCode, decision_digest, split_code
from ws1ai.governance.approval_forms import (
    TIMEOUT_APPROVER,
    ApprovalInput,
    ApprovalNotice,
    ApprovalOutcome,
    ApprovalRequest,
    ApprovalVerdict,
    Decision,
    Notifier,
    RequestItem,
    count_targets,
    log_notice,
    markdown,
    undo_hint,
    where_to_approve,
)
from ws1ai.governance.audit import AuditRecord, AuditStatus, AuditStore, record_for
from ws1ai.governance.audit_records import content_key
from ws1ai.governance.config import GovernanceSettings, TimeoutOutcome
from ws1ai.governance.identity import ApproverVerifier, CodeRefused, normalise_approver
from ws1ai.governance.planning import PlannedAction

__all__ = ["ApprovalGate", "GateEntry", "peek_nonce", "targets_digest"]

# The gate's log lines are the approval's: one logger name for the whole approval mechanism.
log = logging.getLogger("ws1ai.governance.approval")

NoticeEvent = Literal["requested", "reminder", "timed_out"]


def peek_nonce(code: str) -> str | None:
    """The nonce a code claims, unverified: only to name the verdict its sender may be waiting for."""
    try:
        return split_code(code)[0].nonce
    except (MalformedCode, ValidationError):
        return None


def targets_digest(action: Action) -> str:
    """Who an action writes to, as a short hash (its targets are sorted and deduplicated already)."""
    blob = "\n".join([action.target_type, *action.targets])
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _refused(reason: str) -> ApprovalVerdict:
    return ApprovalVerdict(verdict="refused", reason=reason)


class GateEntry:
    """One action waiting at the gate: how many verified approvers it needs and who has approved so far."""

    def __init__(self, item: PlannedAction | Action) -> None:
        if isinstance(item, PlannedAction):
            self.action, self.tier = item.action, item.tier
            self.required = max(item.approvers_required, 1)
        else:
            self.action, self.tier = item, item.tier()
            self.required = 2 if item.needs_two_approvers else 1
        self.approvals: list[str] = []
        self.decided: AuditStatus | None = None


class ApprovalGate:
    def __init__(
        self,
        entries: list[GateEntry],
        title: str,
        store: AuditStore,
        settings: GovernanceSettings,
        notifier: Notifier | None,
        timeout: int,
        mode: str | None,
        flow_run_id: uuid.UUID | None = None,
    ) -> None:
        from prefect.context import FlowRunContext

        if flow_run_id is None:
            ctx = FlowRunContext.get()
            if ctx is None or ctx.flow_run is None:
                raise RuntimeError("request_approval must be called inside a flow run")
            flow_run_id = ctx.flow_run.id
        # Usually this run; the `approvals-check` flow decides a suspended run's timeout on its behalf.
        self.flow_run_id = flow_run_id
        self.entries = {e.action.correlation_id: e for e in entries}
        self.title, self.store, self.settings, self.notifier = title, store, settings, notifier
        self.timeout, self.mode = timeout, mode
        self.verifier = ApproverVerifier(settings)
        # Monotonic for waiting (immune to clock changes), wall clock for what people read.
        self.deadline_mono = time.monotonic() + timeout
        self.deadline = datetime.now(UTC) + timedelta(seconds=timeout)
        self.lock = threading.Lock()
        self.timed_out = False
        self.outcome = ApprovalOutcome()
        self.round_key = ""  # the pause key of the round being asked (set by `describe`)
        self.used_nonces: set[str] = set()
        # A resumed (suspended) run re-derives earlier rounds from their signed submissions: checked again,
        # but not spent again, not expired by age and not written to the audit trail twice.
        self.replaying = False
        # Correlation ids whose timeout decision is already in the audit trail (written by `approvals-check`).
        self.timeout_recorded: set[str] = set()

    def pending(self) -> list[GateEntry]:
        return [e for e in self.entries.values() if e.decided is None]

    def _decide(
        self,
        entry: GateEntry,
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
                # Silence may approve only what one person could have approved alone, and never a
                # destructive action: the two-person rule and the destructive tier cannot time out into "yes".
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
            # Stamped with the run whose approval timed out, also when `approvals-check` decides for it.
            records = [
                r.model_copy(update={"flow_run_id": str(self.flow_run_id)})
                for r in records
                if r.action.correlation_id not in self.timeout_recorded
            ]
            # Written before the run is resumed (or fails): the audit trail never misses a timeout.
            if records:
                self.store.write(records)
        self.notify("timed_out", waiting)

    def apply(self, resp: ApprovalInput) -> tuple[ApprovalVerdict, str | None]:
        """Check a submission and apply it if valid. Returns the verdict, and the nonce that names it (None
        for text that is not a code at all). Call under `lock`."""
        try:
            payload = self.verifier.authenticate(resp.approval_code)
        except CodeRefused as exc:
            return _refused(str(exc)), peek_nonce(resp.approval_code)
        reason = self._check_binding(payload, resp)
        if reason is not None:
            return _refused(reason), payload.nonce
        who = payload.approver
        per_action: dict[str, Decision] = {}
        for key, d in resp.decisions.items():
            matches = [cid for cid in self.entries if cid == key or (len(key) >= 6 and cid.startswith(key))]
            if len(matches) != 1:
                return _refused(f"decision key {key!r} does not name exactly one action of this request"), (
                    payload.nonce
                )
            per_action[matches[0]] = d
        approved: list[str] = []
        rejected: list[str] = []
        counted: list[str] = []
        records: list[AuditRecord] = []
        for cid, e in {e.action.correlation_id: e for e in self.pending()}.items():
            d = per_action.get(cid, resp.decision)
            if d is Decision.REJECT:
                records.append(
                    self._decide(e, AuditStatus.REJECTED, [who], resp.comment, f"rejected by {who}")
                )
                rejected.append(cid)
            elif who not in e.approvals:
                e.approvals.append(who)
                if len(e.approvals) >= e.required:
                    records.append(
                        self._decide(e, AuditStatus.APPROVED, sorted(e.approvals), resp.comment, None)
                    )
                    approved.append(cid)
                else:
                    counted.append(cid)
        if records and not self.replaying:
            self.store.write(records)
        if not (approved or rejected or counted):
            again = f"{who} has already approved; a second, distinct approver is needed"
            return _refused(again), payload.nonce
        said = [
            f"{verb} {len(ids)} action(s)"
            for verb, ids in (("approved", approved), ("rejected", rejected))
            if ids
        ]
        if counted:
            said.append(
                f"counted {who}'s approval of {len(counted)} action(s) that still need a second, distinct "
                "approver"
            )
        return ApprovalVerdict(verdict="accepted", reason=f"{who}: " + "; ".join(said)), payload.nonce

    def _check_binding(self, payload: CodePayload, resp: ApprovalInput) -> str | None:
        """Why an authentic code does not count here, or None: it must be for this run and this round, fresh,
        unused, from the approver the form names, and over what is pending and what the form decides."""
        if payload.run != str(self.flow_run_id):
            return "approval code was made for another flow run"
        if payload.nonce in self.used_nonces and not self.replaying:
            return "approval code was already used"
        self.used_nonces.add(payload.nonce)  # authentic and presented here: it is spent, whatever follows
        if payload.key != self.round_key:
            return "approval code was made for an earlier round of this request; make a new one"
        if payload.exp < time.time() and not self.replaying:
            expired = datetime.fromtimestamp(payload.exp, UTC).isoformat(timespec="seconds")
            return f"approval code expired at {expired}; make a new one"
        if normalise_approver(resp.approver) != payload.approver:
            return f"the form names approver {resp.approver!r}, the code was signed by {payload.approver!r}"
        pending = [e.action.correlation_id for e in self.pending()]
        decisions = {k: v.value for k, v in resp.decisions.items()}
        if decision_digest(pending, resp.decision.value, decisions) == payload.digest:
            return None
        other = Decision.REJECT if resp.decision is Decision.APPROVE else Decision.APPROVE
        if decision_digest(pending, other.value, decisions) == payload.digest:
            return f"the code was signed for {other} but the form says {resp.decision}"
        return (
            "approval code does not match this request: it was signed for other actions or other "
            "per-action decisions than the form shows"
        )

    def progress(self) -> str:
        """The note shown with the next round when a submission counted but did not decide everything."""
        waiting = [e for e in self.pending() if e.approvals]
        if not waiting:
            return ""
        who = ", ".join(sorted({a for e in waiting for a in e.approvals}))
        return f"{len(waiting)} action(s) approved by {who}; waiting for a second, distinct approver."

    def describe(self, note: str) -> tuple[str, ApprovalRequest, str]:
        """A fresh pause key, the request (what is still undecided) and its markdown for the form."""
        key = f"ws1ai-approval-{uuid.uuid4().hex[:12]}"
        self.round_key = key
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
                content_key=content_key(e.action.kind, e.action.payload),
                targets_digest=targets_digest(e.action),
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
            targets=count_targets(e.action for e in self.pending()),
            note=note,
        )
        return key, req, markdown(req)

    def notify(self, event: NoticeEvent, pending: list[GateEntry] | None = None) -> None:
        pending = self.pending() if pending is None else pending
        notice = ApprovalNotice(
            event=event,
            flow_run_id=str(self.flow_run_id),
            title=self.title,
            deadline=self.deadline,
            pending=len(pending),
            devices=count_targets(e.action for e in pending).get("device", 0),
            message=where_to_approve(str(self.flow_run_id)),
        )
        try:
            (self.notifier or log_notice)(notice)
        except Exception:  # a broken notifier must not break the gate
            log.exception("approval notifier failed for %s", event)
