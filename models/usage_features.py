"""Per-install usage history features for licence reclamation (`install_features`), for one or many dates.

Usage is indexed once for all as-of dates instead of being grouped again for each: the rows of paid
installs sorted by (device, app, date) and, apart, the days each device was in use. Within a sorted group,
"the rows dated on or before t" is a prefix that one binary search finds, so counts over any window are
differences of two positions, the last and first use are the rows at its ends, the longest gap so far is
a running maximum and the median gap a rank in the group's gaps sorted by size. Memory is a few arrays the
size of those rows, whatever the number of dates; a group_by over every row dated on or before each date
(what this replaced) held several times the usage table per date. The outputs are the same, bit for bit:
sums of minutes still go through polars' own grouped sum in the same row order, and the per-app and
per-role shares are the same polars expressions over the whole fleet's installs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

__all__ = ["FEATURES", "install_features"]

FEATURES = [
    "license_cost_usd",
    "days_since_install",
    "days_since_last_use",
    "never_used",
    "use_days_30",
    "use_days_60",
    "use_days_90",
    "use_days_all",
    "minutes_30",
    "minutes_90",
    "max_gap",
    "median_gap",
    "since_last_over_max_gap",
    "peer_active_share",
    "peer_installs",
    "app_active_share",
    "use_days_180",
    "use_days_365",
    "since_last_over_median_gap",
    "days_to_quarter_end",
    "app_recent_share",
    "device_days_since_any_use",
    "device_use_days_30",
    "use_days_prev_quarter_next30",
    "use_days_prev_year_next30",
    "app_wake_rate",
    "observed_days",
    "use_rate",
    "history_days",
]

Ints = np.ndarray[Any, np.dtype[np.int64]]
_SLICE = 1_000_000  # usage rows indexed at a time: bounds the temporary copies of a join or a unique
_EPOCH = dt.date(1970, 1, 1)
# Windows counted per install: name -> [lo, hi) in days before the as-of date (0 = the as-of date itself).
# The last two are the coming 30 days one quarter and one year earlier: periodic users show up there.
_WINDOWS = {
    "use_days_30": (0, 30),
    "use_days_60": (0, 60),
    "use_days_90": (0, 90),
    "use_days_180": (0, 180),
    "use_days_365": (0, 365),
    "use_days_prev_quarter_next30": (61, 91),
    "use_days_prev_year_next30": (335, 365),
}


def _day(d: dt.date) -> int:
    return (d - _EPOCH).days


def _days_to_quarter_end(d: dt.date) -> int:
    q_month = ((d.month - 1) // 3 + 1) * 3
    nxt = dt.date(d.year + (q_month == 12), q_month % 12 + 1, 1)
    return (nxt - d).days - 1


def _at(values: Ints, rows: Ints) -> Ints:
    """values[rows], or zeros when there are no values (no usage at all: every such row is masked)."""
    return values[rows] if values.size else np.zeros(rows.size, dtype=np.int64)


def _sorted_unique(values: Ints) -> Ints:
    """np.unique by sorting: numpy's default hashes first, several times slower on millions of keys."""
    values = np.sort(values)
    return values[np.concatenate(([True], values[1:] != values[:-1]))] if values.size else values


@dataclass
class _Sorted:
    """Rows sorted by (group, day), one integer key per row: group * span + (day - day0). The rows of group
    g dated on or before day t end where `g * span + (t - day0)` would be inserted on the right."""

    key: Ints
    start: Ints  # first row of each group; start[g + 1] is one past its last
    day0: int
    span: int  # larger than any day - day0, so that groups' keys never overlap

    @classmethod
    def build(cls, group: Ints, day: Ints, n_groups: int) -> _Sorted:
        """`group` and `day` already sorted by (group, day); groups are 0 .. n_groups - 1."""
        day0 = int(day.min()) if day.size else 0
        span = int(day.max()) - day0 + 2 if day.size else 2
        key = group.astype(np.int64) * span + (day - day0)
        start = np.searchsorted(group, np.arange(n_groups + 1), side="left").astype(np.int64)
        return cls(key, start, day0, span)

    def upto(self, groups: Ints, t: int) -> Ints:
        """One past the last row of each group dated on or before day t (the group's start if none)."""
        # -1 puts a day before all data just before the group's first key, not into the previous group.
        off = min(max(t - self.day0, -1), self.span - 2)
        return np.searchsorted(self.key, groups * self.span + off, side="right").astype(np.int64)

    def day_at(self, groups: Ints, rows: Ints) -> Ints:
        """The day of each row (junk, not an error, where there are no rows at all: callers mask it)."""
        return _at(self.key, rows) - groups * self.span + self.day0


