"""Device-health features as of a date, vectorised in polars.

Only telemetry dated on or before the as-of date (and after as-of minus the longest window) is read, so a
feature as of D cannot see anything after D. Levels and slopes come from least-squares fits over the rows
actually present in each window, which makes them robust to missing days: a window with gaps has fewer
points, not zeros. Many as-of dates are computed in one group-by (the windows are stacked with an `as_of`
column), never with a per-device Python loop.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

__all__ = [
    "COUNT_SIGNALS",
    "LEVEL_SIGNALS",
    "MAX_WINDOW",
    "MIN_HISTORY",
    "WINDOWS",
    "device_features",
    "feature_columns",
    "health_features",
    "telemetry_features",
]

WINDOWS: tuple[int, ...] = (7, 14, 30)
# Per-device baseline: crash and panic rates differ ten-fold between healthy devices, so "more than usual
# for this device" needs a longer look back than the trend windows.
BASELINE = 90
MAX_WINDOW = BASELINE
MIN_HISTORY = max(WINDOWS)  # first as-of date worth training or evaluating on: the trend windows are full
LEVEL_SIGNALS: tuple[str, ...] = ("battery_health_pct", "storage_used_pct", "battery_cycles")
COUNT_SIGNALS: tuple[str, ...] = ("crash_count", "kernel_panic_count", "thermal_event_count")


def _stack_windows(telemetry: pl.DataFrame, as_of_dates: Sequence[dt.date]) -> pl.LazyFrame:
    """Rows of each (as_of - MAX_WINDOW, as_of] window, tagged with `as_of` and x = days before it (<= 0)."""
    lf = telemetry.lazy()
    parts = [
        lf.filter((pl.col("date") <= d) & (pl.col("date") > d - dt.timedelta(days=MAX_WINDOW))).with_columns(
            as_of=pl.lit(d, dtype=pl.Date)
        )
        for d in sorted(set(as_of_dates))
    ]
    if not parts:
        parts = [lf.head(0).with_columns(as_of=pl.lit(None, dtype=pl.Date))]
    stacked = pl.concat(parts)
    x = (pl.col("date") - pl.col("as_of")).dt.total_days().cast(pl.Float64)
    signals = [*LEVEL_SIGNALS, *COUNT_SIGNALS]
    return stacked.with_columns(x.alias("x"), *[pl.col(s).cast(pl.Float64) for s in signals])


def _fit_exprs(y: str, w: int) -> list[pl.Expr]:
    """Mean, slope (per day) and level at x=0 of a least-squares line over the window's non-null points."""
    m = (pl.col("x") > -w) & pl.col(y).is_not_null()
    xs, ys = pl.col("x").filter(m), pl.col(y).filter(m)
    n = m.sum().cast(pl.Float64)
    sx, sy, sxx, sxy = xs.sum(), ys.sum(), (xs * xs).sum(), (xs * ys).sum()
    den = n * sxx - sx * sx
    slope = pl.when(den > 0).then((n * sxy - sx * sy) / den).otherwise(None)
    mean = pl.when(n > 0).then(sy / n).otherwise(None)
    level = pl.coalesce(mean - slope * sx / n, mean)
    return [mean.alias(f"{y}_mean_{w}"), slope.alias(f"{y}_slope_{w}"), level.alias(f"{y}_level_{w}")]


def _count_exprs(c: str, w: int) -> list[pl.Expr]:
    in_w = pl.col("x") > -w
    observed = (in_w & pl.col(c).is_not_null()).sum().cast(pl.Float64)
    total = pl.col(c).filter(in_w).sum()
    days_with = (in_w & (pl.col(c) > 0)).sum().cast(pl.Float64)
    return [
        total.alias(f"{c}_sum_{w}"),
        pl.when(observed > 0).then(total / observed).otherwise(None).alias(f"{c}_rate_{w}"),
        # Share of observed days with an event separates sustained trouble from one-day bursts.
        pl.when(observed > 0).then(days_with / observed).otherwise(None).alias(f"{c}_dayshare_{w}"),
    ]


def _window_aggs() -> list[pl.Expr]:
    aggs: list[pl.Expr] = [
        (pl.col("x") > -30).sum().cast(pl.Float64).alias("obs_days_30"),
        (pl.col("x") > -7).sum().cast(pl.Float64).alias("obs_days_7"),
        (-pl.col("x").max()).alias("days_since_last_telemetry"),
        pl.col("battery_health_pct")
        .filter(pl.col("x") > -30)
        .is_null()
        .all()
        .cast(pl.Float64)
        .alias("no_battery"),
        pl.col("battery_health_pct").filter(pl.col("x") > -30).max().alias("battery_health_pct_max_30"),
        pl.col("battery_health_pct").filter(pl.col("x") > -7).min().alias("battery_health_pct_min_7"),
        pl.col("storage_used_pct").filter(pl.col("x") > -30).max().alias("storage_used_pct_max_30"),
        # Order-free (no sort needed): spread of storage use over the last week catches sudden jumps.
        (
            pl.col("storage_used_pct").filter(pl.col("x") > -7).max()
            - pl.col("storage_used_pct").filter(pl.col("x") > -7).min()
        ).alias("storage_used_pct_range_7"),
    ]
    for y in LEVEL_SIGNALS:
        for w in WINDOWS:
            aggs += _fit_exprs(y, w)
    for y in LEVEL_SIGNALS:
        aggs.append(pl.col(y).mean().alias(f"{y}_mean_{BASELINE}"))
    for c in COUNT_SIGNALS:
        for w in (*WINDOWS, BASELINE):
            aggs += _count_exprs(c, w)
    return aggs


