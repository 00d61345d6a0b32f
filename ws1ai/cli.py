"""The `ws1ai` command line. Each area owns its sub-app; this module only mounts them.

Before anything imports Prefect, the stack's env file (`.ws1ai/stack.env`, or `--env-file` / `WS1AI_ENV_FILE`)
is loaded, so a second shell reaches the running stack with no exports (variables already set win). Failures
are reported in one line by `ws1ai.cli_errors.WS1Group`; `ws1ai --verbose …` shows the traceback.
"""

from __future__ import annotations

import os
import sys

from ws1ai.stack_env import env_file_from_argv, load_env_file

# Prefect's analytics phone home from clients unless told not to; ws1ai runs offline (the stack's server has
# PREFECT_SERVER_ANALYTICS_ENABLED=false, this is the client side of the same switch).
os.environ.setdefault("DO_NOT_TRACK", "1")

# Prefect reads its settings once, on first import, and the sub-apps below import it: load the file first.
_ENV_FILE, _ = env_file_from_argv(sys.argv[1:], os.environ)
if next((a for a in sys.argv[1:] if not a.startswith("-")), None) == "stack":
    _ENV_FILE = None  # the stack writes this file; a stale one left by a killed stack must not configure it
_ENV_FILE_ERROR: str | None = None
if _ENV_FILE is not None:
    try:
        load_env_file(_ENV_FILE)
    except FileNotFoundError:
        _ENV_FILE_ERROR = f"env file {_ENV_FILE} does not exist (from --env-file or WS1AI_ENV_FILE)"
    except (OSError, ValueError) as exc:
        _ENV_FILE_ERROR = f"cannot read env file {_ENV_FILE}: {exc}"

import importlib  # noqa: E402  # the env file must be loaded before these import Prefect
import inspect  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import typing  # noqa: E402
from contextlib import AbstractContextManager  # noqa: E402
from enum import StrEnum  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Annotated, Any  # noqa: E402

import typer  # noqa: E402

from deployments.webhook import webhook_app  # noqa: E402
from models.cli import models_app  # noqa: E402
from ws1ai.cli_errors import WS1Group  # noqa: E402
from ws1ai.demo import demo_command  # noqa: E402
from ws1ai.governance.cli import EXECUTOR_FACTORY, approvals_app, audit_app, rollback_command  # noqa: E402
from ws1ai.governance.config import RolloutMode  # noqa: E402
from ws1ai.sandbox.cli import sandbox_app  # noqa: E402
from ws1ai.sandbox.fleet.cli import fleet_app  # noqa: E402

__all__ = ["app"]

class _Group(WS1Group):
    def before(self, ctx: Any) -> None:
        if _ENV_FILE_ERROR is not None:  # before the server check, which would only blame its effect
            raise typer.BadParameter(_ENV_FILE_ERROR, param_hint="--env-file")


app = typer.Typer(
    name="ws1ai",
    cls=_Group,
    help=(
        "AI-driven, human-governed automation for Workspace ONE UEM.\n\n"
        "Everything defaults to the embedded sandbox tenant on 127.0.0.1; point WS1_BASE_URL and the "
        "credentials (see README) at a real tenant and only the settings change. While `ws1ai stack` (`make "
        "run`) runs, every command here reaches it through .ws1ai/stack.env, which this CLI loads by default."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals may hold secrets
)


def _open_executor() -> AbstractContextManager[Any]:
    """The executor that performs actions on the tenant (imported when a rollback needs it: Prefect tasks)."""
    from tasks.actions import open_executor

    return open_executor()


@app.callback()
def _root(
    ctx: typer.Context,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="show the traceback when a command fails")
    ] = False,
    env_file: Annotated[
        Path | None,
        typer.Option(
            "--env-file",
            envvar="WS1AI_ENV_FILE",
            help="KEY=value settings to load first (default: .ws1ai/stack.env, written by `ws1ai stack`); "
            "variables already in the environment win",
            show_default=False,
        ),
    ] = None,
) -> None:
    """AI-driven, human-governed automation for Workspace ONE UEM."""
    # The library's rollback command gets its executor from the app layer (dependencies point down).
    ctx.ensure_object(dict)[EXECUTOR_FACTORY] = _open_executor
    # Both options take effect before parsing (see the top of this module and `_Group`).
    if env_file is not None and env_file != _ENV_FILE and ctx.invoked_subcommand != "stack":
        # Only when called in-process (tests): apply it for ws1ai's own settings; Prefect's were read already.
        if not env_file.is_file():
            raise typer.BadParameter(f"env file {env_file} does not exist", param_hint="--env-file")
        load_env_file(env_file)


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


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """`key=value` pairs; each value is JSON if it parses, else the plain string (as `prefect deployment run
    --param` does), so `device_id=10002` is an int and `quarantine_tag=Quarantine` a string."""
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{pair!r} is not key=value", param_hint="--param")
        try:
            params[key.strip()] = json.loads(raw)
        except ValueError:
            params[key.strip()] = raw
    return params