@dataclass
class _PairUsage:
    """Usage rows of the (device, app) pairs that have a paid install, sorted by (device, app, date)."""

    ids: pl.DataFrame  # device_id, app_id, pair (the group number)
    rows: _Sorted
    minutes: np.ndarray[Any, np.dtype[np.float64]]
    max_gap_so_far: Ints  # per row: the longest gap between the pair's uses up to this row (0 on its first)
    gaps: Ints  # the pair's gaps (all rows but its first), sorted by (pair, gap) ...
    gap_day: Ints  # ... and the day of the use that ends each gap, in the same order

    @classmethod
    def build(cls, usage: pl.DataFrame, pairs: pl.DataFrame) -> _PairUsage:
        keys = pairs.select("device_id", "app_id").unique().sort("device_id", "app_id").with_row_index("code")
        # A slice of usage at a time: a join over the whole table held several copies of it at once.
        parts = [
            usage.slice(lo, _SLICE)
            .join(keys, on=["device_id", "app_id"], maintain_order="left")
            .select("code", pl.col("date").cast(pl.Int32).alias("day"), "minutes_used")
            for lo in range(0, max(usage.height, 1), _SLICE)
        ]
        # Codes follow (device, app) order. Rows of one pair and day (duplicates) by minutes: the order
        # minutes are summed in, so that it does not depend on the files' row order (the sort this
        # replaced left it to chance). Pairs renumbered 0, 1, ... over those with usage: each has a row.
        rows = (
            pl.concat(parts)
            .sort("code", "day", "minutes_used")
            .with_columns(pl.col("code").rle_id().cast(pl.Int64).alias("pair"))
        )
        ids = (
            rows.select("code", "pair")
            .unique("pair", keep="first", maintain_order=True)
            .join(keys, on="code")
            .select("device_id", "app_id", "pair")
        )
        group = rows["pair"].to_numpy()
        day = rows["day"].to_numpy().astype(np.int64)
        minutes = rows["minutes_used"].to_numpy()
        del rows
        sorted_rows = _Sorted.build(group, day, ids.height)
        first = np.zeros(day.size, dtype=bool)
        first[sorted_rows.start[:-1][np.diff(sorted_rows.start) > 0]] = True
        gap = np.diff(day, prepend=day[:1])
        gap[first] = 0  # a gap is between two uses of the same pair; 0 never raises a maximum of gaps >= 0
        # Running maximum within each pair: offset each pair above all earlier ones, accumulate, remove.
        lift = group * (sorted_rows.span + 1)
        max_gap_so_far = np.maximum.accumulate(gap + lift) - lift
        order = np.lexsort((gap[~first], group[~first]))
        return cls(ids, sorted_rows, minutes, max_gap_so_far, gap[~first][order], day[~first][order])

    def locate(self, inst: pl.DataFrame) -> tuple[Ints, np.ndarray[Any, np.dtype[np.bool_]]]:
        """Each install's pair number (0 where the pair has no usage at all) and whether it has usage."""
        g = inst.select("device_id", "app_id").join(
            self.ids, on=["device_id", "app_id"], how="left", maintain_order="left"
        )
        pair = g["pair"].fill_null(-1).to_numpy()
        return np.where(pair >= 0, pair, 0), pair >= 0

    def features(self, inst: pl.DataFrame, d: dt.date) -> pl.DataFrame:
        """The install's own usage columns, one row per row of `inst` (same order), as polars would have
        aggregated them over the pair's rows dated on or before d (null where there are none)."""
        t = _day(d)
        p, known = self.locate(inst)
        start, end = self.rows.start[p], self.rows.upto(p, t)
        n = np.where(known, end - start, 0)
        used, gapped = n > 0, n > 1
        last = np.where(used, end - 1, start)
        cols: dict[str, Any] = {
            "days_since_last_use": t - self.rows.day_at(p, last),
            **{name: self.count(p, known, t, lo, hi) for name, (lo, hi) in _WINDOWS.items()},
            "use_days_all": n,
            **self._minutes(p, known, end, inst.height, t),
            "max_gap": _at(self.max_gap_so_far, last),
            "median_gap": self._median_gaps(p, n, t),
            "first_use": self.rows.day_at(p, start),
        }
        u32 = pl.UInt32
        dtypes = {"days_since_last_use": pl.Int64, "max_gap": pl.Int64, "median_gap": pl.Float64}
        dtypes |= {"minutes_30": pl.Float64, "minutes_90": pl.Float64, "first_use": pl.Int32}
        out = pl.DataFrame({k: pl.Series(k, v, dtype=dtypes.get(k, u32)) for k, v in cols.items()})
        return (
            out.with_columns(
                pl.when(pl.Series(used)).then(pl.col("days_since_last_use", "first_use")),
                pl.when(pl.Series(gapped)).then(pl.col("max_gap", "median_gap")),
            )
            .with_columns(pl.col("first_use").cast(pl.Date))
            .select(
                # The order the group_by this replaced produced them in.
                "days_since_last_use",
                "use_days_30",
                "use_days_60",
                "use_days_90",
                "use_days_all",
                "use_days_180",
                "use_days_365",
                "minutes_30",
                "minutes_90",
                "max_gap",
                "median_gap",
                "first_use",
                "use_days_prev_quarter_next30",
                "use_days_prev_year_next30",
            )
        )

    def count(self, p: Ints, known: np.ndarray[Any, Any], t: int, lo: int, hi: int) -> Ints:
        """Rows dated lo to hi - 1 days before day t."""
        return np.where(known, self.rows.upto(p, t - lo) - self.rows.upto(p, t - hi), 0)

    def _minutes(self, p: Ints, known: np.ndarray[Any, Any], end: Ints, n: int, t: int) -> dict[str, Any]:
        """Minutes over the last 30 and 90 days. Summed by polars' grouped, filtered sum over the same rows
        in the same order as before: a float sum in another order can differ in the last bit."""
        lo = np.where(known, self.rows.upto(p, t - 90), 0)
        lens = np.where(known, end - lo, 0)
        who = np.repeat(np.arange(n), lens)
        rows = np.arange(lens.sum()) + np.repeat(lo - (np.cumsum(lens) - lens), lens)
        since = t - self.rows.day_at(p[who], rows)
        sums = (
            pl.DataFrame({"i": who, "minutes_used": self.minutes[rows], "since": since})
            .group_by("i")
            .agg(
                pl.col("minutes_used").filter(pl.col("since") < 30).sum().alias("minutes_30"),
                pl.col("minutes_used").filter(pl.col("since") < 90).sum().alias("minutes_90"),
            )
        )
        out = {}
        for name in ("minutes_30", "minutes_90"):
            v = np.zeros(n)
            v[sums["i"].to_numpy()] = sums[name].to_numpy()
            out[name] = v
        return out

    def _median_gaps(self, p: Ints, n: Ints, t: int) -> np.ndarray[Any, np.dtype[np.float64]]:
        """Median of each pair's gaps between uses dated on or before day t (n - 1 of them; junk where
        n < 2). Within a pair the gaps are sorted by size; those of uses up to t are found by a running
        count of them, and the median is the middle one (or the mean of the middle two)."""
        inside = np.concatenate(([0], np.cumsum(self.gap_day <= t)))
        base = inside[self.rows.start[p] - p]  # a pair's gaps start where its rows do, less one per pair
        m = np.maximum(n - 1, 1)

        def kth(k: Ints) -> np.ndarray[Any, np.dtype[np.float64]]:
            at = np.searchsorted(inside, base + k + 1, side="left") - 1
            v: np.ndarray[Any, np.dtype[np.float64]] = self.gaps[np.clip(at, 0, self.gaps.size - 1)]
            return v.astype(np.float64)

        if self.gaps.size == 0:
            return np.zeros(p.size)
        return (kth((m - 1) // 2) + kth(m // 2)) / 2.0


@dataclass
class _DeviceDays:
    """The days each device used any app (paid or not, installed or not), sorted by (device, day)."""

    ids: Ints
    rows: _Sorted

    @classmethod
    def build(cls, usage: pl.DataFrame) -> _DeviceDays:
        lo, hi = usage["date"].min(), usage["date"].max()
        ids = np.sort(usage["device_id"].unique().to_numpy())
        if not isinstance(lo, dt.date) or not isinstance(hi, dt.date):
            return cls(ids, _Sorted.build(np.zeros(0, np.int64), np.zeros(0, np.int64), 0))
        day0, span = _day(lo), (hi - lo).days + 1
        # (device, day) as one number, made unique a slice of usage at a time, then across slices.
        keys = []
        for start in range(0, usage.height, _SLICE):
            part = usage.slice(start, _SLICE)
            device = np.searchsorted(ids, part["device_id"].to_numpy()).astype(np.int64)
            keys.append(_sorted_unique(device * span + (part["date"].cast(pl.Int32).to_numpy() - day0)))
        device, day = np.divmod(_sorted_unique(np.concatenate(keys)), span)
        return cls(ids, _Sorted.build(device, day + day0, ids.size))

    def features(self, d: dt.date) -> pl.DataFrame:
        """Per device with use on or before d: days since any use, days with any use in the last 30."""
        t = _day(d)
        g = np.arange(self.ids.size, dtype=np.int64)
        end = self.rows.upto(g, t)
        used = end > self.rows.start[:-1]
        g, end = g[used], end[used]
        return pl.DataFrame(
            {
                "device_id": pl.Series(self.ids[used], dtype=pl.Int64),
                "device_days_since_any_use": pl.Series(t - self.rows.day_at(g, end - 1), dtype=pl.Int64),
                "device_use_days_30": pl.Series(end - self.rows.upto(g, t - 30), dtype=pl.UInt32),
            }
        )


def _wake_rates(inst: pl.DataFrame, pairs: _PairUsage, d: dt.date) -> pl.DataFrame:
    """Per app: of installs dormant (no use for 30+ days, installed 30+ days before) at d-30 and d-60, the
    share used in the following 30 days. Dormant installs of some apps wake up (tax, audit, yearly
    planning tools); of others they never do. Only usage on or before `d` is read."""
    p, known = pairs.locate(inst)
    t = _day(d)
    parts = []
    for lag in (30, 60):
        cut = d - dt.timedelta(days=lag)
        idle = pairs.count(p, known, t - lag, 0, 30) == 0  # no use in the 30 days up to the cut
        woke = pairs.count(p, known, t - lag + 30, 0, 30) > 0  # used in the 30 days after it
        parts.append(
            inst.with_columns(idle=pl.Series(idle), woke=pl.Series(woke))
            .filter(
                (pl.col("installed_on").is_null() | (pl.col("installed_on") <= cut - dt.timedelta(days=30)))
                & pl.col("idle")
            )
            .select("app_id", "woke")
        )
    # Shrunk towards 5 % so that an app with a handful of dormant installs does not get an extreme rate.
    return (
        pl.concat(parts)
        .group_by("app_id")
        .agg(((pl.col("woke").sum() + 1.0) / (pl.len() + 20.0)).alias("app_wake_rate"))
    )


def _one_date(
    devices: pl.DataFrame,
    apps: pl.DataFrame,
    installs: pl.DataFrame,
    pairs: _PairUsage,
    device_days: _DeviceDays,
    seen_from: dt.date,
    d: dt.date,
) -> pl.DataFrame:
    paid = apps.lazy().filter(pl.col("license_cost_usd") > 0).select("app_id", "license_cost_usd")
    inst = (
        installs.lazy()
        .filter(pl.col("installed_on").is_null() | (pl.col("installed_on") <= d))
        .join(paid, on="app_id")
        .unique(["device_id", "app_id"], keep="first", maintain_order=True)
        .collect()
    )
    role = devices.lazy().select("device_id", pl.col("role").fill_null("(none)"))
    # The person behind the device: away (leave, sick, a long project elsewhere) looks like idle everywhere.
    f = (
        inst.hstack(pairs.features(inst, d))
        .lazy()
        .join(role, on="device_id", how="left")
        .join(device_days.features(d).lazy(), on="device_id", how="left")
        .join(_wake_rates(inst, pairs, d).lazy(), on="app_id", how="left")
    )
    start = pl.coalesce(pl.col("installed_on"), pl.col("first_use"))
    f = f.with_columns(
        pl.lit(d).alias("as_of"),
        (pl.lit(d) - start).dt.total_days().alias("days_since_install"),
        pl.col("days_since_last_use").is_null().cast(pl.Float64).alias("never_used"),
        pl.col("device_use_days_30").fill_null(0),
        # Seasonal tools (finance close) come back at quarter end, whatever the fleet.
        pl.lit(float(_days_to_quarter_end(d))).alias("days_to_quarter_end"),
    )
    # Days the install could have been seen in use: since install, but not before the usage data starts.
    observed = (pl.lit(d) - pl.max_horizontal(start.fill_null(pl.lit(d)), pl.lit(seen_from))).dt.total_days()
    f = f.with_columns(
        pl.lit(float((d - seen_from).days)).alias("history_days"),
        observed.alias("observed_days"),
        (pl.col("use_days_all") / (observed + 1)).alias("use_rate"),
    )
    active = (pl.col("use_days_90") > 0).cast(pl.Float64)
    n_peer = pl.len().over("role", "app_id") - 1
    return (
        f.with_columns(
            (pl.col("days_since_last_use") / pl.col("max_gap")).alias("since_last_over_max_gap"),
            (pl.col("days_since_last_use") / pl.col("median_gap")).alias("since_last_over_median_gap"),
            (pl.col("use_days_30") > 0).cast(pl.Float64).mean().over("app_id").alias("app_recent_share"),
            # Peers exclude the install itself, so an install cannot protect itself.
            pl.when(n_peer > 0)
            .then((active.sum().over("role", "app_id") - active) / n_peer)
            .otherwise(None)
            .alias("peer_active_share"),
            n_peer.cast(pl.Float64).alias("peer_installs"),
            active.mean().over("app_id").alias("app_active_share"),
        )
        .drop("first_use")
        .with_columns([pl.col(c).cast(pl.Float64) for c in FEATURES])
        .sort("device_id", "app_id")
        .collect()
    )


def install_features(
    devices: pl.DataFrame,
    apps: pl.DataFrame,
    installs: pl.DataFrame,
    usage: pl.DataFrame,
    as_of_dates: Sequence[dt.date],
) -> pl.DataFrame:
    """One row per (paid install, as_of), using only usage and installs dated on or before each as_of."""
    dates = sorted(set(as_of_dates))
    if not dates:
        raise ValueError("no as-of dates")
    # Sorted once so that the choice among duplicate installs (the earliest) and sums of minutes (usage is
    # indexed sorted) do not depend on the files' row order: the same data gives the same features.
    installs = installs.sort("device_id", "app_id", "installed_on", nulls_last=False)
    paid_pairs = (
        installs.join(apps.filter(pl.col("license_cost_usd") > 0).select("app_id"), on="app_id")
        .select("device_id", "app_id")
        .unique()
    )
    pairs = _PairUsage.build(usage, paid_pairs)
    device_days = _DeviceDays.build(usage)
    first_day = usage["date"].min()
    parts = []
    for d in dates:
        seen_from = first_day if isinstance(first_day, dt.date) else d
        parts.append(_one_date(devices, apps, installs, pairs, device_days, seen_from, d))
    # Each date's part already cast and sorted: in date order they are the frame sorted by (as_of, device,
    # app), without the two extra copies of all dates' rows that casting and sorting at the end made.
    return pl.concat(parts)
