"""The CLI writes parquet that read_fleet reads back identically."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from ws1ai.sandbox.fleet import CONTRACT, generate_fleet, read_fleet
from ws1ai.sandbox.fleet.cli import fleet_app


def test_generate_writes_readable_fleet(tmp_path: Path) -> None:
    out = tmp_path / "fleet"
    result = CliRunner().invoke(
        fleet_app, ["generate", "--devices", "200", "--seed", "5", "--days", "30", "--out", str(out),
                    "--end", "2026-06-30"]
    )
    assert result.exit_code == 0, result.output
    assert "telemetry" in result.output
    for name in CONTRACT:
        assert (out / f"{name}.parquet").exists()
    meta = json.loads((out / "fleet.json").read_text())
    assert meta["devices"] == 200 and meta["seed"] == 5 and meta["end"] == "2026-06-30"
    back = read_fleet(out)
    again = generate_fleet(200, seed=5, days=30, end=back.end)
    for name in CONTRACT:
        assert_frame_equal(getattr(back, name), getattr(again, name))


def test_truth_files_on_request(tmp_path: Path) -> None:
    args = ["generate", "--devices", "300", "--seed", "2", "--days", "120", "--out", str(tmp_path), "--truth"]
    result = CliRunner().invoke(fleet_app, args)
    assert result.exit_code == 0, result.output
    truth = pl.read_parquet(tmp_path / "failure_truth.parquet")
    assert truth.columns == ["device_id", "failed_on", "component", "lead_days", "precursor_from",
                             "in_window"]
    failures = pl.read_parquet(tmp_path / "failures.parquet")
    assert truth.filter(pl.col("in_window")).height == failures.height
    assert pl.read_parquet(tmp_path / "security_truth.parquet").height == 300
    assert read_fleet(tmp_path).devices.height == 300  # extra files do not disturb the contract reader


def test_bad_date_is_rejected(tmp_path: Path) -> None:
    args = ["generate", "--devices", "5", "--out", str(tmp_path), "--end", "11/01"]
    result = CliRunner().invoke(fleet_app, args)
    assert result.exit_code != 0
    assert "YYYY-MM-DD" in result.output


def test_help_explains() -> None:
    result = CliRunner().invoke(fleet_app, ["generate", "--help"])
    assert result.exit_code == 0
    assert "--devices" in result.output and "parquet" in result.output
