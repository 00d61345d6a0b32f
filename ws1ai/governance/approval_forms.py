"""The approval form and request: `ApprovalInput` (the typed RunInput the UI renders), the saved
`ApprovalRequest` that `ws1ai approvals list` reads, the `ApprovalVerdict` the gate publishes for each signed
submission, the markdown description, and flow-run-input plumbing."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from enum import StrEnum
from typing import Literal

from prefect.input import RunInput
from pydantic import BaseModel, Field

from ws1ai.governance.actions import Action, RiskTier
from ws1ai.governance.config import TimeoutOutcome

__all__ = [
    "REQUEST_KEY",
    "TIMEOUT_APPROVER",
    "ApprovalInput",
    "ApprovalNotice",
    "ApprovalOutcome",
    "ApprovalRequest",
    "ApprovalTimeout",
    "ApprovalVerdict",
    "Decision",
    "Notifier",
    "RequestItem",
    "count_targets",
    "delete_input",
    "describe_targets",
    "emit_refused",
    "log_notice",
    "markdown",
    "publish_verdict",
    "save_request",
    "undo_hint",
    "verdict_key",
    "where_to_approve",
]

log = logging.getLogger("ws1ai.governance.approval")

REQUEST_KEY = "ws1ai-approval-request"  # flow-run input that marks a run as waiting for ws1ai approval
TIMEOUT_APPROVER = "ws1ai:timeout"
VERDICT_KEY_PREFIX = "ws1ai-verdict-"


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class ApprovalInput(RunInput):
    """The form. Defaults to reject, so a careless submit never approves anything.

    `approval_code` is signed on the approver's machine over this run, this round, the pending actions,
    `decision` and `decisions` (see approval_code.py): the fields here must say what the code says."""

    decision: Decision = Field(Decision.REJECT, description="decision for the whole batch")
    approver: str = Field("", description="your approver id")
    approval_code: str = Field(
        description="the one line printed by `ws1ai approvals code <run> --approver <id> --decision <d>`"
    )
    decisions: dict[str, Decision] = Field(
        default_factory=dict,
        description="optional per action: correlation id (or unique prefix) → approve/reject",
    )
    comment: str = Field("", description="why (recorded in the audit trail)")


class ApprovalTimeout(RuntimeError):
    """Raised when the deadline passes and the configured outcome is `fail` (audited before raising)."""


class ApprovalVerdict(BaseModel):
    """What the gate made of one signed submission, published as flow-run input `verdict_key(nonce)` so the
    approver's CLI can report it. Holds no secret: the nonce names it, and the reason is what `list` shows."""

    verdict: Literal["accepted", "refused"]
    reason: str


def verdict_key(nonce: str) -> str:
    return VERDICT_KEY_PREFIX + nonce


class RequestItem(BaseModel):
    correlation_id: str
    summary: str
    tier: RiskTier
    devices: int
    approvals_required: int
    approvals: list[str] = Field(default_factory=list)
    rationale: str = ""
    undo: str = ""
    # What the action writes and to whom, without its run key: another run planning the same write to the same
    # targets under another run key finds it pending here and does not ask again (approval_suspend.py).
    content_key: str = ""
    targets_digest: str = ""


class ApprovalRequest(BaseModel):
    """Saved as flow-run input `REQUEST_KEY` while paused: what `ws1ai approvals list` shows."""

    flow_run_id: str
    title: str
    pause_key: str
    round: int
    deadline: datetime
    timeout_outcome: TimeoutOutcome
    items: list[RequestItem]
    # Distinct targets per type over all items: three actions on the same 50 devices are 50 devices, not 150.
    targets: dict[str, int] = Field(default_factory=dict)
    note: str = ""
    # `suspend`: the run holds no process while it waits; the `approvals-check` flow keeps its reminders and
    # deadline (see approval_suspend.py).
    wait: Literal["pause", "suspend"] = "pause"
    step: int = 0  # which governed step of the run asks (a flow may govern more than once)


class ApprovalNotice(BaseModel):
    event: Literal["requested", "reminder", "timed_out"]
    flow_run_id: str
    title: str
    deadline: datetime
    pending: int
    devices: int
    message: str


class ApprovalOutcome(BaseModel):
    approved: list[Action] = Field(default_factory=list)
    rejected: list[Action] = Field(default_factory=list)
    approvers: dict[str, list[str]] = Field(default_factory=dict)
    timed_out: bool = False
    refused: int = 0


Notifier = Callable[[ApprovalNotice], None]


def undo_hint(action: Action) -> str:
    inverse = action.inverse()
    if inverse is None:
        return f"irreversible: {action.irreversible_reason()}"
    return f"`ws1ai rollback {action.correlation_id}` ({inverse.kind})"


def count_targets(actions: Iterable[Action]) -> dict[str, int]:
    """Distinct targets per type (`{"device": 50, "user": 2}`), however many actions name them."""
    seen: dict[str, set[str]] = {}
    for action in actions:
        seen.setdefault(action.target_type, set()).update(str(t) for t in action.targets)
    return {kind: len(ids) for kind, ids in sorted(seen.items())}


