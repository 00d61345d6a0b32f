"""`ws1ai approvals …`, `ws1ai audit …` and `ws1ai rollback` (mounted by ws1ai/cli.py).

Prefect has no resume CLI; `ws1ai approvals approve <run>` resumes a paused run through the same API the UI
uses, with an approval code signed here for that run's current round (identity.py has the trust model), and
then reports the flow's verdict. The credential — an Ed25519 `--key-file`, or a derived token from
`WS1AI_APPROVER_TOKEN` or a no-echo prompt — is never sent, echoed or logged.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, NoReturn, cast

import typer

from ws1ai.governance.approval_code import Signer
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


ApproverOpt = Annotated[str, typer.Option(envvar="WS1AI_APPROVER", help="your approver id")]
KeyFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--key-file",
        help="your Ed25519 private key (`ws1ai approvals keygen`); without it, your derived token is read "
        "from WS1AI_APPROVER_TOKEN or a no-echo prompt",
    ),
]
RejectActionOpt = Annotated[
    list[str] | None,
    typer.Option("--reject-action", help="correlation id (or unique prefix) to reject, approving the rest"),
]
WaitOpt = Annotated[float, typer.Option("--wait", help="seconds to wait for the flow's verdict")]


def _fail(message: str, code: int = 1) -> NoReturn:
    """One line on stderr and a non-zero exit: every command that did not do what was asked says so."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _settings() -> GovernanceSettings:
    from pydantic import ValidationError

    try:
        return GovernanceSettings()
    except ValidationError as exc:
        first = exc.errors()[0]
        _fail(str(first["msg"]).removeprefix("Value error, "), 2)


def _signer(key_file: Path | None) -> Signer:
    from ws1ai.governance.approval_code import HmacSigner, load_signer

    if key_file is not None:
        try:
            return load_signer(key_file=key_file)
        except ValueError as exc:
            _fail(str(exc), 2)
    token = os.environ.get("WS1AI_APPROVER_TOKEN", "").strip()
    if not token:
        if not sys.stdin.isatty():
            _fail(
                "no approver credential: pass --key-file, set WS1AI_APPROVER_TOKEN, or run in a terminal to "
                "be asked for your token (an admin issues one with `ws1ai approvals issue-token`)",
                2,
            )
        token = str(typer.prompt("Approver token", hide_input=True, err=True)).strip()
    try:
        return HmacSigner(token)
    except ValueError as exc:
        _fail(str(exc), 2)


def _resolve_run(run: str) -> str:
    """A full run id as given (it may be between two approval rounds right now), or a unique prefix of a
    waiting run's id."""
    from uuid import UUID

    from ws1ai.governance.resume import list_pending

    try:
        return str(UUID(run))
    except ValueError:
        pass
    matches = [p.flow_run_id for p in list_pending() if p.flow_run_id.startswith(run)]
    if len(matches) == 1:
        return matches[0]
    _fail(f"{run!r} matches {len(matches)} runs waiting for ws1ai approval (see `ws1ai approvals list`)", 2)


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
    run: str,
    approver: str,
    key_file: Path | None,
    decision: Decision,
    overrides: dict[str, Decision],
    comment: str,
    wait: float,
) -> None:
    from ws1ai.governance.resume import NotWaiting, submit_decision, wait_for_verdict

    _settings()  # a leftover, removed setting is named before anything is sent
    signer = _signer(key_file)
    run_id = _resolve_run(run)
    try:
        nonce = submit_decision(
            run_id,
            approver=approver,
            credential=signer,
            decision=decision,
            decisions=overrides,
            comment=comment,
        )
    except (NotWaiting, RuntimeError, ValueError) as exc:
        _fail(f"not submitted: {exc}")
    try:
        verdict = wait_for_verdict(run_id, nonce, timeout=wait)
    except TimeoutError as exc:
        _fail(f"submitted {decision} for run {run_id}, but {exc}")
    if verdict.verdict != "accepted":
        _fail(f"the flow refused the {decision} for run {run_id}: {verdict.reason}")
    typer.echo(f"accepted by flow run {run_id}: {verdict.reason}")