def validate_flow_params(fn: Any, params: dict[str, Any]) -> dict[str, Any]:
    """`params` checked against the flow function's signature and annotations; BadParameter in one line."""
    from pydantic import TypeAdapter, ValidationError

    signature = inspect.signature(fn)
    accepted = [n for n, p in signature.parameters.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    hints = typing.get_type_hints(fn)
    checked: dict[str, Any] = {}
    for name, value in params.items():
        if name not in accepted:
            raise typer.BadParameter(
                f"{fn.__name__} has no parameter {name!r}; valid: {', '.join(accepted)}", param_hint="--param"
            )
        try:
            checked[name] = TypeAdapter(hints.get(name, Any)).validate_python(value)
        except ValidationError as exc:
            why = "; ".join(e["msg"] for e in exc.errors()[:3])
            raise typer.BadParameter(f"{name}={value!r}: {why}", param_hint="--param") from None
    return checked


def _check_tenant() -> None:
    """One authenticated read of the tenant before a flow starts: wrong credentials, a closed port or a bad
    tenant code fail here in one line instead of inside every task of the run."""
    from ws1ai.settings import UEMSettings
    from ws1ai.uem import UEMClient

    settings = UEMSettings()
    transport_log = logging.getLogger("ws1ai.uem")
    level = transport_log.level
    transport_log.setLevel(logging.ERROR)  # a failure is reported once, by the error line, not as a log
    try:
        with UEMClient(settings.model_copy(update={"max_retries": 0}), read_only=True) as client:
            client.system.info()
    finally:
        transport_log.setLevel(level)


@app.command(name="run")
def run_command(
    flow: Annotated[FlowName, typer.Argument(help="the blueprint to run (a file in flows/)")],
    mode: Annotated[
        RolloutMode | None,
        typer.Option(help="rollout mode (default: the flow's own); a lower ceiling may apply"),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="plan against the tenant, execute nothing")
    ] = False,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            help="flow parameter key=value (repeatable; value JSON-parsed, else a string), "
            "e.g. -p max_devices=50 -p device_id=10002",
        ),
    ] = None,
) -> None:
    """Run one blueprint flow now, in this process, against the configured tenant (sandbox by default).

    Needs a running Prefect server (the stack, `make run`, found through .ws1ai/stack.env; or
    PREFECT_API_URL): it never starts a temporary one. Parameters are checked before anything starts.
    """
    module = importlib.import_module(f"flows.{flow.value}")
    target = getattr(module, flow.value)
    kwargs: dict[str, object] = validate_flow_params(target.fn, parse_params(param or []))
    if dry_run:
        kwargs["dry_run"] = True
    if mode is not None:
        kwargs["mode"] = mode
    from ws1ai.stack_env import require_prefect_server

    require_prefect_server()
    _check_tenant()
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
    state_dir: Annotated[
        Path | None,
        typer.Option(
            help="the Prefect server's database (one stack per directory)  [default: .ws1ai in the project]",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Start the local stack: Prefect server, sandbox, webhook receiver, every deployment; Ctrl-C stops.

    While it runs, .ws1ai/stack.env (owner-only; WS1AI_ENV_FILE names another path) holds what another
    shell's `ws1ai` needs to reach it.
    """
    from deployments.stack import StackConfig, run_stack

    run_stack(
        StackConfig(
            devices=devices,
            seed=seed,
            prefect_port=prefect_port,
            sandbox_port=sandbox_port,
            webhook_port=webhook_port,
            exit_after_demo=exit_after_demo,
            state_dir=state_dir.resolve() if state_dir else None,
        )
    )


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # `python -m ws1ai.cli` (tests run it this way, without the console script)
    main()
