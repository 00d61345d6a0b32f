"""The local stack: everything ws1ai needs, on 127.0.0.1, from one command (`ws1ai stack up`, `make run`).

It starts, in order: a Prefect server (SQLite under `.ws1ai/`, events kept 90 days for the audit trail), the
sandbox tenant with its simulated fleet, the webhook receiver, registered with the sandbox's event
notifications as Workspace ONE would be; then it serves every deployment of `prefect.yaml` (schedules and
event triggers) and makes something happen — a device falls out of compliance — so the user sees an
event-triggered run waiting for approval, with the Prefect UI link and the CLI command to approve it.
Ctrl-C stops everything it started.

The Prefect server requires a password (`PREFECT_SERVER_API_AUTH_STRING`, a new random one per start): without
it anyone on the host could post events that start runs, read approvals waiting in run inputs and create runs
with any parameters. Every client the stack starts gets it as `PREFECT_API_AUTH_STRING`; other shells find it
in `.ws1ai/stack.env` (owner-only, removed when the stack stops), which the `ws1ai` CLI loads by default.
"""

from __future__ import annotations

import contextvars
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

import httpx
from rich.console import Console

from ws1ai.stack_env import DEFAULT_ENV_FILE, ENV_FILE_VAR, remove_env_file, write_env_file

__all__ = ["StackConfig", "prefect_server", "run_stack"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = PROJECT_ROOT / ".ws1ai"
# Events are the per-device audit feed; Prefect's default retention (7 days) is too short for an audit trail.
EVENTS_RETENTION = "P90D"
# Offline by design: neither the server nor any client reports usage (server setting / client-side switch).
NO_ANALYTICS = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
# The rollout mode a run may use at most, whatever its parameters say (runs can lower it, never raise it).
MAX_MODE = "approve"
# The deployments prefect.yaml declares `auto` (low-tier fixes on their own) keep it on this worker; the
# ceiling is worker-side, so a caller asking `auto` of any other deployment still gets `approve`.
MAX_MODES = {
    "compliance_triage/compliance_triage_nightly": "auto",
    "onboarding/onboarding_on_hire": "auto",
    "onboarding/onboarding_daily": "auto",
}
# The demo takes one device out of compliance: close the receiver's coalescing window after 5 s of quiet
# instead of 30 s, so the triage run shows up promptly (a storm is still one batch).
DEMO_COALESCE_SECONDS = "5"

console = Console()


class StackConfig:
    def __init__(
        self,
        *,
        devices: int = 2000,
        seed: int = 7,
        days: int = 120,  # predictive health trains on the tenant's own history when given no model
        prefect_port: int = 4200,
        sandbox_port: int = 8765,
        webhook_port: int = 8780,
        exit_after_demo: bool = False,
        env_file: Path | None = None,
        state_dir: Path | None = None,
    ) -> None:
        self.devices, self.seed, self.days = devices, seed, days
        self.prefect_port, self.sandbox_port, self.webhook_port = prefect_port, sandbox_port, webhook_port
        self.exit_after_demo = exit_after_demo
        # Where other shells find this stack: WS1AI_ENV_FILE if the user named one (the CLI reads the same).
        self.env_file = env_file or Path(os.environ.get(ENV_FILE_VAR) or DEFAULT_ENV_FILE)
        self.state_dir = state_dir or STATE_DIR  # the Prefect server's SQLite database lives under it

    @property
    def prefect_api(self) -> str:
        return f"http://127.0.0.1:{self.prefect_port}/api"


@contextmanager
def prefect_server(port: int, home: Path, auth_string: str | None = None) -> Iterator[str]:
    """A real Prefect server in a child process; yields its API URL and always stops it.

    With `auth_string`, every API call but GET /health must carry it (HTTP Basic), events included.
    """
    home.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_EVENTS_RETENTION_PERIOD": EVENTS_RETENTION,
        **NO_ANALYTICS,
    }
    if auth_string is not None:
        env["PREFECT_SERVER_API_AUTH_STRING"] = auth_string
        env["PREFECT_API_AUTH_STRING"] = auth_string  # the server's own CLI process, should it call the API
    log = (home / "server.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C reaches us, and we stop the server ourselves, in order
    )
    api = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"Prefect server exited with {proc.returncode}; see {home / 'server.log'}")
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("Prefect server did not become healthy within 120 s")
            time.sleep(0.5)
        yield api
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _point_clients_at(sandbox_url: str, prefect_api: str, auth_string: str) -> dict[str, str]:
    """Only settings change between the sandbox and a real tenant: set them for this process and its runs.

    Returns what another shell needs to act on this stack (written to the env file).
    """
    shared = {
        "PREFECT_API_URL": prefect_api,
        "PREFECT_API_AUTH_STRING": auth_string,
        **NO_ANALYTICS,
        "WS1_BASE_URL": sandbox_url,
        "WS1_TOKEN_URL": f"{sandbox_url}/connect/token",
        "WS1_RATE_LIMIT_PER_MINUTE": "1000",
        "SERVICENOW_BASE_URL": sandbox_url,
        "HRIS_BASE_URL": f"{sandbox_url}/hris",
    }
    os.environ.update(shared)
    os.environ["PREFECT_RUNNER_POLL_FREQUENCY"] = "1"  # event → flow code in ~2 s instead of ~15 s
    # A local approver key for the demo only; a real deployment sets its own (see README: approver identity).
    os.environ.setdefault("WS1AI_GOVERNANCE_APPROVER_KEY", secrets.token_urlsafe(32))
    os.environ.setdefault("WS1AI_GOVERNANCE_APPROVAL_POLL_SECONDS", "1")
    os.environ.setdefault("WS1AI_GOVERNANCE_MAX_MODE", MAX_MODE)
    os.environ.setdefault("WS1AI_GOVERNANCE_MAX_MODES", json.dumps(MAX_MODES))
    os.environ.setdefault("WS1AI_WEBHOOK_COALESCE_SECONDS", DEMO_COALESCE_SECONDS)
    for name in ("WS1AI_GOVERNANCE_APPROVER_KEY", "WS1AI_GOVERNANCE_MAX_MODE", "WS1AI_GOVERNANCE_MAX_MODES"):
        shared[name] = os.environ[name]
    return shared


