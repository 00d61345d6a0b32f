"""`evaluate risk` on a generated fleet reads compliance_history: violation-age reasons are true of it."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import polars as pl
import pytest

from models import pipeline

AGE = re.compile(r"^non-compliant for (\d+) days$")


@pytest.fixture(scope="module")
def risk_fleet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(fleet dir with history and truth, the same without compliance_history.parquet, trained model)."""
    from ws1ai.sandbox.fleet import generate_fleet, security_truth, write_fleet

    root = tmp_path_factory.mktemp("risk_history")
    data = root / "with"
    write_fleet(generate_fleet(1200, seed=21, days=150), data)
    security_truth(1200, seed=21, days=150).write_parquet(data / "security_truth.parquet")
    without = root / "without"
    shutil.copytree(data, without)
    (without / "compliance_history.parquet").unlink()
    model = root / "risk.skops"
    pipeline.train("risk", data, model)
    return data, without, model


def _status_on(history: pl.DataFrame, device: int, day: dt.date) -> str | None:
    """The device's status on `day` from change points: its last row on or before the day."""
    rows = history.filter((pl.col("device_id") == device) & (pl.col("date") <= day))
    return None if rows.is_empty() else str(rows.sort("date")["compliance_status"][-1])


def _ages(scored: pl.DataFrame) -> dict[int, int]:
    out = {}
    for device, reasons in scored.select("device_id", "reasons").iter_rows():
        for r in reasons or []:
            if m := AGE.match(r):
                out[int(device)] = int(m.group(1))
    return out


def test_violation_age_reasons_are_true_of_the_history(risk_fleet: tuple[Path, Path, Path]) -> None:
    data, _, model = risk_fleet
    metrics, scored = pipeline.evaluate("risk", data, model)
    as_of = dt.date.fromisoformat(metrics["as_of"])
    history = pl.read_parquet(data / "compliance_history.parquet")
    ages = _ages(scored)
    assert len(ages) >= 20, "the history should earn violation-age reasons"
    assert any(n >= 28 for n in ages.values()) and any(n < 28 for n in ages.values())
    for device, n in ages.items():
        since = as_of - dt.timedelta(days=n)
        assert _status_on(history, device, since) == "NonCompliant", device
        later = history.filter(
            (pl.col("device_id") == device) & (pl.col("date") > since) & (pl.col("date") <= as_of)
        )
        assert (later["compliance_status"] == "NonCompliant").all(), device  # non-compliant ever since
        before = _status_on(history, device, since - dt.timedelta(days=1))
        assert before != "NonCompliant", device  # and not before: the violation began that day


def test_without_history_no_age_reasons_and_lower_scores(risk_fleet: tuple[Path, Path, Path]) -> None:
    data, without, model = risk_fleet
    m_with, s_with = pipeline.evaluate("risk", data, model)
    m_without, s_without = pipeline.evaluate("risk", without, model)
    assert not _ages(s_without)
    both = s_with.join(s_without, on="device_id", suffix="_without")
    aged = both.filter(pl.col("device_id").is_in(list(_ages(s_with))))
    assert (aged["risk_score"] > aged["risk_score_without"]).all()
    others = both.filter(~pl.col("device_id").is_in(list(_ages(s_with))))
    assert (others["risk_score"] >= others["risk_score_without"] - 1e-12).all()
    # The bar: truly high-risk devices are in the top decile with the history as without it.
    assert m_with["all_devices"]["high_risk"] == m_without["all_devices"]["high_risk"] > 0
    assert m_with["all_devices"]["high_risk_in_top_decile"] >= 0.85


def test_score_cli_path_reads_the_history(risk_fleet: tuple[Path, Path, Path]) -> None:
    data, without, model = risk_fleet
    scored = pipeline.score("risk", data, model)
    assert _ages(scored) and not _ages(pipeline.score("risk", without, model))
