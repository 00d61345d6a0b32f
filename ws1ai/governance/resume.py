"""Resume helpers for people at a terminal: Prefect has no `flow-run resume` CLI, so ws1ai provides one.

`list_pending()` finds PAUSED runs whose gate saved an `ApprovalRequest` for the *current* pause, and
`submit_decision()` resumes one through the same API the UI uses (`POST /flow_runs/{id}/resume` with the
form's input). Verification happens in the paused flow, not here: a wrong token is refused there, and the
run pauses again.
"""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel

from ws1ai.governance.approval_forms import REQUEST_KEY, ApprovalRequest, Decision

__all__ = ["PendingApproval", "list_pending", "submit_decision", "wait_for_pending"]


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
            req = ApprovalRequest.model_validate_json(inputs[0].value)
            # A request left from an earlier pause of the same run is stale: only the current one counts.
            if run.state is None or run.state.state_details.pause_key != req.pause_key:
                continue
            out.append(PendingApproval(flow_run_id=str(run.id), flow_run_name=run.name, request=req))
    return out


def wait_for_pending(
    *, title: str | None = None, after_round: int = 0, timeout: float = 60.0, interval: float = 0.3
) -> PendingApproval:
    """Block until a matching request (newer than `after_round`) is waiting; for scripts and tests."""
    import time

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


def submit_decision(
    flow_run_id: str | UUID,
    *,
    approver: str,
    token: str,
    decision: Decision,
    decisions: dict[str, Decision] | None = None,
    comment: str = "",
) -> None:
    """Resume the paused run with a decision. Raises if the run is not paused or the input is malformed."""
    from prefect.flow_runs import resume_flow_run

    resume_flow_run(
        UUID(str(flow_run_id)),
        run_input={
            "decision": decision.value,
            "approver": approver,
            "token": token,
            "decisions": {k: v.value for k, v in (decisions or {}).items()},
            "comment": comment,
        },
        # Always the sync path: called from a thread with a running event loop (e.g. Playwright's sync API),
        # Prefect would otherwise hand back an un-awaited coroutine and the decision would silently vanish.
        _sync=True,  # type: ignore[call-arg]  # accepted by prefect's async_dispatch wrapper, not typed
    )
