"""`ws1ai models ...`: train, evaluate and score the models on a directory of contract parquet files."""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from models import pipeline
from models.plots import plot_evaluation
from models.registry import IncompatibleModelError
from models.schemas import ContractError

__all__ = ["models_app"]

models_app = typer.Typer(
    help="Train, evaluate and score the ML models (health, risk, usage, bundles).", no_args_is_help=True
)
_err = Console(stderr=True)


class Name(StrEnum):
    health = "health"
    risk = "risk"
    usage = "usage"
    bundles = "bundles"


DataOpt = Annotated[Path, typer.Option("--data", help="directory of <table>.parquet contract files")]
ModelOpt = Annotated[Path, typer.Option("--model", help="model file written by `train` (sidecar beside it)")]

# Steps each trainer reports, so the bar has a meaningful length (extra messages just advance it).
_STEPS = {"health": 7, "risk": 3, "usage": 5, "bundles": 3}


def _fail(exc: Exception, data: Path | None = None) -> typer.Exit:
    if data is not None and not isinstance(exc, ContractError | IncompatibleModelError):
        exc = _name_unreadable(data, exc)
    _err.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True, highlight=False)  # one line
    return typer.Exit(code=2)


def _name_unreadable(data: Path, exc: Exception) -> Exception:
    """polars/pyarrow do not say which file a read failed on: find the first parquet file that does not open,
    so the one line names it (e.g. "cannot read data/telemetry.parquet: ... magic bytes ...")."""
    files = sorted(data.glob("*.parquet")) if data.is_dir() else [data]
    for path in files:
        try:
            pl.read_parquet_schema(path)
        except Exception as bad:  # any failure to open is what we are looking for
            return ValueError(f"cannot read {path}: {' '.join(str(bad).split())} (re-create or replace it)")
    return exc


# What reading a corrupted or truncated file raises (pyarrow's own errors are ValueError/OSError subclasses).
_READ_ERRORS = (OSError, pl.exceptions.PolarsError)


@models_app.command()
def train(
    name: Name,
    data: DataOpt,
    out: Annotated[Path, typer.Option("--out", help="where to write the model (and <out>.json)")],
    seed: Annotated[int, typer.Option(help="random seed (same seed + data = same model)")] = 0,
    horizon_days: Annotated[int, typer.Option(help="health: failure horizon")] = 14,
    cost_miss: Annotated[float, typer.Option(help="health: cost of a missed failure")] = 20.0,
    cost_false_alarm: Annotated[float, typer.Option(help="health: cost of an unneeded check")] = 1.0,
    weekly_review_budget: Annotated[
        int | None, typer.Option(help="health: alerts a week; overrides the cost threshold")
    ] = None,
    max_iter: Annotated[
        int, typer.Option(help="health: boosting iterations (fewer = faster, rougher)")
    ] = 150,
) -> None:
    """Fit a model on DIR and save it with its JSON sidecar."""
    opts: dict[str, Any] = {
        "seed": seed,
        "horizon_days": horizon_days,
        "cost_miss": cost_miss,
        "cost_false_alarm": cost_false_alarm,
        "weekly_review_budget": weekly_review_budget,
        "max_iter": max_iter,
    }
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    try:
        # No bar when stderr is not a terminal: a stale frame in a log or pipe says nothing.
        with Progress(*columns, console=_err, transient=False, disable=not _err.is_terminal) as bar:
            task = bar.add_task(f"training {name.value}", total=_STEPS[name.value])

            def step(msg: str) -> None:
                bar.update(task, advance=1, description=f"{name.value}: {msg}")

            card = pipeline.train(name.value, data, out, opts, progress=step)
            bar.update(task, completed=_STEPS[name.value], description=f"{name.value}: done")
    except (ContractError, ValueError, *_READ_ERRORS) as exc:
        raise _fail(exc, data) from exc
    typer.echo(f"saved {out} ({card.model_version})")


@models_app.command()
def evaluate(
    name: Name,
    data: DataOpt,
    model: ModelOpt,
    as_json: Annotated[bool, typer.Option("--json", help="print the metrics as JSON")] = False,
    report: Annotated[
        Path | None,
        typer.Option(help="metrics JSON path (default <model>.eval.json); the PNG goes beside it"),
    ] = None,
) -> None:
    """Metrics on data the model did not train on (later days of the same fleet, or another fleet)."""
    try:
        # No total to show: a spinner, what is being done and the time so far (blocks of devices for health).
        columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
        with Progress(*columns, console=_err, transient=True, disable=not _err.is_terminal) as bar:
            task = bar.add_task(f"evaluating {name.value}", total=None)

            def step(msg: str) -> None:
                bar.update(task, description=f"{name.value}: {msg}")

            metrics, scored = pipeline.evaluate(name.value, data, model, progress=step)
    except (ContractError, IncompatibleModelError, ValueError, *_READ_ERRORS) as exc:
        raise _fail(exc, data) from exc
    report = report or model.with_name(model.name + ".eval.json")
    png = report.with_suffix(".png")
    metrics["plot"] = str(plot_evaluation(name.value, metrics, scored, png))
    text = json.dumps(metrics, indent=2, default=str)
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(text + "\n")
    if as_json:
        typer.echo(text)
    else:
        flat = {k: v for k, v in metrics.items() if isinstance(v, int | float | str) or v is None}
        for key, value in flat.items():
            typer.echo(f"{key:32} {value:.4f}" if isinstance(value, float) else f"{key:32} {value}")
        typer.echo(f"report: {report}  plot: {png}")


@models_app.command()
def score(
    name: Name,
    data: DataOpt,
    model: ModelOpt,
    out: Annotated[Path, typer.Option("--out", help="output parquet file")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="YYYY-MM-DD; only rows dated on or before it are used")
    ] = None,
) -> None:
    """Score DIR as of a date (default: the last date in the data) and write a parquet file."""
    try:
        try:
            when = dt.date.fromisoformat(as_of) if as_of else None
        except ValueError:
            bad = f"{as_of!r} is not a date: use YYYY-MM-DD"
            raise typer.BadParameter(bad, param_hint="--as-of") from None
        frame = pipeline.score(name.value, data, model, when)
    except (ContractError, IncompatibleModelError, ValueError, *_READ_ERRORS) as exc:
        raise _fail(exc, data) from exc
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(out)
    typer.echo(f"wrote {frame.height} rows to {out}")