def _shown(path: Path) -> str:
    """The path as a user in the current directory would type it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def run_stack(config: StackConfig) -> None:
    # Imported here: they read settings from the environment that `_point_clients_at` sets.
    from prefect import serve
    from prefect.settings import (
        PREFECT_API_AUTH_STRING,
        PREFECT_API_URL,
        PREFECT_RUNNER_POLL_FREQUENCY,
        temporary_settings,
    )

    from deployments.demo import make_something_happen
    from deployments.project import runner_deployments
    from deployments.wiring import register_webhook, start_receiver
    from ws1ai.sandbox import SandboxState, create_app
    from ws1ai.sandbox.server import serve_in_background
    from ws1ai.settings import SandboxSettings

    auth_string = secrets.token_urlsafe(32)  # new per start: a copied old env file stops working
    if threading.current_thread() is threading.main_thread():
        # Ctrl-C stops the stack even when it was started from a job that ignores SIGINT (`cmd &` in a script,
        # which Python would otherwise inherit). SIGTERM unwinds the same way, so the server (in its own
        # session) is stopped and the env file removed; once serving, serve's runner takes SIGTERM over.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with ExitStack() as stack:
        with console.status("Starting the Prefect server (SQLite) ..."):
            home = config.state_dir / "prefect"
            api = stack.enter_context(prefect_server(config.prefect_port, home, auth_string))
        console.print(f"Prefect server   [bold]{api.removesuffix('/api')}[/]  (UI)")
        with console.status(f"Seeding the sandbox tenant with {config.devices} devices ..."):
            state = SandboxState.seeded(devices=config.devices, seed=config.seed, days=config.days)
            app = create_app(state, settings=SandboxSettings(rate_limit_per_minute=2000))
        sandbox_url = stack.enter_context(serve_in_background(app, port=config.sandbox_port))
        console.print(f"Sandbox tenant   [bold]{sandbox_url}[/]  ({config.devices} devices)")
        # For this process and the flow-run subprocesses serve starts; `shared` is for other shells.
        shared = _point_clients_at(sandbox_url, api, auth_string)
        # This process imported Prefect before we knew the API URL: its settings change through Prefect's own
        # context, which the scenario thread inherits through `copy_context`.
        stack.enter_context(
            temporary_settings(
                updates={
                    PREFECT_API_URL: api,
                    PREFECT_API_AUTH_STRING: auth_string,
                    PREFECT_RUNNER_POLL_FREQUENCY: 1,
                }
            )
        )
        receiver_url = stack.enter_context(start_receiver(config.webhook_port, api))
        register_webhook(receiver_url)
        console.print(
            f"Webhook receiver [bold]{receiver_url}[/]  (registered with the tenant's event notifications)"
        )

        env_file = write_env_file(config.env_file, shared)
        stack.callback(remove_env_file, env_file)  # its secrets are worthless once the server stops anyway
        console.print(
            f"Other shells: [bold]{_shown(env_file)}[/] (the ws1ai CLI reads it by default); the UI asks for "
            "the server's password: PREFECT_API_AUTH_STRING in that file",
            soft_wrap=True,
        )

        deployments = runner_deployments()
        console.print(f"Serving {len(deployments)} deployments from prefect.yaml; Ctrl-C stops everything.")
        scenario = threading.Thread(
            target=contextvars.copy_context().run,
            args=(make_something_happen,),
            kwargs={
                "sandbox_url": sandbox_url,
                "receiver_url": receiver_url,
                "ui_url": api.removesuffix("/api"),
                "exit_after": config.exit_after_demo,
            },
            daemon=True,
            name="ws1ai-demo-scenario",
        )
        scenario.start()
        with suppress(KeyboardInterrupt):  # Ctrl-C is how the user stops the stack
            serve(*deployments, print_starting_message=False, limit=8)
        console.print("Stopping: deployments paused, receiver, sandbox and Prefect server shutting down.")
