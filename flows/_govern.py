"""The governed tail every blueprint shares: hand the actions to `ws1ai.governance.govern`, then report.

A flow builds its `Action`s (pure) and calls `govern_and_act`; no flow calls a write endpoint itself.
Governance plans under the rollout mode and blast-radius caps, records the audit trail, pauses for approval
where needed and executes each action at most once through `tasks.actions.ActionExecutor`.
"""

from __future__ import annotations

from typing import Any

from prefect import State, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import deployment, flow_run
from prefect.states import Completed, Failed

from tasks.actions import ActionExecutor
from ws1ai.connectors.servicenow import ServiceNowClient
from ws1ai.governance.actions import Action
from ws1ai.governance.audit import PrefectAuditStore
from ws1ai.governance.audit_records import audit_action
from ws1ai.governance.ceiling import within_ceiling
from ws1ai.governance.config import GovernanceSettings, RolloutMode
from ws1ai.governance.execute import GovernanceReport, govern
from ws1ai.uem import UEMClient

__all__ = ["final_state", "govern_actions", "govern_and_act", "summarize"]


def govern_and_act(
    actions: list[Action],
    *,
    title: str,
    mode: RolloutMode,
    dry_run: bool = False,
    approval_timeout_seconds: int | None = None,
) -> State[Any]:
    """Plan, approve and execute `actions`; end `SKIPPED` when nothing needed doing, `Failed` when anything
    failed or is in doubt."""
    report = govern_actions(
        actions, title=title, mode=mode, dry_run=dry_run, approval_timeout_seconds=approval_timeout_seconds
    )
    return final_state(report)


def govern_actions(
    actions: list[Action],
    *,
    title: str,
    mode: RolloutMode,
    dry_run: bool = False,
    approval_timeout_seconds: int | None = None,
) -> GovernanceReport:
    """One governed step: plan, approve, execute, publish its summary; the report says what happened."""
    log = get_run_logger()
    settings = GovernanceSettings()
    # A run's parameters may lower the worker's ceilings (mode, approval wait), never raise them.
    mode, approval_timeout_seconds, title = within_ceiling(
        mode, approval_timeout_seconds, title, settings, flow_run.flow_name, deployment.name, warn=log.warning
    )
    store = PrefectAuditStore(settings)
    with UEMClient() as uem, ServiceNowClient() as itsm:
        report = govern(
            actions,
            ActionExecutor(uem, itsm),
            store=store,
            settings=settings,
            mode=mode,
            dry_run=dry_run,
            title=title,
            approval_timeout_seconds=approval_timeout_seconds,
        )
    summary = summarize(report)
    create_markdown_artifact(markdown=f"### {title}\n\n{summary}", key="ws1ai-run-summary", description=title)
    log.info("%s: %s", title, summary.splitlines()[0])
    return report


def final_state(*reports: GovernanceReport) -> State[Any]:
    """The run's state from its governed steps.

    Nothing to do → `Completed(name="SKIPPED")`. Any action failed, partially executed or in doubt →
    `Failed` with how many and what to run: a run that did not do all it set out to must not look green.
    (A flow that returns a `Failed` state ends FAILED; `ws1ai run` then exits non-zero.)
    """
    log = get_run_logger()
    if all(r.nothing_to_do for r in reports):
        already = sum(len(r.already_executed) for r in reports)
        repeats = sum(len(r.execution.skipped) for r in reports)
        why = f"{already} already executed earlier" + (
            f", {repeats} not repeated (the same write within the repeat window)" if repeats else ""
        )
        why += "; `ws1ai audit export` says when and by whom"
        return Completed(name="SKIPPED", message=f"nothing to do ({why})")
    failed = sum(len(r.execution.failed) for r in reports)
    partial = sum(len(r.execution.partial) for r in reports)
    in_doubt = sum(len(r.execution.in_doubt) for r in reports)
    first = "; ".join(summarize(r).splitlines()[0] for r in reports)
    if failed or partial or in_doubt:
        problems = {k: v for r in reports for k, v in {**r.execution.failed, **r.execution.partial}.items()}
        log.warning("%d failed, %d partially executed: %s", failed, partial, problems)
        hint = (
            f"; {in_doubt} in doubt (never repeated blindly): run `ws1ai audit in-doubt`, then "
            "`ws1ai audit resolve <correlation id> --verify`"
            if in_doubt
            else "; `ws1ai audit export` has the details, a re-run retries only what was not applied"
        )
        counts = f"{failed} action(s) failed, {partial} partially executed, {in_doubt} in doubt"
        return Failed(message=f"{counts}{hint}. {first}")
    return Completed(message=first)


def summarize(report: GovernanceReport) -> str:
    plan, execution = report.plan, report.execution
    lines = [
        f"{plan.mode}{' (dry run)' if plan.dry_run else ''}: {len(plan.items)} planned, "
        f"{len(plan.auto)} automatic, {len(plan.needs_approval)} for approval, "
        f"{len(report.approval.rejected)} rejected, {len(execution.executed)} executed, "
        f"{len(execution.partial)} partially executed, {len(execution.failed)} failed, "
        f"{len(execution.in_doubt)} in doubt, {len(execution.skipped)} skipped, "
        f"{len(report.already_executed)} already done earlier",
        "",
        "| action | tier | disposition | why |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {audit_action(p.action).summary()} | {p.tier} | {p.disposition} | {'; '.join(p.reasons)} |"
        for p in plan.items
    ]
    if report.approval.timed_out:
        lines.append("\nThe approval timed out; its configured outcome applied.")
    return "\n".join(lines)
