"""Features as of a date: no leakage, robust to missing days, vectorised over many as-of dates."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from models.features import feature_columns, health_features

END = dt.date(2026, 3, 31)


def _fleet(n: int = 20, days: int = 90, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    dates = [END - dt.timedelta(days=i) for i in range(days)]
    tel = pl.DataFrame(
        {
            "device_id": np.repeat(np.arange(n), days),
            "date": dates * n,
            "battery_health_pct": rng.uniform(70, 100, n * days),
            "battery_cycles": rng.integers(0, 500, n * days),
            "storage_used_pct": rng.uniform(0, 100, n * days),
            "crash_count": rng.poisson(0.3, n * days),
            "kernel_panic_count": rng.poisson(0.05, n * days),
            "thermal_event_count": rng.poisson(0.1, n * days),
        }
    ).with_columns(pl.col("date").cast(pl.Date))
    dev = pl.DataFrame(
        {
            "device_id": np.arange(n),
            "platform": ["Apple"] * n,
            "model": ["X"] * n,
            "enrolled_on": [dt.datetime(2025, 1, 1)] * n,
            "purchase_date": [dt.date(2024, 1, 1)] * n,
            "warranty_end": [dt.date(2027, 1, 1)] * n,
        }
    )
    return dev, tel


def test_feature_as_of_d_ignores_rows_after_d() -> None:
    dev, tel = _fleet()
    as_of = END - dt.timedelta(days=20)
    full = health_features(dev, tel, [as_of]).sort("device_id")
    # Replace everything after D by absurd values, then remove it: the answer must not move.
    poisoned = tel.with_columns(
        pl.when(pl.col("date") > as_of).then(999).otherwise(pl.col("crash_count")).alias("crash_count")
    )
    assert health_features(dev, poisoned, [as_of]).sort("device_id").equals(full)
    cut = tel.filter(pl.col("date") <= as_of)
    assert health_features(dev, cut, [as_of]).sort("device_id").equals(full)


def test_many_dates_equal_one_at_a_time() -> None:
    dev, tel = _fleet()
    dates = [END - dt.timedelta(days=k) for k in (0, 7, 30)]
    together = health_features(dev, tel, dates).sort("device_id", "as_of")
    apart = pl.concat([health_features(dev, tel, [d]) for d in dates]).sort("device_id", "as_of")
    assert together.equals(apart)


def test_slope_and_level_recover_a_linear_trend_with_missing_days() -> None:
    dev, tel = _fleet(n=1)
    x = (pl.col("date") - pl.lit(END)).dt.total_days().cast(pl.Float64)
    tel = tel.with_columns((90.0 + 0.5 * x).alias("battery_health_pct"))
    gappy = tel.filter(pl.col("date").dt.day() % 3 != 0)  # a third of the days missing
    f = health_features(dev, gappy, [END]).row(0, named=True)
    assert f["battery_health_pct_slope_14"] == pytest.approx(0.5)
    assert f["battery_health_pct_level_7"] == pytest.approx(90.0)
    assert f["obs_days_30"] < 30
    assert f["battery_health_pct_accel_7_30"] == pytest.approx(0.0, abs=1e-9)


def test_device_without_telemetry_gets_nulls_and_unenrolled_devices_are_skipped() -> None:
    dev, tel = _fleet(n=3)
    dev = dev.with_columns(
        pl.when(pl.col("device_id") == 2)
        .then(pl.lit(dt.datetime(2030, 1, 1)))
        .otherwise(pl.col("enrolled_on"))
        .alias("enrolled_on")
    )
    f = health_features(dev, tel.filter(pl.col("device_id") != 1), [END])
    assert sorted(f["device_id"].to_list()) == [0, 1]
    row = f.filter(pl.col("device_id") == 1).row(0, named=True)
    assert row["obs_days_30"] == 0.0 and row["battery_health_pct_mean_30"] is None
    assert "age_days" in feature_columns(f) and "model" not in feature_columns(f)


def _assert_paths_agree(tel: pl.DataFrame, dates: list[dt.date], same_nulls: bool = False) -> None:
    """Many dates at once (rolling windows on a day grid) = one date at a time (dense arrays)."""
    from models.features import telemetry_features

    rolled = telemetry_features(tel, dates).sort("device_id", "as_of")
    single = pl.concat([telemetry_features(tel, [d]) for d in dates]).sort("device_id", "as_of")
    assert rolled.columns == single.columns and rolled.height == single.height
    for col in rolled.columns[2:]:
        a, b = rolled[col].to_numpy().astype(float), single[col].to_numpy().astype(float)
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6, err_msg=col)
        if same_nulls:
            assert (rolled[col].is_null() == single[col].is_null()).all(), col


def test_rolling_path_agrees_with_grouped_path() -> None:

    _dev, tel = _fleet(n=15, days=80, seed=3)
    tel = tel.sample(fraction=0.8, seed=4).with_columns(  # missing days and missing values
        pl.when(pl.col("device_id") == 3)
        .then(None)
        .otherwise(pl.col("battery_health_pct"))
        .alias("battery_health_pct")
    )
    _assert_paths_agree(tel, [END - dt.timedelta(days=k) for k in (0, 1, 9, 20, 33)])


def test_dense_path_agrees_with_rolling_path_with_nulls_and_repeated_days() -> None:
    """The single-date path takes a shortcut when a signal has no nulls; both branches must match."""

    _dev, tel = _fleet(n=12, days=60, seed=5)
    null_crash = pl.col("device_id").is_in([2, 7]) & (pl.col("date").dt.day() % 4 == 0)
    tel = tel.sample(fraction=0.85, seed=6).with_columns(
        pl.when(null_crash).then(None).otherwise(pl.col("crash_count")).alias("crash_count"),
        pl.when(pl.col("device_id") == 5)
        .then(None)
        .otherwise(pl.col("storage_used_pct"))
        .alias("storage_used_pct"),
    )
    # A repeated day: the rolling path keeps the last row, so must the dense one.
    tel = pl.concat(
        [
            tel,
            tel.filter(pl.col("device_id") == 4).head(3).with_columns(crash_count=pl.lit(9, dtype=pl.Int64)),
        ]
    )
    _assert_paths_agree(tel, [END - dt.timedelta(days=k) for k in (0, 2, 11, 25)], same_nulls=True)


@pytest.mark.parametrize("order", ["device_id", "date"])
def test_device_blocks_give_the_same_tables_and_features_as_one_read(tmp_path: Path, order: str) -> None:
    """Blocks cover every device once, whether the file is sorted by device (pushdown) or not (one read)."""
    from models.data import iter_device_blocks, load_tables
    from models.features import MAX_WINDOW
    from models.schemas import CONTRACTS

    dev, tel = _fleet(n=52, days=45, seed=7)
    tel = tel.filter(pl.col("device_id") < 50)  # devices 50, 51 have no telemetry at all
    dev = dev.with_columns(
        *[
            pl.lit(None, dtype=c.dtype).alias(k)
            for k, c in CONTRACTS["devices"].items()
            if k not in dev.columns
        ]
    )
    dev.write_parquet(tmp_path / "devices.parquet")
    tel.sort(order).write_parquet(tmp_path / "telemetry.parquet", row_group_size=200)
    as_of = END - dt.timedelta(days=3)
    whole = load_tables(tmp_path, ["devices", "telemetry"], as_of=as_of, lookback_days=MAX_WINDOW)
    blocks = list(
        iter_device_blocks(
            tmp_path, ["devices", "telemetry"], as_of=as_of, lookback_days=MAX_WINDOW, block_devices=16
        )
    )
    assert len(blocks) == 4
    for name in ("devices", "telemetry"):
        joined = pl.concat([b[name] for b in blocks]).sort(
            "device_id", *(["date"] if name == "telemetry" else [])
        )
        want = whole[name].sort("device_id", *(["date"] if name == "telemetry" else []))
        assert joined.equals(want), name
    dev_cols = ("platform", "model", "enrolled_on", "purchase_date", "warranty_end")
    full = load_tables(tmp_path, ["devices"])["devices"].select("device_id", *dev_cols)
    f_whole = health_features(full, whole["telemetry"], [as_of]).sort("device_id")
    f_blocks = pl.concat(
        [
            health_features(b["devices"].select("device_id", *dev_cols), b["telemetry"], [as_of])
            for b in blocks
        ]
    ).sort("device_id")
    assert f_blocks.equals(f_whole)


def test_scoring_in_device_blocks_equals_scoring_all_at_once(
    health_model: Path, other_fleet_dir: Path
) -> None:
    from models.data import iter_device_blocks, last_date, load_tables
    from models.features import MAX_WINDOW
    from models.health import score_health
    from models.pipeline import _health_load

    model, card = _health_load(health_model)
    as_of = last_date(other_fleet_dir)
    tables = ["devices", "telemetry"]
    whole = load_tables(other_fleet_dir, tables, as_of=as_of, lookback_days=MAX_WINDOW)
    want = score_health(model, whole["devices"], whole["telemetry"], as_of, card.model_version)
    blocks = iter_device_blocks(
        other_fleet_dir, tables, as_of=as_of, lookback_days=MAX_WINDOW, block_devices=97
    )
    got = pl.concat(
        [score_health(model, t["devices"], t["telemetry"], as_of, card.model_version) for t in blocks]
    )
    assert got.equals(want)