def _grouped(telemetry: pl.DataFrame, as_of_dates: Sequence[dt.date]) -> pl.LazyFrame:
    """Few as-of dates: stack each window and group (cheapest when only the last 30 days are read)."""
    return _stack_windows(telemetry, as_of_dates).group_by("device_id", "as_of").agg(_window_aggs())


def _rolled(telemetry: pl.DataFrame, as_of_dates: Sequence[dt.date]) -> pl.LazyFrame:
    """Many as-of dates: rolling sums over a complete (device, day) grid, every day in one pass.

    Same quantities as `_grouped` (a test checks they agree): least-squares sums per window give slope,
    mean and level at the as-of day; missing days are grid rows with a zero mask, so they add nothing.
    """
    dates = sorted(set(as_of_dates))
    lo, hi = dates[0] - dt.timedelta(days=MAX_WINDOW - 1), dates[-1]
    tel = (
        telemetry.lazy().filter(pl.col("date").is_between(lo, hi)).unique(["device_id", "date"], keep="last")
    )
    days = pl.LazyFrame({"date": pl.date_range(lo, hi, "1d", eager=True)})
    grid = (
        tel.select("device_id")
        .unique()
        .join(days, how="cross")
        .join(tel.with_columns(present=pl.lit(1.0)), on=["device_id", "date"], how="left")
        .sort("device_id", "date")
    )
    t = (pl.col("date") - pl.lit(lo)).dt.total_days().cast(pl.Float64)
    signals = [*LEVEL_SIGNALS, *COUNT_SIGNALS]
    grid = grid.with_columns(
        t.alias("t"), pl.col("present").fill_null(0.0), *[pl.col(c).cast(pl.Float64) for c in signals]
    )

    def roll(e: pl.Expr, w: int) -> pl.Expr:
        return e.rolling_sum(w, min_samples=1).over("device_id")

    def rmax(e: pl.Expr, w: int) -> pl.Expr:
        return e.rolling_max(w, min_samples=1).over("device_id")

    out: list[pl.Expr] = [
        roll(pl.col("present"), 30).alias("obs_days_30"),
        roll(pl.col("present"), 7).alias("obs_days_7"),
        (
            pl.col("t") - pl.when(pl.col("present") > 0).then(pl.col("t")).forward_fill().over("device_id")
        ).alias("days_since_last_telemetry"),
        (roll(pl.col("battery_health_pct").is_not_null().cast(pl.Float64), 30) == 0)
        .cast(pl.Float64)
        .alias("no_battery"),
        rmax(pl.col("battery_health_pct"), 30).alias("battery_health_pct_max_30"),
        (-rmax(-pl.col("battery_health_pct"), 7)).alias("battery_health_pct_min_7"),
        rmax(pl.col("storage_used_pct"), 30).alias("storage_used_pct_max_30"),
        (rmax(pl.col("storage_used_pct"), 7) + rmax(-pl.col("storage_used_pct"), 7)).alias(
            "storage_used_pct_range_7"
        ),
    ]
    for y in LEVEL_SIGNALS:
        m = pl.col(y).is_not_null().cast(pl.Float64)
        yv = pl.col(y).fill_null(0.0)
        for w in WINDOWS:
            n, sx, sy = roll(m, w), roll(m * pl.col("t"), w), roll(yv, w)
            sxx, sxy = roll(m * pl.col("t") ** 2, w), roll(yv * pl.col("t"), w)
            den = n * sxx - sx * sx
            slope = pl.when(den > 1e-9).then((n * sxy - sx * sy) / den).otherwise(None)
            mean = pl.when(n > 0).then(sy / n).otherwise(None)
            out += [
                mean.alias(f"{y}_mean_{w}"),
                slope.alias(f"{y}_slope_{w}"),
                pl.coalesce(mean + slope * (pl.col("t") - sx / n), mean).alias(f"{y}_level_{w}"),
            ]
    for y in LEVEL_SIGNALS:
        m = pl.col(y).is_not_null().cast(pl.Float64)
        n = roll(m, BASELINE)
        out.append(
            pl.when(n > 0).then(roll(pl.col(y).fill_null(0.0), BASELINE) / n).alias(f"{y}_mean_{BASELINE}")
        )
    for c in COUNT_SIGNALS:
        obs = pl.col(c).is_not_null().cast(pl.Float64)
        for w in (*WINDOWS, BASELINE):
            total, seen = roll(pl.col(c).fill_null(0.0), w), roll(obs, w)
            with_ = roll((pl.col(c) > 0).fill_null(False).cast(pl.Float64), w)
            out += [
                total.alias(f"{c}_sum_{w}"),
                pl.when(seen > 0).then(total / seen).otherwise(None).alias(f"{c}_rate_{w}"),
                pl.when(seen > 0).then(with_ / seen).otherwise(None).alias(f"{c}_dayshare_{w}"),
            ]
    keep = pl.DataFrame({"as_of": dates}, schema={"as_of": pl.Date}).lazy()
    rolled = grid.select("device_id", pl.col("date").alias("as_of"), *out)
    # A device with no row in the window has no features, exactly as in the grouped path.
    return rolled.join(keep, on="as_of", how="semi").filter(pl.col("days_since_last_telemetry") < BASELINE)


