"""`ws1ai fleet generate`: write a simulated fleet as contract parquet files."""

from __future__ import annotations

import time
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from ws1ai.sandbox.fleet.generate import DEFAULT_END, generate_fleet
from ws1ai.sandbox.fleet.io import write_fleet
from ws1ai.sandbox.fleet.truth import failure_truth, security_truth

__all__ = ["fleet_app"]

fleet_app = typer.Typer(
    help="Deterministic fleet simulator: devices, daily telemetry, failures (ground truth), apps, usage, "
    "HRIS employees, EDR threat signals and compliance status changes, as the data contracts of "
    "docs/design.md.",
    no_args_is_help=True,
)


@fleet_app.callback()
def _group() -> None:
    """Keeps `generate` a subcommand even though it is the only one (Typer collapses single commands)."""


def _parse_date(value: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError as exc:
        raise typer.BadParameter(f"expected YYYY-MM-DD, got {value!r}") from exc


@fleet_app.command()
def generate(
    devices: Annotated[int, typer.Option(min=0, help="Number of devices in the fleet.")] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed: the same parameters give identical files.")] = 42,
    days: Annotated[int, typer.Option(min=1, help="Days of daily telemetry, ending on --end.")] = 90,
    out: Annotated[Path, typer.Option(help="Directory for <table>.parquet files and fleet.json.")] = Path(
        "fleet"),
    end: Annotated[str, typer.Option(help="Last simulated day (YYYY-MM-DD).")] = DEFAULT_END.isoformat(),
    truth: Annotated[bool, typer.Option(
        "--truth/--no-truth",
        help="Also write evaluation-only ground truth: failure_truth.parquet (precursor onset per failure, "
        "incl. failures just after --end) and security_truth.parquet (latent infections).")] = False,
) -> None:
    """Generate a fleet and write one parquet file per table plus fleet.json (the parameters)."""
    end_date = _parse_date(end)
    console = Console(stderr=True)
    started = time.perf_counter()
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, advanced: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.advance(tasks[stage], advanced)

        fleet = generate_fleet(devices, seed, days, end_date, progress=progress)
        task = bar.add_task("writing parquet", total=None)
        params = {"devices": devices, "seed": seed, "days": days}
        paths = write_fleet(fleet, out, params)
        if truth:
            for name, frame in (("failure_truth", failure_truth(devices, seed, days, end_date)),
                                ("security_truth", security_truth(devices, seed, days, end_date))):
                frame.write_parquet(out / f"{name}.parquet")
                paths.append(out / f"{name}.parquet")
        bar.update(task, completed=1, total=1)
    elapsed = time.perf_counter() - started

    table = Table(title=f"Fleet {fleet.start} .. {fleet.end} (seed {seed}) in {elapsed:.1f}s -> {out}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    table.add_column("file")
    for name, frame in fleet.tables().items():
        table.add_row(name, f"{frame.height:,}", f"{name}.parquet")
    console_out = Console()
    console_out.print(table)
    n = max(fleet.devices.height, 1)
    console_out.print(
        f"failures: {fleet.failures.height} ({fleet.failures.height / n:.1%} of devices); "
        f"non-compliant: {(fleet.devices['compliance_status'] == 'NonCompliant').sum()}; "
        f"files written: {len(paths)}"
    )