@approvals_app.command("approve")
def approve_command(
    run: Annotated[str, typer.Argument(help="flow run id (or a unique prefix)")],
    approver: ApproverOpt,
    key_file: KeyFileOpt = None,
    reject_action: RejectActionOpt = None,
    comment: Annotated[str, typer.Option(help="recorded in the audit trail")] = "",
    wait: WaitOpt = 30.0,
) -> None:
    """Approve a waiting batch (optionally rejecting single actions) and report the flow's verdict."""
    overrides = dict.fromkeys(reject_action or [], Decision.REJECT)
    _decide(run, approver, key_file, Decision.APPROVE, overrides, comment, wait)


@approvals_app.command("reject")
def reject_command(
    run: Annotated[str, typer.Argument(help="flow run id (or a unique prefix)")],
    approver: ApproverOpt,
    key_file: KeyFileOpt = None,
    comment: Annotated[str, typer.Option(help="recorded in the audit trail")] = "",
    wait: WaitOpt = 30.0,
) -> None:
    """Reject a waiting batch and report the flow's verdict."""
    _decide(run, approver, key_file, Decision.REJECT, {}, comment, wait)


@approvals_app.command("code")
def code_command(
    run: Annotated[str, typer.Argument(help="flow run id (or a unique prefix)")],
    approver: ApproverOpt,
    decision: Annotated[Decision, typer.Option(help="what you decide for the batch")],
    key_file: KeyFileOpt = None,
    reject_action: RejectActionOpt = None,
) -> None:
    """Print an approval code for the Prefect UI form (this run, this round, this decision; 15 minutes)."""
    from ws1ai.governance.resume import NotWaiting, approval_code_for, current_request

    _settings()
    signer = _signer(key_file)
    run_id = _resolve_run(run)
    try:
        request = current_request(run_id)
    except NotWaiting as exc:
        _fail(str(exc))
    overrides = dict.fromkeys(reject_action or [], Decision.REJECT)
    code, _ = approval_code_for(
        request, approver=approver, signer=signer, decision=decision, decisions=overrides
    )
    typer.echo(code)  # the only line on stdout: meant to be copied into the form


@approvals_app.command("issue-token")
def issue_token_command(approver: Annotated[str, typer.Argument(help="approver id")]) -> None:
    """Derive an approver's token from WS1AI_GOVERNANCE_APPROVER_KEY (give it to that person only)."""
    from ws1ai.governance.identity import ApproverVerifier

    settings = _settings()
    if settings.approver_key is None:
        _fail(
            "no approver identities configured: WS1AI_GOVERNANCE_APPROVER_KEY is not set (or register "
            "Ed25519 keys with `ws1ai approvals keygen`)",
            2,
        )
    try:
        typer.echo(ApproverVerifier(settings).issue_token(approver))
    except ValueError as exc:
        _fail(str(exc), 2)


@approvals_app.command("keygen")
def keygen_command(
    approver: Annotated[str, typer.Argument(help="your approver id")],
    out: Annotated[Path, typer.Option("--out", help="where to write your private key (mode 0600)")],
) -> None:
    """Make your Ed25519 approver key: the private key stays in --out; register the printed line on the flow
    host (merge it with the other approvers' keys)."""
    from ws1ai.governance.identity import generate_keypair, normalise_approver

    who = normalise_approver(approver)
    if not who:
        _fail("approver id is empty", 2)
    pem, public = generate_keypair()
    try:
        # O_EXCL: never overwrite a key (an old one may be registered); 0600 from the first byte on disk.
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        _fail(f"{out} exists; not overwriting an approver key (choose another --out)", 2)
    except OSError as exc:
        _fail(f"cannot create {out}: {exc.strerror}", 2)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    typer.echo(f"private key for {who} written to {out}; keep it on this machine", err=True)
    typer.echo(f"WS1AI_GOVERNANCE_APPROVER_PUBLIC_KEYS='{json.dumps({who: public})}'")