def telemetry_features(telemetry: pl.DataFrame, as_of_dates: Sequence[dt.date]) -> pl.DataFrame:
    """One row per (device_id, as_of) that has telemetry in the window."""
    many = len(set(as_of_dates)) > 3
    feats = _rolled(telemetry, as_of_dates) if many else _grouped(telemetry, as_of_dates)
    derived: list[pl.Expr] = [
        (pl.col("battery_health_pct_max_30") - pl.col("battery_health_pct_level_7")).alias("battery_drop_30"),
        (pl.col("obs_days_7") / 7.0).alias("coverage_7"),
        (pl.col("obs_days_30") / 30.0).alias("coverage_30"),
    ]
    for y in LEVEL_SIGNALS:
        # Accelerations: is the recent trend steeper than the longer one?
        derived.append((pl.col(f"{y}_slope_7") - pl.col(f"{y}_slope_30")).alias(f"{y}_accel_7_30"))
        derived.append((pl.col(f"{y}_slope_14") - pl.col(f"{y}_slope_30")).alias(f"{y}_accel_14_30"))
    for c in COUNT_SIGNALS:
        derived.append((pl.col(f"{c}_rate_7") - pl.col(f"{c}_rate_30")).alias(f"{c}_rate_trend"))
        for w in (7, 14):
            derived.append(
                (pl.col(f"{c}_rate_{w}") - pl.col(f"{c}_rate_{BASELINE}")).alias(f"{c}_excess_{w}")
            )
    for y in ("battery_health_pct", "storage_used_pct"):
        derived.append((pl.col(f"{y}_level_7") - pl.col(f"{y}_mean_{BASELINE}")).alias(f"{y}_vs_baseline"))
    return feats.with_columns(derived).collect()


def device_features(devices: pl.DataFrame, as_of_dates: Sequence[dt.date]) -> pl.DataFrame:
    """Static facts as of each date; devices not yet enrolled at a date are left out of that date."""
    dates = pl.DataFrame({"as_of": sorted(set(as_of_dates))}, schema={"as_of": pl.Date})
    d = devices.select("device_id", "platform", "model", "enrolled_on", "purchase_date", "warranty_end").join(
        dates, how="cross"
    )
    enrolled = pl.col("enrolled_on").dt.date()
    return d.filter(enrolled.is_null() | (enrolled <= pl.col("as_of"))).select(
        "device_id",
        "as_of",
        "platform",
        "model",
        (pl.col("as_of") - pl.col("purchase_date")).dt.total_days().cast(pl.Float64).alias("age_days"),
        (pl.col("as_of") - enrolled).dt.total_days().cast(pl.Float64).alias("days_since_enrolment"),
        (pl.col("warranty_end") - pl.col("as_of")).dt.total_days().cast(pl.Float64).alias("warranty_left"),
    )


def health_features(
    devices: pl.DataFrame, telemetry: pl.DataFrame, as_of_dates: Sequence[dt.date]
) -> pl.DataFrame:
    """Device facts joined to telemetry features; a device with no telemetry in the window gets nulls."""
    base = device_features(devices, as_of_dates)
    tel = telemetry_features(telemetry, as_of_dates)
    out = base.join(tel, on=["device_id", "as_of"], how="left")
    # No rows in the window at all is itself informative (dead or offline device).
    return out.with_columns(
        pl.col("obs_days_30").fill_null(0.0),
        pl.col("obs_days_7").fill_null(0.0),
        pl.col("days_since_last_telemetry").fill_null(float(MAX_WINDOW + 1)),
    )


def feature_columns(frame: pl.DataFrame) -> list[str]:
    """Numeric model inputs (identifiers and categorical text are handled separately)."""
    skip = {"device_id", "as_of", "platform", "model"}
    return [c for c, t in frame.schema.items() if c not in skip and t.is_numeric()]
