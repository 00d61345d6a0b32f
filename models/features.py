"""Device-health features as of a date, vectorised in polars.

Only telemetry dated on or before the as-of date (and after as-of minus the longest window) is read, so a
feature as of D cannot see anything after D. Levels and slopes come from least-squares fits over the rows
actually present in each window, which makes them robust to missing days: a window with gaps has fewer
points, not zeros. Many as-of dates are computed in one group-by (the windows are stacked with an `as_of`
column), never with a per-device Python loop. A single as-of date (scoring) takes a faster path: dense
(day x device) arrays per block of devices, summed by matrix products (`_dense_raw`); a test checks the two
paths agree.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
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
# The longest look-back. A 90-day per-device baseline was tried; it costs 3x the scoring memory (the 100k
# device budget is 500 MB) for no clear gain, so "more than usual" is the 7-day rate against the 30-day one.
# Per-device z-scores (spread around the 30-day fit) and a Poisson surprise of 7-day counts were also tried:
# no gain beyond seed-to-seed noise, for more scoring time (models/README.md, Health).
MAX_WINDOW = max(WINDOWS)
MIN_HISTORY = max(WINDOWS)  # first as-of date worth training or evaluating on: the trend windows are full
LEVEL_SIGNALS: tuple[str, ...] = ("battery_health_pct", "storage_used_pct", "battery_cycles")
COUNT_SIGNALS: tuple[str, ...] = ("crash_count", "kernel_panic_count", "thermal_event_count")


_EPOCH = dt.date(1970, 1, 1)
_DAYS = np.arange(MAX_WINDOW)
# Window weights over the days before as_of (row j is j days back): indicator, x and x^2 with x = -j, so one
# matrix product gives n, sum x, sum x^2 (from the presence mask) or sum y, sum x*y (from the values).
_IND = (_DAYS[None, :] < np.array(WINDOWS)[:, None]).astype(np.float64)
_W_VALUE = np.vstack([_IND, _IND * -_DAYS])
# float32 is exact here: 0/1 masks times integers, sums below 2**24.
_W_MASK = np.vstack([_IND, _IND * -_DAYS, _IND * _DAYS * _DAYS]).astype(np.float32)
_BANDS = (0, *WINDOWS[:-1])  # nested windows: sum over [0, 7), then add [7, 14), then [14, 30)
_EXTREMES = ("battery_health_pct", "storage_used_pct")  # signals with max / min features

Array = np.ndarray[Any, Any]


def _window_sums(a: Array) -> list[Array]:
    """Sums over the first 7, 14, 30 rows of a (day x device) array, nested (each row is added once)."""
    out: list[Array] = []
    for lo, hi in zip(_BANDS, WINDOWS, strict=True):
        band = a[lo:hi].sum(0)
        out.append(band if not out else out[-1] + band)
    return out


def _window_counts(mask: Array) -> list[Array]:
    """How many rows are True in the first 7, 14, 30 rows of a boolean (day x device) array."""
    return [c.astype(np.float64) for c in _window_sums(mask.view(np.uint8))]  # at most 30: uint8 is exact


def _mask_sums(mask: Array, work: Array) -> Array:
    """n, sum x, sum x^2 per window (rows of the result) over the days a mask is set."""
    np.copyto(work, mask)
    sums: Array = (_W_MASK @ work).astype(np.float64)
    return sums


class _Block:
    """Work arrays for a block of devices, allocated once and reused: fresh pages cost as much as the math."""

    def __init__(self, n: int) -> None:
        size = MAX_WINDOW * n
        self.present, self.ok = np.empty(size, dtype=bool), np.empty(size, dtype=bool)
        self.a, self.a0, self.maskf = np.empty(size), np.empty(size), np.empty(size, dtype=np.float32)

    def views(self, n: int) -> tuple[Array, ...]:
        size, shape = MAX_WINDOW * n, (MAX_WINDOW, n)
        return tuple(b[:size].reshape(shape) for b in (self.present, self.ok, self.a, self.a0, self.maskf))


def _dense_block(work: _Block, n: int, r: Array, c: Array, values: dict[str, Array]) -> dict[str, Array]:
    """Raw window sums for a block of n devices: value i belongs to device r[i], c[i] days before as_of."""
    present, ok, a, a0, maskf = work.views(n)
    idx = c * n + r  # flat position in a (day x device) array: each day is a contiguous row
    present.fill(False)
    present.reshape(-1)[idx] = True
    seen_any = _mask_sums(present, maskf)
    raw: dict[str, Array] = {"obs_days_30": seen_any[2], "obs_days_7": seen_any[0]}
    raw["_xmax"] = -np.argmax(present, axis=0).astype(np.float64)
    # Days without a row stay 0 in a0 and NaN in a from one signal to the next: fill once, then only scatter.
    a0.fill(0.0)
    a.fill(np.nan)
    for name, v in values.items():
        if np.isnan(v).any():  # null values: a missing value is a missing day for this signal only
            a.fill(np.nan)
            a.reshape(-1)[idx] = v
            np.isnan(a, out=ok)
            np.logical_not(ok, out=ok)
            np.copyto(a0, 0.0)
            np.copyto(a0, a, where=ok)
            seen = _mask_sums(ok, maskf)
        else:  # the usual case: the signal is there whenever the row is
            a0.reshape(-1)[idx] = v
            seen = seen_any
            if name in _EXTREMES:
                a.reshape(-1)[idx] = v
        if name in LEVEL_SIGNALS:
            sv = _W_VALUE @ a0
            for k, win in enumerate(WINDOWS):
                raw[f"_n_{name}_{win}"], raw[f"_sx_{name}_{win}"] = seen[k], seen[3 + k]
                raw[f"_sxx_{name}_{win}"] = seen[6 + k]
                raw[f"_sy_{name}_{win}"], raw[f"_sxy_{name}_{win}"] = sv[k], sv[3 + k]
        else:
            sums, with_ = _window_sums(a0), _window_counts(a0 > 0)
            for k, win in enumerate(WINDOWS):
                raw[f"{name}_sum_{win}"], raw[f"_with_{name}_{win}"] = sums[k], with_[k]
                raw[f"_obs_{name}_{win}"] = seen[k]
        if name in _EXTREMES:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows give NaN, as wanted
                mx7, mn7 = np.fmax.reduce(a[:7], axis=0), np.fmin.reduce(a[:7], axis=0)
                mx30 = np.fmax(mx7, np.fmax.reduce(a[7:], axis=0))
            if name == "battery_health_pct":
                raw["_batt_n30"] = seen[2]
                raw["battery_health_pct_max_30"], raw["battery_health_pct_min_7"] = mx30, mn7
            else:
                raw["storage_used_pct_max_30"], raw["_stor_max7"], raw["_stor_min7"] = mx30, mx7, mn7
    return raw


def _dense_raw(telemetry: pl.DataFrame, as_of: dt.date, chunk: int = 20_000) -> pl.DataFrame:
    """One as-of date: the raw window sums from dense (day x device) arrays.

    This is the scoring path: one scatter per signal places the rows in a (day x device) array, then window
    sums are row sums or one small matrix product. Devices are processed in blocks of `chunk`, so the work
    arrays stay small (4.8 MB each for 20,000 devices) and are reused from block to block.
    """
    lo_date = as_of - dt.timedelta(days=MAX_WINDOW)
    span = telemetry.select(pl.col("date").min().alias("lo"), pl.col("date").max().alias("hi")).row(0)
    inside = telemetry.height and span[0] > lo_date and span[1] <= as_of
    # Scoring already read only the window: skip the copy a filter would make.
    w = telemetry if inside else telemetry.filter((pl.col("date") <= as_of) & (pl.col("date") > lo_date))
    if w.height == 0:  # no device of this block reported in the window: the same columns, no rows
        empty = np.zeros(0, dtype=np.int64)
        raw = _dense_block(
            _Block(0), 0, empty, empty, {k: np.zeros(0) for k in (*LEVEL_SIGNALS, *COUNT_SIGNALS)}
        )
        return pl.DataFrame({"device_id": empty, **raw}).with_columns(pl.lit(as_of).alias("as_of"))
    # Rows sorted by device make each block of devices a contiguous slice. Parquet written device by device
    # is already sorted (no copy then).
    if not w["device_id"].is_sorted():
        w = w.sort("device_id", maintain_order=True)
    dev = w["device_id"].to_numpy()
    starts = np.concatenate(([0], np.flatnonzero(dev[1:] != dev[:-1]) + 1))
    bounds = np.append(starts, dev.size)
    back = (as_of - _EPOCH).days - w["date"].to_physical().to_numpy().astype(np.int64)
    work = _Block(min(chunk, starts.size))
    blocks: list[dict[str, Array]] = []
    for lo in range(0, starts.size, chunk):
        hi = min(lo + chunk, starts.size)
        r0, r1 = int(bounds[lo]), int(bounds[hi])
        r = np.repeat(np.arange(hi - lo), np.diff(bounds[lo : hi + 1]))
        part = w.slice(r0, r1 - r0)  # float copies of one block's values at a time, not of the whole frame
        values = {k: part[k].cast(pl.Float64).to_numpy() for k in (*LEVEL_SIGNALS, *COUNT_SIGNALS)}
        blocks.append(_dense_block(work, hi - lo, r, back[r0:r1], values))
    cols = {k: np.concatenate([b[k] for b in blocks]) if len(blocks) > 1 else v for k, v in blocks[0].items()}
    # Sums are finite; only an extreme over an all-missing window is NaN, and the contract says null.
    nan = [k for k, v in cols.items() if np.isnan(v).any()]
    frame = pl.DataFrame({"device_id": dev[starts], **cols}).with_columns(pl.lit(as_of).alias("as_of"))
    return frame.with_columns(pl.col(nan).fill_nan(None)) if nan else frame


def _from_raw() -> list[pl.Expr]:
    """Means, slopes, levels and rates from the raw sums (same formulas as the rolling path)."""
    out: list[pl.Expr] = [
        (-pl.col("_xmax")).alias("days_since_last_telemetry"),
        (pl.col("_batt_n30") == 0).cast(pl.Float64).alias("no_battery"),
        # Order-free (no sort needed): spread of storage use over the last week catches sudden jumps.
        (pl.col("_stor_max7") - pl.col("_stor_min7")).alias("storage_used_pct_range_7"),
    ]
    for y in LEVEL_SIGNALS:
        for w in WINDOWS:
            n, sx, sy = (pl.col(f"_{k}_{y}_{w}").cast(pl.Float64) for k in ("n", "sx", "sy"))
            sxx, sxy = pl.col(f"_sxx_{y}_{w}"), pl.col(f"_sxy_{y}_{w}")
            den = n * sxx - sx * sx
            slope = pl.when(den > 1e-9).then((n * sxy - sx * sy) / den).otherwise(None)
            mean = pl.when(n > 0).then(sy / n).otherwise(None)
            out += [
                mean.alias(f"{y}_mean_{w}"),
                slope.alias(f"{y}_slope_{w}"),
                pl.coalesce(mean - slope * sx / n, mean).alias(f"{y}_level_{w}"),
            ]
    for c in COUNT_SIGNALS:
        for w in WINDOWS:
            seen = pl.col(f"_obs_{c}_{w}").cast(pl.Float64)
            out += [
                pl.when(seen > 0).then(pl.col(f"{c}_sum_{w}") / seen).otherwise(None).alias(f"{c}_rate_{w}"),
                # Share of observed days with an event separates sustained trouble from one-day bursts.
                pl.when(seen > 0)
                .then(pl.col(f"_with_{c}_{w}") / seen)
                .otherwise(None)
                .alias(f"{c}_dayshare_{w}"),
            ]
    return out


def _single(telemetry: pl.DataFrame, as_of_dates: Sequence[dt.date]) -> pl.LazyFrame:
    """Few as-of dates: the dense path per date (cheapest when only the window is read)."""
    parts = [_dense_raw(telemetry, d) for d in sorted(set(as_of_dates))]
    done = pl.concat(parts, how="diagonal").lazy().with_columns(_from_raw())
    return done.select([c for c in done.collect_schema().names() if not c.startswith("_")])


def _rolled(telemetry: pl.DataFrame, as_of_dates: Sequence[dt.date]) -> pl.LazyFrame:
    """Many as-of dates: rolling sums over a complete (device, day) grid, every day in one pass.

    Same quantities as the dense scoring path `_dense_raw` (a test checks they agree): least-squares sums
    per window give slope, mean and level at the as-of day; missing days are grid rows with a zero mask, so
    they add nothing.
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
    for c in COUNT_SIGNALS:
        obs = pl.col(c).is_not_null().cast(pl.Float64)
        for w in WINDOWS:
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
    return rolled.join(keep, on="as_of", how="semi").filter(pl.col("days_since_last_telemetry") < MAX_WINDOW)


def telemetry_features(telemetry: pl.DataFrame, as_of_dates: Sequence[dt.date]) -> pl.DataFrame:
    """One row per (device_id, as_of) that has telemetry in the window."""
    many = len(set(as_of_dates)) > 3
    feats = _rolled(telemetry, as_of_dates) if many else _single(telemetry, as_of_dates)
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
    for y in ("battery_health_pct", "storage_used_pct"):
        derived.append((pl.col(f"{y}_level_7") - pl.col(f"{y}_mean_30")).alias(f"{y}_vs_mean_30"))
    out = feats.with_columns(derived).collect()
    # One column order whichever path computed it (models select by name; this keeps frames comparable).
    return out.select(
        "device_id", "as_of", *sorted(c for c in out.columns if c not in ("device_id", "as_of"))
    )


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
    keys = ["device_id", "as_of"]
    if base.height == tel.height and base.select(keys).equals(tel.select(keys)):
        out = base.hstack(tel.drop(keys).get_columns())  # the same rows in the same order: no join needed
    else:
        out = base.join(tel, on=keys, how="left")
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
