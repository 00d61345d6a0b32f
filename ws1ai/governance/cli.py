"""`ws1ai approvals …`, `ws1ai audit …` and `ws1ai rollback` (mounted by ws1ai/cli.py).

Prefect has no resume CLI; `ws1ai approvals approve <run>` resumes a paused run through the same API the UI
uses. Tokens are read from `--token`, `WS1AI_APPROVER_TOKEN`, or a hidden prompt — never echoed or logged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, cast

import typer

from ws1ai.governance.approval_forms import Decision
from ws1ai.governance.config import GovernanceSettings, RolloutMode

if TYPE_CHECKING:
    from ws1ai.governance.execute import Executor

__all__ = ["EXECUTOR_FACTORY", "ExecutorFactory", "approvals_app", "audit_app", "rollback_command"]

# How `ws1ai rollback` builds the executor that runs inverses: the app layer that mounts the command puts a
# factory under this key of the Typer context object (ws1ai/cli.py passes tasks.actions.open_executor), so
# governance never names the modules above it.
EXECUTOR_FACTORY = "executor_factory"
ExecutorFactory = Callable[[], AbstractContextManager["Executor"]]

approvals_app = typer.Typer(help="List and decide ws1ai approvals waiting in Prefect.", no_args_is_help=True)
audit_app = typer.Typer(help="Read the audit trail back from Prefect.", no_args_is_help=True)


@audit_app.callback()
def _audit_group() -> None:
    """Read the audit trail back from Prefect."""  # a callback keeps `audit export` a subcommand


TokenOpt = Annotated[
    str,
    typer.Option(
        envvar="WS1AI_APPROVER_TOKEN",
        prompt=True,
        hide_input=True,
        show_default=False,
        help="your approver token",
    ),
]
ApproverOpt = Annotated[str, typer.Option(envvar="WS1AI_APPROVER", help="your approver id")]


def _resolve_run(run: str) -> str:
    from ws1ai.governance.resume import list_pending

    matches = [p.flow_run_id for p in list_pending() if p.flow_run_id.startswith(run)]
    if len(matches) == 1:
        return matches[0]
    raise typer.BadParameter(f"{run!r} matches {len(matches)} runs waiting for ws1ai approval")


@approvals_app.command("list")
def list_command(as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False) -> None:
    """Runs paused for ws1ai approval, with what each asks for."""
    from ws1ai.governance.resume import list_pending

    pending = list_pending()
    if as_json:
        typer.echo(json.dumps([p.model_dump(mode="json") for p in pending], indent=2))
        return
    if not pending:
        typer.echo("No runs are waiting for ws1ai approval.")
    for p in pending:
        r = p.request
        typer.echo(
            f"{p.flow_run_id}  {p.flow_run_name}  {r.title!r}  deadline {r.deadline:%Y-%m-%d %H:%M} UTC"
        )
        if r.note:
            typer.echo(f"    note: {r.note}")
        for i in r.items:
            got = f"{len(i.approvals)}/{i.approvals_required}"
            typer.echo(f"    {i.correlation_id}  [{i.tier}] {i.summary}  approvals {got}  undo: {i.undo}")


def _decide(
    run: str, approver: str, token: str, decision: Decision, overrides: dict[str, Decision], comment: str
) -> None:
    from ws1ai.governance.resume import submit_decision

    run_id = _resolve_run(run)
    submit_decision(
        run_id, approver=approver, token=token, decision=decision, decisions=overrides, comment=comment
    )
    typer.echo(
        f"Submitted {decision} for run {run_id}; the flow verifies it within one poll interval "
        "(`ws1ai approvals list` shows it again if it was refused)."
    )


@approvals_app.command("approve")
def approve_command(
    run: Annotated[str, typer.Argument(help="flow run id (or a unique prefix)")],
    approver: ApproverOpt,
    token: TokenOpt,
    reject_action: Annotated[
        list[str] | None,
        typer.Option("--reject-action", help="correlation id to reject while approving the rest"),
    ] = None,
    comment: Annotated[str, typer.Option(help="recorded in the audit trail")] = "",
) -> None:
    """Approve a waiting batch (optionally rejecting single actions)."""
    _decide(
        run, approver, token, Decision.APPROVE, dict.fromkeys(reject_action or [], Decision.REJECT), comment
    )


@approvals_app.command("reject")
def reject_command(
    run: Annotated[str, typer.Argument(help="flow run id (or a unique prefix)")],
    approver: ApproverOpt,
    token: TokenOpt,
    comment: Annotated[str, typer.Option(help="recorded in the audit trail")] = "",
) -> None:
    """Reject a waiting batch."""
    _decide(run, approver, token, Decision.REJECT, {}, comment)


@approvals_app.command("issue-token")
def issue_token_command(approver: Annotated[str, typer.Argument(help="approver id")]) -> None:
    """Derive an approver's token from WS1AI_GOVERNANCE_APPROVER_KEY (give it to that person only)."""
    from ws1ai.governance.identity import ApproverVerifier

    typer.echo(ApproverVerifier(GovernanceSettings()).issue_token(approver))


