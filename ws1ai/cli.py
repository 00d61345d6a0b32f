"""The `ws1ai` command line. Each area owns its sub-app; this module only mounts them.

Heavy imports (Prefect flows, models) happen inside the commands that need them, so `ws1ai --help` is fast.
"""

from __future__ import annotations

import importlib
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from deployments.webhook import webhook_app
from models.cli import models_app
from ws1ai.demo import demo_command
from ws1ai.governance.cli import approvals_app, audit_app, rollback_command
from ws1ai.sandbox.cli import sandbox_app
from ws1ai.sandbox.fleet.cli import fleet_app

__all__ = ["app"]

app = typer.Typer(
    name="ws1ai",
    help=(
        "AI-driven, human-governed automation for Workspace ONE UEM.\n\n"
        "Everything defaults to the embedded sandbox tenant on 127.0.0.1; point WS1_BASE_URL and the "
        "credentials (see README) at a real tenant and only the settings change."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals may hold secrets
)

app.add_typer(sandbox_app, name="sandbox", help="Run the embedded Workspace ONE UEM sandbox tenant.")
app.add_typer(fleet_app, name="fleet", help="Generate simulated fleets (the data contracts, as parquet).")
app.add_typer(approvals_app, name="approvals", help="List and decide approvals waiting in Prefect.")
app.add_typer(audit_app, name="audit", help="Export the audit trail (who/what/when/why/approved-by).")
app.add_typer(
    models_app, name="models", help="Train, evaluate and score the models (health, risk, usage, bundles)."
)
app.add_typer(webhook_app, name="webhook", help="Receive Workspace ONE / HRIS webhooks as Prefect events.")
app.command(name="rollback")(rollback_command)
app.command(name="demo")(demo_command)

_FLOWS_DIR = Path(__file__).resolve().parent.parent / "flows"
FlowName = StrEnum(  # type: ignore[misc]  # built from the files so a new blueprint needs no edit here
    "FlowName", {p.stem: p.stem for p in sorted(_FLOWS_DIR.glob("*.py")) if not p.stem.startswith("_")}
)


@app.command(name="run")
def run_command(
    flow: Annotated[FlowName, typer.Argument(help="the blueprint to run (a file in flows/)")],
    mode: Annotated[
        str | None, typer.Option(help="observe | recommend | approve | auto (default: the flow's own)")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="plan against the tenant, execute nothing")
    ] = False,
) -> None:
    """Run one blueprint flow now, in this process, against the configured tenant (sandbox by default)."""
    module = importlib.import_module(f"flows.{flow.value}")
    target = getattr(module, flow.value)
    kwargs: dict[str, object] = {"dry_run": dry_run}
    if mode is not None:
        kwargs["mode"] = mode
    from prefect import tags

    from ws1ai.governance.audit import RUN_TAG

    with tags(RUN_TAG):  # every ws1ai run is findable as the AI orchestrator's (deployments set it in yaml)
        state = target(**kwargs, return_state=True)
    typer.echo(f"{flow.value}: {state.name} — {state.message or ''}")
    if not state.is_completed():
        raise typer.Exit(1)


@app.command(name="stack")
def stack_command(
    devices: Annotated[int, typer.Option(min=1, help="simulated fleet size")] = 2000,
    seed: Annotated[int, typer.Option(help="fleet simulator seed")] = 7,
    prefect_port: Annotated[int, typer.Option(help="Prefect server (UI) port")] = 4200,
    sandbox_port: Annotated[int, typer.Option(help="sandbox tenant port")] = 8765,
    webhook_port: Annotated[int, typer.Option(help="webhook receiver port")] = 8780,
    exit_after_demo: Annotated[
        bool, typer.Option("--exit-after-demo", help="stop once the demo run waits for approval (CI)")
    ] = False,
) -> None:
    """Start the local stack: Prefect server, sandbox, webhook receiver, every deployment; Ctrl-C stops."""
    from deployments.stack import StackConfig, run_stack

    run_stack(
        StackConfig(
            devices=devices,
            seed=seed,
            prefect_port=prefect_port,
            sandbox_port=sandbox_port,
            webhook_port=webhook_port,
            exit_after_demo=exit_after_demo,
        )
    )


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # `python -m ws1ai.cli` (tests run it this way, without the console script)
    main()
