"""The approval gate: Prefect `pause_flow_run(wait_for_input=ApprovalInput)` with verified approvers.

`request_approval(items, title=..., store=...)` is called from inside a flow run. It pauses the run with a
typed `RunInput` whose form the Prefect UI renders (and `ws1ai approvals approve` fills from a terminal),
with a markdown description: what will happen, to how many devices, why, and how to undo it.

* Every submission is a signed approval code bound to this run, this round, the pending actions and the
  decision, usable once (see `identity.py` for the trust model, `approval_code.py` for the format). An
  invalid one — bad signature, unknown approver, another run/round/action set/decision, expired, already
  used, or the same approver again on a two-person action — is refused, recorded as a
  `ws1ai.approval.refused` event, and the run pauses again (with a fresh round key) with the reason shown.
* The gate's verdict on each code is published as flow-run input `ws1ai-verdict-<nonce>` (verdict and
  reason only), so `ws1ai approvals approve` can tell its user what the flow made of the submission.
* Decisions are per batch, optionally overridden per action (`decisions: {correlation id or unique prefix:
  approve|reject}`). Any verified rejection rejects that action; a wipe needs two distinct approvers.
* **Timeouts never rely on Prefect's own pause timeout**, which ends the run FAILED even when caught. A
  watcher thread sends reminders before the deadline through `notify`, and at the deadline it writes the
  audit records for the configured outcome (default reject) *first*, then resumes the run itself with a
  one-time nonce only this process knows. The run then ends normally (or, with outcome `fail`, raises
  `ApprovalTimeout`). Prefect's pause timeout is set later than our deadline, as a backstop only.
* The submitted form is deleted from Prefect's flow-run input as soon as it has been read (tidiness, not
  secrecy: a code read off the API in the meantime is worth nothing for anything else).

With `WS1AI_GOVERNANCE_APPROVAL_WAIT=suspend` no process waits at all: `approval_suspend.py` suspends the run
per round and verifies the submission on the resumed run with the same gate; reminders and the deadline are
kept by the `approvals-check` flow.

This module is the pause loop. The decisions live in `approval_gate.py` (`ApprovalGate`), the deadline in
`approval_deadline.py` (`DeadlineWatcher`), the form, request and notices in `approval_forms.py`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from ws1ai.governance.actions import Action
from ws1ai.governance.approval_deadline import DeadlineWatcher
from ws1ai.governance.approval_forms import (
    REQUEST_KEY,
    ApprovalInput,
    ApprovalOutcome,
    ApprovalTimeout,
    ApprovalVerdict,
    Decision,
    Notifier,
    delete_input,
    emit_refused,
    publish_verdict,
    save_request,
)
from ws1ai.governance.approval_gate import ApprovalGate, GateEntry, peek_nonce
from ws1ai.governance.approval_suspend import can_suspend, request_approval_suspended
from ws1ai.governance.audit import AuditStatus, AuditStore, record_for
from ws1ai.governance.config import GovernanceSettings, TimeoutOutcome
from ws1ai.governance.identity import ApproverVerifier
from ws1ai.governance.planning import PlannedAction

__all__ = [
    "REQUEST_KEY",
    "ApprovalInput",
    "ApprovalOutcome",
    "ApprovalTimeout",
    "Decision",
    "request_approval",
]

log = logging.getLogger("ws1ai.governance.approval")


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
    entries = [GateEntry(i) for i in items]
    if not entries:
        return ApprovalOutcome()
    if not ApproverVerifier(settings).configured:
        # Nobody could ever be verified, so waiting would only delay the same answer: reject now, loudly.
        detail = "no approver identities configured (WS1AI_GOVERNANCE_APPROVER_KEY / _APPROVER_PUBLIC_KEYS)"
        log.error("approval %r: %s; rejecting %d action(s)", title, detail, len(entries))
        store.write(
            [
                record_for(e.action, AuditStatus.REJECTED, tier=e.tier, detail=detail, mode=mode)
                for e in entries
            ]
        )
        return ApprovalOutcome(rejected=[e.action for e in entries])
    timeout = timeout_seconds or settings.approval_timeout_seconds
    if can_suspend(settings):
        # No process waits: the run suspends per round and resumes from its recorded state.
        return request_approval_suspended(
            entries, title=title, store=store, settings=settings, notify=notify, timeout=timeout, mode=mode
        )
    poll = poll_interval or settings.approval_poll_seconds
    gate = ApprovalGate(entries, title, store, settings, notify, timeout, mode)
    watcher = DeadlineWatcher(gate)
    gate.notify("requested")
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
            delete_input(gate.flow_run_id, f"paused-{key}-response")
            if watcher.is_own_resume(resp):
                break
            with gate.lock:
                late = gate.timed_out  # a human answered after the deadline was declared: too late
                if late:
                    verdict = ApprovalVerdict(verdict="refused", reason="the approval deadline had passed")
                    nonce = peek_nonce(resp.approval_code)
                else:
                    verdict, nonce = gate.apply(resp)
            if nonce is not None:
                publish_verdict(gate.flow_run_id, nonce, verdict)
            if late:
                break
            refused = verdict.verdict == "refused"
            gate.outcome.refused += refused
            note = f"Previous submission refused: {verdict.reason}" if refused else gate.progress()
            if refused:
                emit_refused(gate.flow_run_id, resp.approver, verdict.reason)
                log.warning("approval submission refused: %s", verdict.reason)
    finally:
        watcher.finish()
        delete_input(gate.flow_run_id, REQUEST_KEY)
    if gate.timed_out and settings.timeout_outcome is TimeoutOutcome.FAIL:
        raise ApprovalTimeout(f"approval {title!r} timed out after {timeout} s; nothing approved")
    return gate.outcome