@approvals_app.command("hash-secret")
def hash_secret_command(
    secret: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """Print the sha256 to register a self-chosen secret in WS1AI_GOVERNANCE_APPROVER_SECRET_HASHES."""
    from ws1ai.governance.identity import hash_secret

    typer.echo(hash_secret(secret))


def parse_since(value: str | None) -> datetime | None:
    """'7d', '12h', '30m' ago, or an ISO timestamp (UTC if no zone)."""
    if not value:
        return None
    m = re.fullmatch(r"(\d+)([dhm])", value.strip())
    if m:
        unit = {"d": "days", "h": "hours", "m": "minutes"}[m.group(2)]
        return datetime.now(UTC) - timedelta(**{unit: int(m.group(1))})
    dt = datetime.fromisoformat(value)
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


@audit_app.command("export")
def export_command(
    since: Annotated[str | None, typer.Option(help="e.g. 7d, 12h or an ISO timestamp")] = None,
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv")] = "jsonl",
    view: Annotated[str, typer.Option(help="actions (one row per action) or records")] = "actions",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="file (default: stdout)")] = None,
) -> None:
    """Who/what/when/why/approved-by for every action, read back from the Prefect API."""
    from ws1ai.governance.audit import PrefectAuditStore
    from ws1ai.governance.audit_export import export

    if fmt not in ("jsonl", "csv") or view not in ("actions", "records"):
        raise typer.BadParameter("--format is jsonl|csv and --view is actions|records")
    text = export(
        PrefectAuditStore(GovernanceSettings()),
        since=parse_since(since),
        fmt=cast(Literal["jsonl", "csv"], fmt),
        view=cast(Literal["actions", "records"], view),
    )
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text)
        typer.echo(f"wrote {output}")


def _executor_factory(ctx: typer.Context) -> ExecutorFactory:
    factory = ctx.obj.get(EXECUTOR_FACTORY) if isinstance(ctx.obj, dict) else None
    if factory is None:
        raise typer.BadParameter("no executor configured: mount this command with an executor factory")
    return cast(ExecutorFactory, factory)


def rollback_command(
    ctx: typer.Context,
    correlation_ids: Annotated[list[str], typer.Argument(help="correlation ids of executed actions")],
    mode: Annotated[RolloutMode, typer.Option(help="approve: every inverse waits for approval")] = (
        RolloutMode.APPROVE
    ),
) -> None:
    """Undo executed actions by running their inverses through governance (irreversible ones are reported)."""
    from prefect import flow, tags

    from ws1ai.governance.audit import RUN_TAG, PrefectAuditStore, flush_events
    from ws1ai.governance.execute import RollbackReport, rollback

    settings = GovernanceSettings()
    open_executor = _executor_factory(ctx)

    @flow(name="ws1ai-rollback", validate_parameters=False)
    def rollback_flow(cids: list[str], mode: RolloutMode) -> RollbackReport:
        with open_executor() as executor:
            return rollback(cids, executor, store=PrefectAuditStore(settings), settings=settings, mode=mode)

    with tags(RUN_TAG):
        report = rollback_flow(correlation_ids, mode)
    flush_events()
    typer.echo(report.model_dump_json(indent=2, exclude={"governance"}))
    if report.irreversible:
        raise typer.Exit(code=2)  # say it loudly: some of what was asked cannot be undone
