"""`ws1ai demo`: the main job on the embedded sandbox — what `make run` does.

It starts the sandbox tenant on 127.0.0.1 with a simulated fleet, then does what a blueprint's first task does
against a real tenant: sweeps the whole inventory through the UEM client (pages of 500, shared rate limiter),
and reports the fleet's state and what the sweep cost in API calls. It grows as the blueprints land.
"""

from __future__ import annotations

import logging
import time
from collections import Counter

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ws1ai.sandbox import SandboxState
from ws1ai.sandbox.server import serve_in_background
from ws1ai.settings import UEMSettings
from ws1ai.uem import UEMClient

__all__ = ["demo_command"]

log = logging.getLogger("ws1ai.demo")


def demo_command(
    devices: int = typer.Option(2000, min=1, help="Size of the simulated fleet the sandbox is seeded with."),
    seed: int = typer.Option(7, help="Fleet simulator seed (same seed, same fleet)."),
    days: int = typer.Option(30, min=0, help="Days of telemetry history to simulate."),
    rate_limit_per_minute: int = typer.Option(
        6000, min=1, help="Client request budget per minute (the sandbox throttles above 1.2x this)."
    ),
) -> None:
    """Start the sandbox tenant, sweep its fleet through the UEM client, and report what was found."""
    console = Console()
    started = time.perf_counter()
    with console.status(f"Seeding the sandbox with {devices} devices (seed {seed}, {days} days)..."):
        state = SandboxState.seeded(devices=devices, seed=seed, days=days)
    from ws1ai.sandbox import create_app
    from ws1ai.settings import SandboxSettings

    sandbox_settings = SandboxSettings(rate_limit_per_minute=int(rate_limit_per_minute * 1.2))
    app = create_app(state, settings=sandbox_settings)
    with serve_in_background(app) as base_url:
        console.print(f"Sandbox tenant listening on [bold]{base_url}[/] (loopback only)")
        settings = UEMSettings(
            base_url=base_url,
            token_url=f"{base_url}/connect/token",
            rate_limit_per_minute=rate_limit_per_minute,
            read_only=True,  # the demo sweep only reads: least privilege
        )
        platforms: Counter[str] = Counter()
        compliance: Counter[str] = Counter()
        with (
            UEMClient(settings) as client,
            Progress(
                TextColumn("Sweeping inventory"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
            ) as progress,
        ):
            task = progress.add_task("sweep", total=devices)
            for device in client.devices.iter_search():
                platforms[device.platform or "?"] += 1
                compliance[device.compliance_status or "?"] += 1
                progress.advance(task)
            calls = client.stats.requests
    swept = sum(platforms.values())
    table = Table(title=f"Fleet swept from the sandbox tenant: {swept} devices")
    table.add_column("platform")
    table.add_column("devices", justify="right")
    for name, count in platforms.most_common():
        table.add_row(name, str(count))
    console.print(table)
    console.print(
        "Compliance: " + ", ".join(f"{name} {count}" for name, count in compliance.most_common())
    )
    console.print(
        f"API calls: {calls} for {swept} devices ({calls / max(swept, 1):.4f} per device); "
        f"total {time.perf_counter() - started:.1f} s"
    )
    if swept != devices:
        console.print(f"[red]Expected {devices} devices, swept {swept}[/]")
        raise typer.Exit(1)
