"""The local stack: everything ws1ai needs, on 127.0.0.1, from one command (`ws1ai stack up`, `make run`).

It starts, in order: a Prefect server (SQLite under `.ws1ai/`, events kept 90 days for the audit trail), the
sandbox tenant with its simulated fleet, the webhook receiver, registered with the sandbox's event
notifications as Workspace ONE would be; then it serves every deployment of `prefect.yaml` (schedules and
event triggers) and makes something happen — a device falls out of compliance — so the user sees an
event-triggered run waiting for approval, with the Prefect UI link and the CLI command to approve it.
Ctrl-C stops everything it started.
"""

from __future__ import annotations

import contextvars
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

__all__ = ["StackConfig", "prefect_server", "run_stack"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = PROJECT_ROOT / ".ws1ai"
# Events are the per-device audit feed; Prefect's default retention (7 days) is too short for an audit trail.
EVENTS_RETENTION = "P90D"

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
    ) -> None:
        self.devices, self.seed, self.days = devices, seed, days
        self.prefect_port, self.sandbox_port, self.webhook_port = prefect_port, sandbox_port, webhook_port
        self.exit_after_demo = exit_after_demo

    @property
    def prefect_api(self) -> str:
        return f"http://127.0.0.1:{self.prefect_port}/api"


@contextmanager
def prefect_server(port: int, home: Path) -> Iterator[str]:
    """A real Prefect server in a child process; yields its API URL and always stops it."""
    home.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_EVENTS_RETENTION_PERIOD": EVENTS_RETENTION,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
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


def _point_clients_at(sandbox_url: str, prefect_api: str) -> None:
    """Only settings change between the sandbox and a real tenant: set them for this process and its runs."""
    os.environ.update(
        {
            "PREFECT_API_URL": prefect_api,
            "PREFECT_RUNNER_POLL_FREQUENCY": "1",  # event → flow code in ~2 s instead of ~15 s
            "WS1_BASE_URL": sandbox_url,
            "WS1_TOKEN_URL": f"{sandbox_url}/connect/token",
            "WS1_RATE_LIMIT_PER_MINUTE": "1000",
            "SERVICENOW_BASE_URL": sandbox_url,
            "HRIS_BASE_URL": f"{sandbox_url}/hris",
        }
    )
    # A local approver key for the demo only; a real deployment sets its own (see README: approver identity).
    os.environ.setdefault("WS1AI_GOVERNANCE_APPROVER_KEY", secrets.token_urlsafe(32))
    os.environ.setdefault("WS1AI_GOVERNANCE_APPROVAL_POLL_SECONDS", "1")


def run_stack(config: StackConfig) -> None:
    # Imported here: they read settings from the environment that `_point_clients_at` sets.
    from prefect import serve
    from prefect.settings import PREFECT_API_URL, PREFECT_RUNNER_POLL_FREQUENCY, temporary_settings

    from deployments.demo import make_something_happen
    from deployments.project import runner_deployments
    from deployments.wiring import register_webhook, start_receiver
    from ws1ai.sandbox import SandboxState, create_app
    from ws1ai.sandbox.server import serve_in_background
    from ws1ai.settings import SandboxSettings

    with ExitStack() as stack:
        with console.status("Starting the Prefect server (SQLite) ..."):
            api = stack.enter_context(prefect_server(config.prefect_port, STATE_DIR / "prefect"))
        console.print(f"Prefect server   [bold]{api.removesuffix('/api')}[/]  (UI)")
        with console.status(f"Seeding the sandbox tenant with {config.devices} devices ..."):
            state = SandboxState.seeded(devices=config.devices, seed=config.seed, days=config.days)
            app = create_app(state, settings=SandboxSettings(rate_limit_per_minute=2000))
        sandbox_url = stack.enter_context(serve_in_background(app, port=config.sandbox_port))
        console.print(f"Sandbox tenant   [bold]{sandbox_url}[/]  ({config.devices} devices)")
        _point_clients_at(sandbox_url, api)  # for the flow-run subprocesses serve starts
        # This process imported Prefect before we knew the API URL: its settings change through Prefect's own
        # context, which the scenario thread inherits through `copy_context`.
        stack.enter_context(
            temporary_settings(updates={PREFECT_API_URL: api, PREFECT_RUNNER_POLL_FREQUENCY: 1})
        )
        receiver_url = stack.enter_context(start_receiver(config.webhook_port, api))
        register_webhook(receiver_url)
        console.print(
            f"Webhook receiver [bold]{receiver_url}[/]  (registered with the tenant's event notifications)"
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
