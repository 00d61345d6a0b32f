"""The approval deadline, kept by us and not by Prefect: reminders before it, the timeout decision at it.

Prefect's own pause timeout ends the run FAILED even when the flow catches it, so the gate never relies on
it. A `DeadlineWatcher` thread sends reminders (`settings.reminder_before_seconds`) while actions are still
pending, and at the deadline has the gate write the configured outcome to the audit trail *first*
(`ApprovalGate.declare_timeout`), then resumes the paused run itself with a one-time nonce that only this
process knows, so the pause loop can tell our resume from a human's (`is_own_resume`).
"""

from __future__ import annotations

import contextlib
import contextvars
import hmac
import secrets
import threading
import time

from ws1ai.governance.approval_forms import TIMEOUT_APPROVER, ApprovalInput
from ws1ai.governance.approval_gate import ApprovalGate

__all__ = ["DeadlineWatcher"]


class DeadlineWatcher:
    def __init__(self, gate: ApprovalGate) -> None:
        self.gate = gate
        self.nonce = secrets.token_urlsafe(24)
        # Set by the pause loop once it has seen the outcome (or left): the watcher stops resuming then.
        self.acknowledged = threading.Event()
        self.stop = threading.Event()
        # Run in a copy of the caller's context, so Prefect's flow-run context (and API settings) carry over.
        self.thread = threading.Thread(
            target=contextvars.copy_context().run,
            args=(self.run,),
            daemon=True,
            name="ws1ai-approval-watcher",
        )

    def start(self) -> None:
        self.thread.start()

    def finish(self) -> None:
        """The pause loop is done: stop reminding and resuming, and wait (bounded) for the thread."""
        self.acknowledged.set()
        self.stop.set()
        self.thread.join(timeout=10)

    def is_own_resume(self, resp: ApprovalInput) -> bool:
        """True for the resume this watcher sent at the deadline (constant-time check of the nonce)."""
        return resp.approver == TIMEOUT_APPROVER and hmac.compare_digest(
            resp.approval_code.encode(), self.nonce.encode()
        )

    def run(self) -> None:
        gate = self.gate
        reminders = sorted(
            gate.deadline_mono - r for r in gate.settings.reminder_before_seconds if 0 < r < gate.timeout
        )
        for at in reminders:
            if self.stop.wait(max(0.0, at - time.monotonic())):
                return
            if gate.pending():
                gate.notify("reminder")
        if self.stop.wait(max(0.0, gate.deadline_mono - time.monotonic())):
            return
        gate.declare_timeout()
        if not gate.timed_out:
            return
        from prefect.flow_runs import resume_flow_run

        # The main thread may be between pauses; keep trying until it has seen the timeout.
        while not self.acknowledged.is_set() and not self.stop.is_set():
            # Not paused right now, or a transient API error: try again.
            with contextlib.suppress(Exception):
                resume_flow_run(
                    gate.flow_run_id,
                    run_input={
                        "decision": "reject",
                        "approver": TIMEOUT_APPROVER,
                        "approval_code": self.nonce,
                        "decisions": {},
                        "comment": "deadline passed",
                    },
                )
            self.acknowledged.wait(1.0)