def describe_targets(targets: dict[str, int]) -> str:
    return ", ".join(f"{n} {kind}(s)" for kind, n in targets.items()) or "no targets"


def markdown(req: ApprovalRequest) -> str:
    lines = [
        f"## ws1ai approval: {req.title}",
        "",
        f"**{len(req.items)} action(s) on {describe_targets(req.targets)}.** "
        f"Deadline {req.deadline:%Y-%m-%d %H:%M:%S} UTC; "
        f"if nobody decides by then: **{req.timeout_outcome}**.",
        "",
    ]
    if req.note:
        lines += [f"> {req.note}", ""]
    # One short block per action, not a table: the form sits in a narrow dialog in both Prefect UIs, and a
    # wide table hid the approvals, why and undo columns off to the right (found by the browser test).
    for i in req.items[:50]:
        got = f"{len(i.approvals)}/{i.approvals_required}" + (
            f" ({', '.join(i.approvals)})" if i.approvals else ""
        )
        why = i.rationale.replace("\n", " ")[:200]
        lines += [
            f"- **{i.summary}**: {i.devices} device(s), tier **{i.tier}**, approvals {got}",
            f"  - why: {why}",
            f"  - undo: {i.undo}",
            f"  - correlation id `{i.correlation_id}`",
        ]
    if len(req.items) > 50:
        lines.append(f"\n… and {len(req.items) - 50} more (see `ws1ai approvals list`).")
    run = req.flow_run_id
    # The form cannot sign anything, so the approver's own machine does: the printed code is valid for this
    # run, this round, these actions and that decision, once (a copy read off the Prefect API is worthless).
    lines += [
        "",
        "**To decide here**, run this on your own machine (it signs with your token or key file; neither "
        "leaves it), with `approve` or `reject`:",
        "",
        f"`ws1ai approvals code {run} --approver <your id> --decision approve`",
        "",
        "then paste the printed line into **approval_code**, set **decision** and **approver** to the same "
        "values, and submit. To reject single actions, add `--reject-action <correlation id>` to the command "
        'and put the same `{"<correlation id>": "reject"}` in `decisions`. A code is good for this round '
        "only (15 minutes): if the form changes, make a new one. Wipes need two different approvers.",
        "",
        f"Or decide in a terminal: `ws1ai approvals approve {run} --approver <your id>`.",
    ]
    return "\n".join(lines)


def where_to_approve(flow_run_id: str) -> str:
    from prefect.settings import PREFECT_UI_URL

    ui = PREFECT_UI_URL.value()
    where = f"{ui}/runs/flow-run/{flow_run_id}" if ui else f"flow run {flow_run_id}"
    return (
        f"approve in the Prefect UI ({where}) with a code from `ws1ai approvals code {flow_run_id} "
        f"--approver <id> --decision approve`, or run `ws1ai approvals approve {flow_run_id} --approver <id>`"
    )


def log_notice(notice: ApprovalNotice) -> None:
    log.warning(
        "[%s] %s: %d action(s) on %d device(s) waiting until %s; %s",
        notice.event,
        notice.title,
        notice.pending,
        notice.devices,
        notice.deadline.isoformat(),
        notice.message,
    )


def save_request(flow_run_id: uuid.UUID, req: ApprovalRequest) -> None:
    from prefect import get_client

    delete_input(flow_run_id, REQUEST_KEY)
    with get_client(sync_client=True) as client:
        client.create_flow_run_input(flow_run_id, REQUEST_KEY, req.model_dump_json(), sender="ws1ai-gate")


def delete_input(flow_run_id: uuid.UUID, key: str) -> None:
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError

    with get_client(sync_client=True) as client:
        try:
            client.delete_flow_run_input(flow_run_id, key)
        except ObjectNotFound:
            pass
        except PrefectHTTPStatusError as exc:  # this endpoint reports "not found" as a bare 404
            if exc.response.status_code != 404:
                raise


def emit_refused(flow_run_id: uuid.UUID, claimed: str, reason: str) -> None:
    from prefect.events import emit_event

    emit_event(
        event="ws1ai.approval.refused",
        resource={"prefect.resource.id": f"prefect.flow-run.{flow_run_id}"},
        payload={"claimed_approver": claimed, "reason": reason},
    )


def publish_verdict(flow_run_id: uuid.UUID, nonce: str, verdict: ApprovalVerdict) -> None:
    """Best effort: the audit trail is the record; this only tells the waiting CLI. A key that exists already
    (the same code submitted twice) keeps its first verdict, the one its signer waits for."""
    from prefect import get_client

    try:
        with get_client(sync_client=True) as client:
            client.create_flow_run_input(
                flow_run_id, verdict_key(nonce), verdict.model_dump_json(), sender="ws1ai-gate"
            )
    except Exception as exc:  # a failed notice must not break the gate
        log.info("approval verdict for %s not published: %s", nonce, exc)
