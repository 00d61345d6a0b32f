"""CLI: train -> evaluate -> score on a small generated fleet, real parquet in and out."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from models.cli import models_app

runner = CliRunner()

HEALTH_COLUMNS = {
    "device_id": pl.Int64,
    "failure_probability": pl.Float64,
    "likely_component": pl.String,
    "horizon_days": pl.Int64,
    "model_version": pl.String,
}


def test_health_train_evaluate_score(health_model: Path, other_fleet_dir: Path, tmp_path: Path) -> None:
    model = health_model  # trained by `ws1ai models train health` in the fixture
    assert model.exists() and model.with_name("health.skops.json").exists()

    res = runner.invoke(
        models_app, ["evaluate", "health", "--data", str(other_fleet_dir), "--model", str(model), "--json"]
    )
    assert res.exit_code == 0, res.output
    metrics = json.loads(res.output)
    assert metrics["same_fleet_as_training"] is False and metrics["snapshots"] > 0
    assert 0.0 <= metrics["roc_auc"] <= 1.0
    assert Path(metrics["plot"]).stat().st_size > 1000
    assert model.with_name("health.skops.eval.json").exists()

    out = tmp_path / "scores.parquet"
    res = runner.invoke(
        models_app,
        [
            "score",
            "health",
            "--data",
            str(other_fleet_dir),
            "--model",
            str(model),
            "--out",
            str(out),
            "--as-of",
            "2026-09-01",
        ],
    )
    assert res.exit_code == 0, res.output
    scores = pl.read_parquet(out)
    assert dict(scores.schema) == HEALTH_COLUMNS
    assert scores.height > 0 and scores["failure_probability"].is_between(0, 1).all()
    assert set(scores["likely_component"]) <= {"battery", "storage", "logic_board"}


def test_cli_reports_contract_errors_cleanly(fleet_dir: Path, health_model: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in fleet_dir.glob("*.parquet"):
        frame = pl.read_parquet(f)
        if f.stem == "telemetry":
            frame = frame.drop("crash_count")
        frame.write_parquet(bad / f.name)
    res = runner.invoke(
        models_app,
        [
            "score",
            "health",
            "--data",
            str(bad),
            "--model",
            str(health_model),
            "--out",
            str(tmp_path / "x.parquet"),
        ],
    )
    assert res.exit_code == 2
    assert "telemetry.crash_count" in res.output


def _pandas_style_copy(src: Path, dst: Path) -> None:
    """The same fleet as a pandas-based tool writes it: dates as datetime64[ns] at midnight, integer
    columns with gaps as float64 (NaN), narrower ints, and rows in another order."""
    dst.mkdir()
    for f in src.glob("*.parquet"):
        frame = pl.read_parquet(f)
        cols = []
        for name, dtype in frame.schema.items():
            s = frame[name]
            if dtype == pl.Date:
                s = s.cast(pl.Datetime("ns"))
            elif dtype.is_integer() and s.null_count():
                s = s.cast(pl.Float64).fill_null(float("nan"))
            elif dtype.is_integer() and name != "device_id":
                s = s.cast(pl.Int32)
            cols.append(s)
        pl.DataFrame(cols).sample(fraction=1.0, shuffle=True, seed=7).write_parquet(dst / f.name)


def test_a_pandas_written_fleet_scores_the_same(fleet_dir: Path, health_model: Path, tmp_path: Path) -> None:
    messy = tmp_path / "messy"
    _pandas_style_copy(fleet_dir, messy)

    def run(*args: str) -> None:
        res = runner.invoke(models_app, list(args))
        assert res.exit_code == 0, res.output

    for name, data in (("clean", fleet_dir), ("messy", messy)):
        run(
            "score",
            "health",
            "--data",
            str(data),
            "--model",
            str(health_model),
            "--out",
            f"{tmp_path}/h-{name}",
        )
        # Training too: the same data in another row order must give the same model.
        run("train", "usage", "--data", str(data), "--out", str(tmp_path / f"u-{name}.skops"))
        model = str(tmp_path / f"u-{name}.skops")
        run("score", "usage", "--data", str(data), "--model", model, "--out", f"{tmp_path}/u-{name}")
    health = [pl.read_parquet(tmp_path / f"h-{n}") for n in ("clean", "messy")]
    assert health[0].height == 600 and health[0].equals(health[1])
    usage = [pl.read_parquet(tmp_path / f"u-{n}") for n in ("clean", "messy")]
    assert usage[0].height > 0 and usage[0].equals(usage[1])
