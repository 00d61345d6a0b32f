"""compliance_history: contract dtypes, consistent with devices, deterministic, and changes no other table."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from models.schemas import validate_table
from ws1ai.sandbox.fleet import CONTRACT, Fleet, generate_fleet, read_fleet, security_truth, write_fleet

N, SEED, DAYS = 1500, 4, 240


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    return generate_fleet(N, seed=SEED, days=DAYS)


def _current_violation_days(fleet: Fleet) -> pl.DataFrame:
    """device_id, days: for devices NonCompliant now, days since the last run of NonCompliant rows began."""
    h = fleet.compliance_history.sort("device_id", "date")
    run = h.with_columns(
        (pl.col("compliance_status") != pl.col("compliance_status").shift(1).over("device_id"))
        .fill_null(True)
        .cum_sum()
        .over("device_id")
        .alias("run")
    )
    last = run.group_by("device_id").agg(
        pl.col("date").filter(pl.col("run") == pl.col("run").max()).min().alias("since"),
        pl.col("compliance_status").last(),
    )
    return last.filter(pl.col("compliance_status") == "NonCompliant").select(
        "device_id", (pl.lit(fleet.end) - pl.col("since")).dt.total_days().alias("days")
    )


def test_contract_dtypes_in_both_contracts(fleet: Fleet) -> None:
    h = fleet.compliance_history
    assert list(h.columns) == list(CONTRACT["compliance_history"])
    assert h.columns == ["device_id", "date", "compliance_status"]
    assert validate_table("compliance_history", h).equals(h)
    assert h.height > N  # a first row per device plus changes
    assert set(h["compliance_status"].unique()) == {"Compliant", "NonCompliant", "NotAvailable"}


def test_change_points_sorted_in_window_from_enrolment(fleet: Fleet) -> None:
    h = fleet.compliance_history
    assert h.equals(h.sort("device_id", "date"))
    assert h.select("device_id", "date").is_unique().all()
    assert h["date"].min() >= fleet.start and h["date"].max() <= fleet.end  # type: ignore[operator]
    # One row per change: never the same status twice in a row for a device.
    prev = pl.col("compliance_status").shift(1).over("device_id")
    assert h.filter(prev == pl.col("compliance_status")).height == 0
    # Every device's first row is its first day in the window: window start or its enrolment day.
    first = h.group_by("device_id").agg(pl.col("date").min().alias("first"))
    dev = fleet.devices.select(
        "device_id",
        pl.max_horizontal(pl.col("enrolled_on").dt.date(), pl.lit(fleet.start)).alias("expect"),
    )
    both = dev.join(first, on="device_id", how="left")
    assert both["first"].null_count() == 0
    assert (both["first"] == both["expect"]).all()


def test_last_status_is_the_devices_status(fleet: Fleet) -> None:
    h = fleet.compliance_history
    last = h.group_by("device_id").agg(pl.col("compliance_status").last().alias("last"))
    both = fleet.devices.select("device_id", "compliance_status").join(last, on="device_id", how="left")
    assert both.height == N
    assert (both["compliance_status"] == both["last"]).all()


def test_fixed_violations_and_stale_devices(fleet: Fleet) -> None:
    h = fleet.compliance_history
    ever_bad = h.filter(pl.col("compliance_status") == "NonCompliant")["device_id"].unique().implode()
    status = fleet.devices["compliance_status"]
    fixed = fleet.devices.filter((status == "Compliant") & pl.col("device_id").is_in(ever_bad))
    assert fixed.height > 0.2 * (status == "Compliant").sum()  # past violations that were remediated
    # Stale devices (not seen for 30+ days) became NotAvailable after they were last seen.
    stale = fleet.devices.filter(pl.col("last_seen").dt.date() < fleet.end - timedelta(days=30))
    assert stale.height > 0 and (stale["compliance_status"] == "NotAvailable").all()
    na_since = h.filter(pl.col("compliance_status") == "NotAvailable").group_by("device_id").agg(
        pl.col("date").max().alias("na")
    )
    seen = stale.join(na_since, on="device_id").filter(pl.col("last_seen").dt.date() >= fleet.start)
    assert seen.height > 0
    assert (seen["na"] > seen["last_seen"].dt.date()).all()
    # Benign episodes are short: most past violations that ended lasted under two weeks.
    ends = h.with_columns(pl.col("date").shift(-1).over("device_id").alias("until"))
    ended = ends.filter((pl.col("compliance_status") == "NonCompliant") & pl.col("until").is_not_null())
    lasted = (ended["until"] - ended["date"]).dt.total_days()
    assert lasted.median() < 14  # type: ignore[operator]


def test_true_high_risk_devices_have_longer_current_violations(fleet: Fleet) -> None:
    truth = security_truth(N, seed=SEED, days=DAYS)
    high = truth.filter(pl.col("compromised") | pl.col("infected"))["device_id"].implode()
    ages = _current_violation_days(fleet).with_columns(pl.col("device_id").is_in(high).alias("high"))
    mean = dict(ages.group_by("high").agg(pl.col("days").mean()).iter_rows())
    assert ages["high"].sum() >= 8
    assert mean[True] > 2 * mean[False], mean


def test_same_seed_same_history_other_seed_differs() -> None:
    a = generate_fleet(300, seed=8, days=90)
    b = generate_fleet(300, seed=8, days=90)
    c = generate_fleet(300, seed=9, days=90)
    assert_frame_equal(a.compliance_history, b.compliance_history)
    assert not a.compliance_history.equals(c.compliance_history)


def test_other_tables_do_not_depend_on_it() -> None:
    """Its own random stream, drawn after every other stage: switching it off changes nothing else."""
    on = generate_fleet(500, seed=6, days=120)
    off = generate_fleet(500, seed=6, days=120, compliance_history=False)
    assert off.compliance_history.height == 0
    validate_table("compliance_history", off.compliance_history)
    for name in CONTRACT:
        if name != "compliance_history":
            assert_frame_equal(getattr(on, name), getattr(off, name))


def test_tiny_fleets_and_one_day() -> None:
    for n, days in ((0, 1), (1, 1), (5, 3), (40, 1)):
        f = generate_fleet(n, seed=2, days=days)
        assert f.compliance_history.select("device_id").n_unique() == n
        assert f.compliance_history.schema == pl.Schema(CONTRACT["compliance_history"])


def test_fleet_written_without_it_reads_back_empty(tmp_path: Path) -> None:
    f = generate_fleet(50, seed=3, days=20)
    write_fleet(f, tmp_path)
    assert_frame_equal(read_fleet(tmp_path).compliance_history, f.compliance_history)
    (tmp_path / "compliance_history.parquet").unlink()
    back = read_fleet(tmp_path)
    assert back.compliance_history.height == 0 and back.devices.equals(f.devices)
