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
