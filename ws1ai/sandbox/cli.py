"""`ws1ai sandbox ...`: run the emulated Workspace ONE UEM tenant on this machine."""

from __future__ import annotations

import logging
import socket
import time
from typing import Annotated

import typer

from ws1ai.settings import SandboxSettings

__all__ = ["sandbox_app"]

log = logging.getLogger("ws1ai.sandbox")

sandbox_app = typer.Typer(
    help="The sandbox tenant: the Workspace ONE UEM API (plus ServiceNow, an HRIS and Intelligence-style "
    "report export) served from a simulated fleet, so flows run with no tenant and no internet.",
    no_args_is_help=True,
)

_DEFAULTS = SandboxSettings()


@sandbox_app.callback()
def _group() -> None:
    """Keeps `serve` a subcommand (Typer collapses single-command apps)."""


@sandbox_app.command()
def serve(
    host: Annotated[str, typer.Option(help="Bind address. Keep the loopback default unless you mean it.")] = (
        _DEFAULTS.host
    ),
    port: Annotated[int, typer.Option(help="TCP port (0 = any free port).")] = _DEFAULTS.port,
    devices: Annotated[
        int, typer.Option(min=0, help="Fleet size to simulate and serve.")
    ] = _DEFAULTS.devices,
    seed: Annotated[
        int, typer.Option(help="Simulator seed: the same seed gives the same fleet.")
    ] = _DEFAULTS.seed,
    days: Annotated[int, typer.Option(min=1, help="Days of daily telemetry history.")] = _DEFAULTS.days,
    rate_limit_per_minute: Annotated[
        int, typer.Option(min=1, help="Server throttle: requests per minute before 429 + Retry-After.")
    ] = _DEFAULTS.rate_limit_per_minute,
    daily_quota: Annotated[
        int, typer.Option(min=1, help="Daily quota (x-ratelimit-limit); 429 when exhausted.")
    ] = _DEFAULTS.daily_quota,
) -> None:
    """Seed a fleet and serve the tenant until Ctrl-C.

    Credentials accepted are the client's own settings (WS1_USERNAME, WS1_PASSWORD, WS1_TENANT_CODE,
    WS1_CLIENT_ID, WS1_CLIENT_SECRET, SERVICENOW_USERNAME/PASSWORD, HRIS_API_KEY; see ws1ai/settings.py).
    Control endpoints live under /_sandbox (reset, seed, faults, ledger, requests, clock).
    """
    import uvicorn

    from ws1ai.sandbox.app import create_app
    from ws1ai.sandbox.state import SandboxState

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    started = time.perf_counter()
    state = SandboxState.seeded(
        devices, seed, days, rate_limit_per_minute=rate_limit_per_minute, daily_quota=daily_quota
    )
    log.info(
        "seeded %d devices (seed %d, %d days of telemetry, %s..%s) in %.1f s",
        len(state.devices),
        seed,
        days,
        state.start,
        state.end,
        time.perf_counter() - started,
    )
    settings = SandboxSettings(
        host=host,
        port=port,
        devices=devices,
        seed=seed,
        days=days,
        rate_limit_per_minute=rate_limit_per_minute,
        daily_quota=daily_quota,
    )
    app = create_app(state, settings=settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))  # bound here so `--port 0` can report the port it got
    bound = sock.getsockname()[1]
    log.info(
        "listening on http://%s:%d (UEM API under /API, OAuth at /connect/token, ServiceNow at /api/now, "
        "HRIS at /hris, reports at /v1/reports, control at /_sandbox); throttle %d/min, quota %d/day",
        host,
        bound,
        rate_limit_per_minute,
        daily_quota,
    )
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
