"""Compliance risk reasons are true of the input; role bundles are explainable; both through the CLI."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from models.cli import models_app
from models.provisioning import learn_bundles
from models.risk import RiskConfig, fit_risk, score_risk

D = dt.date(2026, 10, 31)


def _devices() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "device_id": [1, 2, 3, 4],
            "platform": ["Apple"] * 4,
            "os_version": ["27.1", "26.5", "27.1", "27.0"],
            "compliance_status": ["NonCompliant", "NonCompliant", "Compliant", "NonCompliant"],
            "compromised": [True, False, False, False],
            "encrypted": [True, False, True, True],
            "role": ["Controller", "Designer", "Designer", "Clerk"],
            "department": ["Finance", "Marketing", "Marketing", "Ops"],
            "purchase_date": [
                dt.date(2025, 1, 1),
                dt.date(2020, 1, 1),
                dt.date(2025, 1, 1),
                dt.date(2025, 1, 1),
            ],
        }
    )


def test_risk_reasons_are_true_of_the_input() -> None:
    dev = _devices()
    threats = pl.DataFrame(
        {
            "device_id": [2, 2, 4],
            "date": [D, D - dt.timedelta(days=1), D - dt.timedelta(days=60)],
            "edr_risk_score": [0.9, 0.7, 0.99],
            "source": ["edr"] * 3,
        }
    )
    history = pl.DataFrame(
        {
            "device_id": [2, 2, 2],
            "date": [D - dt.timedelta(days=k) for k in (20, 10, 0)],
            "compliance_status": ["Compliant", "NonCompliant", "NonCompliant"],
        }
    )
    params = fit_risk(dev, RiskConfig(role_sensitivity={"Clerk": "low"}))
    out = score_risk(dev, threats, history, params, D, max_reasons=10)
    assert set(out["device_id"]) == {1, 2, 4}  # only non-compliant devices
    reasons = {r["device_id"]: r["reasons"] for r in out.iter_rows(named=True)}
    assert "device is compromised (jailbroken or rooted)" in reasons[1]
    assert not any("compromised" in r for r in reasons[2] + reasons[4])
    assert "storage is not encrypted" in reasons[2] and not any("encrypted" in r for r in reasons[1])
    assert any(r.startswith("EDR risk up to 0.9") and "2 high-risk day(s)" in r for r in reasons[2])
    assert not any("EDR" in r for r in reasons[4])  # its only signal is 60 days old
    assert "OS 26.5 is 2 version(s) behind 27.1" in reasons[2]
    assert "role 'Controller' handles high-sensitivity data" in reasons[1]
    assert not any("role" in r for r in reasons[4])  # configured low
    assert "non-compliant for 10 days" in reasons[2]
    assert any(r.startswith("device is 6.8 years old") for r in reasons[2])
    shown = score_risk(dev, threats, history, params, D, keep=("sensitivity", "violation_days"))
    facts = {r["device_id"]: (r["sensitivity"], r["violation_days"]) for r in shown.iter_rows(named=True)}
    assert facts[1] == ("high", None) and facts[2][1] == 10 and facts[4] == ("low", None)
    scores = dict(zip(out["device_id"], out["risk_score"], strict=True))
    assert scores[1] > scores[4] and scores[2] > scores[4] and all(0 < s < 1 for s in scores.values())


def test_an_edr_signal_older_than_the_max_window_is_described_by_what_it_is() -> None:
    """High EDR days 20 days ago score (30-day count) while the 14-day maximum is empty: no 'None' text."""
    dev = _devices().filter(pl.col("device_id") == 4)
    threats = pl.DataFrame(
        {
            "device_id": [4, 4],
            "date": [D - dt.timedelta(days=20), D - dt.timedelta(days=21)],
            "edr_risk_score": [0.8, 0.6],
            "source": ["edr"] * 2,
        }
    )
    out = score_risk(dev, threats, None, fit_risk(dev), D, max_reasons=10)
    [reasons] = out["reasons"].to_list()
    assert "2 high-risk EDR day(s) in the last 30 days" in reasons
    assert all(r is not None and "None" not in r for r in reasons)


def test_bundles_support_is_the_share_of_peers() -> None:
    dev = pl.DataFrame(
        {"device_id": [1, 2, 3, 4], "department": ["Sales"] * 3 + ["Ops"], "role": ["Rep"] * 3 + ["Tech"]}
    )
    profiles = pl.DataFrame({"device_id": [1, 2, 3, 4], "profile_id": [7, 7, 8, 7]})
    installs = pl.DataFrame({"device_id": [1, 2], "app_id": [5, 5], "installed_on": [D, D]})
    groups = pl.DataFrame(
        {
            "smart_group_id": [100, 101],
            "name": ["sales", "all"],
            "department": ["Sales", None],
            "role": [None, None],
        }
    )
    b = learn_bundles(dev, profiles, installs, groups, min_support=0.6, min_peers=3)
    rows = {(r["item_kind"], r["item_id"]): r["support"] for r in b.iter_rows(named=True)}
    assert rows == {
        ("profile", 7): 2 / 3,
        ("app", 5): 2 / 3,
        ("smart_group", 100): 1.0,
        ("smart_group", 101): 1.0,
    }
    assert set(b["department"]) == {"Sales"}  # Ops has one device: below min_peers


def test_risk_and_bundles_cli(fleet_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    expected = {
        "risk": ["device_id", "risk_score", "reasons"],
        "bundles": ["department", "role", "item_kind", "item_id", "support"],
    }
    for name, columns in expected.items():
        model = tmp_path / f"{name}.skops"
        res = runner.invoke(models_app, ["train", name, "--data", str(fleet_dir), "--out", str(model)])
        assert res.exit_code == 0, res.output
        res = runner.invoke(models_app, ["evaluate", name, "--data", str(fleet_dir), "--model", str(model)])
        assert res.exit_code == 0, res.output
        out = tmp_path / f"{name}.parquet"
        res = runner.invoke(
            models_app, ["score", name, "--data", str(fleet_dir), "--model", str(model), "--out", str(out)]
        )
        assert res.exit_code == 0, res.output
        frame = pl.read_parquet(out)
        assert frame.columns == columns and frame.height > 0
