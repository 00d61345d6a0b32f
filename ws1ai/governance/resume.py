"""Resume helpers for people at a terminal: Prefect has no `flow-run resume` CLI, so ws1ai provides one.

`list_pending()` finds PAUSED runs whose gate saved an `ApprovalRequest` for the *current* pause.
`approval_code_for()` signs a decision for that request on this machine (the credential never leaves it),
`submit_decision()` resumes the run with it through the same API the UI uses
(`POST /flow_runs/{id}/resume` with the form's input), and `wait_for_verdict()` reads back what the gate
made of it. Verification happens in the paused flow, not here: a refused code is reported, and the run
pauses again.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from uuid import UUID

from pydantic import BaseModel, ValidationError

from ws1ai.governance.approval_code import CodePayload, HmacSigner, Signer, make_code
from ws1ai.governance.approval_forms import (
    REQUEST_KEY,
    ApprovalRequest,
    ApprovalVerdict,
    Decision,
    delete_input,
    verdict_key,
)

__all__ = [
    "NotWaiting",
    "PendingApproval",
    "approval_code_for",
    "current_request",
    "list_pending",
    "submit_decision",
    "wait_for_pending",
    "wait_for_verdict",
]


class NotWaiting(LookupError):
    """The run is not paused for a ws1ai approval right now."""


class PendingApproval(BaseModel):
    flow_run_id: str
    flow_run_name: str
    request: ApprovalRequest


def list_pending(limit: int = 200) -> list[PendingApproval]:
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType

    out: list[PendingApproval] = []
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
            ),
            limit=limit,
        )
        for run in runs:
            inputs = client.filter_flow_run_input(run.id, key_prefix=REQUEST_KEY, limit=1, exclude_keys=set())
            if not inputs:
                continue
            try:
                req = ApprovalRequest.model_validate_json(inputs[0].value)
            except ValidationError:
                # Anyone who reaches the Prefect API can write run inputs: a malformed one is no request, and
                # must not break the list for everyone else.
                continue
            # A request left from an earlier pause of the same run is stale: only the current one counts.
            if run.state is None or run.state.state_details.pause_key != req.pause_key:
                continue
            out.append(PendingApproval(flow_run_id=str(run.id), flow_run_name=run.name, request=req))
    return out


def wait_for_pending(
    *, title: str | None = None, after_round: int = 0, timeout: float = 60.0, interval: float = 0.3
) -> PendingApproval:
    """Block until a matching request (newer than `after_round`) is waiting; for scripts and tests."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pending = list_pending()
        except Exception:  # a busy server (SQLite "database is locked" → 5xx) is worth another look
            pending = []
        for p in pending:
            if (title is None or p.request.title == title) and p.request.round > after_round:
                return p
        time.sleep(interval)
    raise TimeoutError(f"no pending ws1ai approval {title or ''} after round {after_round}")


def current_request(flow_run_id: str | UUID, *, wait: float = 10.0) -> ApprovalRequest:
    """The request the run is paused on now (its round key and pending ids are what a code must sign).

    A run between two rounds (it has just read a submission and is about to pause again) is waited for, up
    to `wait` seconds; a run that is not waiting for approval at all raises `NotWaiting` at once."""
    from prefect import get_client

    run_id = UUID(str(flow_run_id))
    deadline = time.monotonic() + wait
    while True:
        with get_client(sync_client=True) as client:
            run = client.read_flow_run(run_id)
            inputs = client.filter_flow_run_input(run_id, key_prefix=REQUEST_KEY, limit=1, exclude_keys=set())
        state = run.state
        if not inputs or state is None or state.is_final():
            raise NotWaiting(f"flow run {run_id} is not waiting for a ws1ai approval")
        req = ApprovalRequest.model_validate_json(inputs[0].value)
        if state.is_paused() and state.state_details.pause_key == req.pause_key:
            return req
        if time.monotonic() >= deadline:
            raise NotWaiting(f"flow run {run_id} did not ask again within {wait:.0f} s; try again later")
        time.sleep(0.3)


def approval_code_for(
    request: ApprovalRequest,
    *,
    approver: str,
    signer: Signer,
    decision: Decision,
    decisions: Mapping[str, Decision] | None = None,
    ttl_seconds: int | None = None,
) -> tuple[str, CodePayload]:
    """Sign `decision` (with per-action `decisions`) for the request's current round."""
    extra = {} if ttl_seconds is None else {"ttl_seconds": ttl_seconds}
    return make_code(
        signer,
        run=request.flow_run_id,
        key=request.pause_key,
        approver=approver,
        pending=[i.correlation_id for i in request.items],
        decision=decision.value,
        decisions={k: v.value for k, v in (decisions or {}).items()},
        **extra,
    )


def submit_decision(
    flow_run_id: str | UUID,
    *,
    approver: str,
    credential: str | Signer,
    decision: Decision,
    decisions: dict[str, Decision] | None = None,
    comment: str = "",
    request: ApprovalRequest | None = None,
) -> str:
    """Sign a decision for the run's current round and resume the run with it; returns the code's nonce (for
    `wait_for_verdict`). `credential` is a derived token or a signer (e.g. `Ed25519Signer`). Raises
    `NotWaiting` if the run is not paused for approval, RuntimeError if Prefect refuses the input."""
    from prefect.flow_runs import resume_flow_run

    signer = HmacSigner(credential) if isinstance(credential, str) else credential
    req = request or current_request(flow_run_id)
    code, payload = approval_code_for(
        req, approver=approver, signer=signer, decision=decision, decisions=decisions
    )
    resume_flow_run(
        UUID(str(flow_run_id)),
        run_input={
            "decision": decision.value,
            "approver": approver,
            "approval_code": code,
            "decisions": {k: v.value for k, v in (decisions or {}).items()},
            "comment": comment,
        },
        # Always the sync path: called from a thread with a running event loop (e.g. Playwright's sync API),
        # Prefect would otherwise hand back an un-awaited coroutine and the decision would silently vanish.
        _sync=True,  # type: ignore[call-arg]  # accepted by prefect's async_dispatch wrapper, not typed
    )
    return payload.nonce


def wait_for_verdict(
    flow_run_id: str | UUID, nonce: str, *, timeout: float = 30.0, interval: float = 0.3
) -> ApprovalVerdict:
    """The gate's verdict on the code with `nonce` (read once, then removed); TimeoutError if none came."""
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError

    run_id = UUID(str(flow_run_id))
    deadline = time.monotonic() + timeout
    while True:
        try:
            with get_client(sync_client=True) as client:
                value = client.read_flow_run_input(run_id, verdict_key(nonce))
            break
        except (ObjectNotFound, PrefectHTTPStatusError):
            pass  # not there yet (a bare 404), or a busy server: both are worth another look
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"flow run {run_id} gave no verdict within {timeout:.0f} s (is its flow process running?)"
            )
        time.sleep(interval)
    delete_input(run_id, verdict_key(nonce))
    return ApprovalVerdict.model_validate_json(value)