def parse_since(value: str | None) -> datetime | None:
    """'7d', '12h', '30m' ago, or an ISO timestamp (UTC if no zone)."""
    if not value:
        return None
    m = re.fullmatch(r"(\d+)([dhm])", value.strip())
    if m:
        unit = {"d": "days", "h": "hours", "m": "minutes"}[m.group(2)]
        return datetime.now(UTC) - timedelta(**{unit: int(m.group(1))})
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is neither 7d/12h/30m nor an ISO timestamp (2026-01-31T08:00)", param_hint="--since"
        ) from None
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


@audit_app.command("in-doubt")
def in_doubt_command(
    since: Annotated[str | None, typer.Option(help="e.g. 7d, 12h or an ISO timestamp")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False,
) -> None:
    """Actions whose write may or may not have been applied: never repeated until resolved."""
    from ws1ai.governance.audit import PrefectAuditStore
    from ws1ai.governance.execute_resolve import list_in_doubt

    found = list_in_doubt(PrefectAuditStore(_settings()), since=parse_since(since))
    if as_json:
        typer.echo(json.dumps([d.model_dump(mode="json") for d in found], indent=2))
        return
    if not found:
        typer.echo("No action is in doubt.")
        return
    for d in found:
        typer.echo(
            f"{d.correlation_id}  {d.kind}  {len(d.in_doubt_targets)}/{d.targets} target(s) in doubt  "
            f"flow run {d.flow_run_id or '-'}  since {d.since:%Y-%m-%d %H:%M:%S} UTC  ({d.why})"
        )
    typer.echo(
        "Resolve each with `ws1ai audit resolve <correlation id> --verify` (reads the tenant), or "
        "--mark-done / --mark-not-done --reason '…' after checking by hand."
    )


@audit_app.command("resolve")
def resolve_command(
    ctx: typer.Context,
    correlation_id: Annotated[str, typer.Argument(help="correlation id of an in-doubt action")],
    verify: Annotated[bool, typer.Option("--verify", help="read the targets back from the tenant")] = False,
    mark_done: Annotated[bool, typer.Option("--mark-done", help="you checked: the write happened")] = False,
    mark_not_done: Annotated[
        bool, typer.Option("--mark-not-done", help="you checked: it did not (the next run writes it)")
    ] = False,
    reason: Annotated[str | None, typer.Option(help="why you mark it so (required with a mark)")] = None,
    by: Annotated[
        str | None, typer.Option("--by", envvar="WS1AI_APPROVER", help="who marks it (default: $USER)")
    ] = None,
) -> None:
    """Settle an in-doubt action: verify it against the tenant, or record what you found (who and why)."""
    from ws1ai.governance.audit import PrefectAuditStore, flush_events
    from ws1ai.governance.execute_resolve import resolve

    options = (("verify", verify), ("done", mark_done), ("not_done", mark_not_done))
    chosen = [name for name, on in options if on]
    if len(chosen) != 1:
        _fail("choose exactly one of --verify, --mark-done, --mark-not-done", 2)
    how = cast(Literal["verify", "done", "not_done"], chosen[0])
    who = by or os.environ.get("USER") or os.environ.get("USERNAME")
    if how != "verify" and not (reason and reason.strip()):
        _fail("a mark needs --reason (recorded in the audit trail with who marked it)", 2)
    store = PrefectAuditStore(_settings())
    try:
        if how == "verify":
            with _executor_factory(ctx)() as executor:
                verifier = getattr(executor, "verify", None)
                result = resolve(correlation_id, store=store, how=how, verifier=verifier)
        else:
            result = resolve(correlation_id, store=store, how=how, by=who, reason=reason)
    except (LookupError, ValueError) as exc:
        _fail(str(exc).strip("'\""), 1)
    flush_events()
    typer.echo(result.model_dump_json(indent=2))
    if result.still_in_doubt:
        _fail(
            f"{len(result.still_in_doubt)} target(s) still in doubt: the tenant cannot tell; check by hand "
            "and use --mark-done or --mark-not-done with --reason",
            1,
        )


def _executor_factory(ctx: typer.Context) -> ExecutorFactory:
    factory = ctx.obj.get(EXECUTOR_FACTORY) if isinstance(ctx.obj, dict) else None
    if factory is None:
        raise typer.BadParameter("no executor configured: mount this command with an executor factory")
    return cast(ExecutorFactory, factory)


def rollback_command(
    ctx: typer.Context,
    correlation_ids: Annotated[list[str], typer.Argument(help="correlation ids of executed actions")],
    mode: Annotated[
        RolloutMode,
        typer.Option(help="approve: every inverse waits for approval; capped by the governance ceiling"),
    ] = RolloutMode.APPROVE,
) -> None:
    """Undo executed actions by running their inverses through governance (irreversible ones are reported)."""
    from prefect import flow, tags

    from ws1ai.governance.audit import RUN_TAG, PrefectAuditStore, flush_events
    from ws1ai.governance.ceiling import cap_mode, ceiling_for
    from ws1ai.governance.execute import RollbackReport, rollback
    from ws1ai.governance.identity import ApproverVerifier

    settings = GovernanceSettings()
    # The same ceiling as every flow run (max_modes key "ws1ai_rollback", else max_mode): an inverse is a
    # write like any other, and `--mode auto` must not skip the approval the worker requires.
    capped = cap_mode(mode, ceiling_for(settings, "ws1ai-rollback"))
    if capped is not mode:
        typer.echo(f"mode {mode} requested, {capped} is this worker's governance ceiling: using it", err=True)
        mode = capped
    open_executor = _executor_factory(ctx)
    if not ApproverVerifier(settings).configured:
        # The gate would reject every inverse that needs approval; say so before anything runs.
        typer.echo(
            "error: no approver identities configured (WS1AI_GOVERNANCE_APPROVER_KEY or approver public "
            "keys): the inverse actions could not be approved; run it beside the stack (its .ws1ai/stack.env "
            "sets one) or configure approvers",
            err=True,
        )
        raise typer.Exit(code=1)

    @flow(name="ws1ai-rollback", validate_parameters=False)
    def rollback_flow(cids: list[str], mode: RolloutMode) -> RollbackReport:
        with open_executor() as executor:
            return rollback(cids, executor, store=PrefectAuditStore(settings), settings=settings, mode=mode)

    with tags(RUN_TAG):
        report = rollback_flow(correlation_ids, mode)
    flush_events()
    typer.echo(report.model_dump_json(indent=2, exclude={"governance"}))
    undone = {*report.rolled_back, *report.already_rolled_back}
    settled = undone | set(report.irreversible) | set(report.not_executed)
    left = [cid for cid in dict.fromkeys(correlation_ids) if cid not in settled]
    if report.not_executed:
        typer.echo(f"nothing to undo (never executed): {', '.join(report.not_executed)}", err=True)
    if left:  # asked to undo, and not undone: rejected at approval, failed or in doubt — never a success
        gov = report.governance
        why = (
            f"inverse actions rejected: {len(gov.approval.rejected)}, failed: {len(gov.execution.failed)}, "
            f"skipped: {len(gov.execution.skipped)}"
            if gov is not None
            else "no inverse ran"
        )
        typer.echo(f"error: not rolled back: {', '.join(left)} ({why})", err=True)
        raise typer.Exit(code=1)
    if report.irreversible:
        raise typer.Exit(code=2)  # say it loudly: some of what was asked cannot be undone
