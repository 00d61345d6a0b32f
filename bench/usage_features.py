"""Benchmark: usage features (`install_features`) for 1 and 21 as-of dates, time and peak memory.

Writes a simulator fleet (default 10,000 devices x 365 days, seed 7: 4.5 M app_usage rows) to a temporary
directory (or reads `--data`), then computes features in *fresh* processes, so each peak memory printed is
that process's own (python + libraries + the four tables + features). Each (mode, dates) runs `--runs`
times, interleaved; the best run is printed.

- new: `models.usage.install_features`, the usage index built once for all dates.
- before: the implementation this benchmark's work replaced, kept below as `before_install_features` (a
  copy, unchanged, only for comparison): one group_by over all usage dated up to each date. The baseline.

Dates: 1 date (the last with 30 days of labels after it, as training's latest), and 21 dates every 14
days ending there (as `train usage` on a year of usage). "features +MB" is the peak above what the process
held after loading the tables (VmHWM reset after loading; the loading peak is in "process peak").
Each child writes its features; the parent checks that new and before are equal (`frame.equals`).

    OMP_NUM_THREADS=1 .venv/bin/python bench/usage_features.py [--devices 10000] [--data DIR] [--runs 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere
from bench._util import memory_mb
from models.usage_features import FEATURES, _days_to_quarter_end

MODES = ("new", "before")
DATES = (1, 21)


# The baseline: the implementation before the usage index, unchanged apart from names.


def _before_wake_rates(inst: pl.LazyFrame, usage: pl.DataFrame, d: dt.date) -> pl.LazyFrame:
    """Per app: of installs dormant (no use for 30+ days, installed 30+ days before) at d-30 and d-60, the
    share used in the following 30 days. Dormant installs of some apps wake up (tax, audit, yearly
    planning tools); of others they never do. Only usage on or before `d` is read."""
    parts = []
    for lag in (30, 60):
        cut = d - dt.timedelta(days=lag)
        last = (
            usage.lazy()
            .filter(pl.col("date") <= cut + dt.timedelta(days=30))
            .group_by("device_id", "app_id")
            .agg(
                pl.col("date").filter(pl.col("date") <= cut).max().alias("last"),
                (pl.col("date") > cut).any().alias("woke"),
            )
        )
        parts.append(
            inst.filter(
                pl.col("installed_on").is_null() | (pl.col("installed_on") <= cut - dt.timedelta(days=30))
            )
            .select("device_id", "app_id")
            .join(last, on=["device_id", "app_id"], how="left")
            .filter(pl.col("last").is_null() | (pl.col("last") <= cut - dt.timedelta(days=30)))
            .select("app_id", pl.col("woke").fill_null(False))
        )
    # Shrunk towards 5 % so that an app with a handful of dormant installs does not get an extreme rate.
    return (
        pl.concat(parts)
        .group_by("app_id")
        .agg(((pl.col("woke").sum() + 1.0) / (pl.len() + 20.0)).alias("app_wake_rate"))
    )


def _before_one_date(
    devices: pl.DataFrame, apps: pl.DataFrame, installs: pl.DataFrame, usage: pl.DataFrame, d: dt.date
) -> pl.LazyFrame:
    paid = apps.lazy().filter(pl.col("license_cost_usd") > 0).select("app_id", "license_cost_usd")
    inst = (
        installs.lazy()
        .filter(pl.col("installed_on").is_null() | (pl.col("installed_on") <= d))
        .join(paid, on="app_id")
        .unique(["device_id", "app_id"], keep="first", maintain_order=True)
    )
    since = (pl.lit(d) - pl.col("date")).dt.total_days()
    gaps = pl.col("date").sort().diff().dt.total_days()
    used = (
        usage.lazy()
        .filter(pl.col("date") <= d)
        .group_by("device_id", "app_id")
        .agg(
            since.min().alias("days_since_last_use"),
            (since < 30).sum().alias("use_days_30"),
            (since < 60).sum().alias("use_days_60"),
            (since < 90).sum().alias("use_days_90"),
            pl.len().alias("use_days_all"),
            (since < 180).sum().alias("use_days_180"),
            (since < 365).sum().alias("use_days_365"),
            pl.col("minutes_used").filter(since < 30).sum().alias("minutes_30"),
            pl.col("minutes_used").filter(since < 90).sum().alias("minutes_90"),
            gaps.max().alias("max_gap"),
            gaps.median().alias("median_gap"),
            pl.col("date").min().alias("first_use"),
            # The coming 30 days, one quarter and one year earlier: periodic users show up here.
            ((since >= 61) & (since < 91)).sum().alias("use_days_prev_quarter_next30"),
            ((since >= 335) & (since < 365)).sum().alias("use_days_prev_year_next30"),
        )
    )
    role = devices.lazy().select("device_id", pl.col("role").fill_null("(none)"))
    # The person behind the device: away (leave, sick, a long project elsewhere) looks like idle everywhere.
    device = (
        usage.lazy()
        .filter(pl.col("date") <= d)
        .group_by("device_id")
        .agg(
            since.min().alias("device_days_since_any_use"),
            pl.col("date").filter(since < 30).n_unique().alias("device_use_days_30"),
        )
    )
    f = (
        inst.join(used, on=["device_id", "app_id"], how="left")
        .join(role, on="device_id", how="left")
        .join(device, on="device_id", how="left")
        .join(_before_wake_rates(inst, usage, d), on="app_id", how="left")
    )
    start = pl.coalesce(pl.col("installed_on"), pl.col("first_use"))
    f = f.with_columns(
        pl.lit(d).alias("as_of"),
        (pl.lit(d) - start).dt.total_days().alias("days_since_install"),
        pl.col("days_since_last_use").is_null().cast(pl.Float64).alias("never_used"),
        *[
            pl.col(c).fill_null(0)
            for c in (
                "use_days_30",
                "use_days_60",
                "use_days_90",
                "use_days_all",
                "use_days_180",
                "use_days_365",
                "minutes_30",
                "minutes_90",
                "device_use_days_30",
                "use_days_prev_quarter_next30",
                "use_days_prev_year_next30",
            )
        ],
        # Seasonal tools (finance close) come back at quarter end, whatever the fleet.
        pl.lit(float(_days_to_quarter_end(d))).alias("days_to_quarter_end"),
    )
    # Days the install could have been seen in use: since install, but not before the usage data starts.
    first_day = usage["date"].min()
    seen_from = first_day if isinstance(first_day, dt.date) else d
    observed = (pl.lit(d) - pl.max_horizontal(start.fill_null(pl.lit(d)), pl.lit(seen_from))).dt.total_days()
    f = f.with_columns(
        pl.lit(float((d - seen_from).days)).alias("history_days"),
        observed.alias("observed_days"),
        (pl.col("use_days_all") / (observed + 1)).alias("use_rate"),
    )
    active = (pl.col("use_days_90") > 0).cast(pl.Float64)
    n_peer = pl.len().over("role", "app_id") - 1
    return f.with_columns(
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
    ).drop("first_use")


def before_install_features(
    devices: pl.DataFrame,
    apps: pl.DataFrame,
    installs: pl.DataFrame,
    usage: pl.DataFrame,
    as_of_dates: Sequence[dt.date],
) -> pl.DataFrame:
    """`install_features` as it was before the usage index (the baseline), copied unchanged."""
    # Sorted once so that sums of minutes and the choice among duplicate installs (the earliest) do not
    # depend on the files' row order: the same data always gives the same features, hence the same model.
    installs = installs.sort("device_id", "app_id", "installed_on", nulls_last=False)
    usage = usage.sort("device_id", "app_id", "date")
    parts = [_before_one_date(devices, apps, installs, usage, d) for d in sorted(set(as_of_dates))]
    if not parts:
        raise ValueError("no as-of dates")
    out = pl.concat(parts).collect()
    return out.with_columns([pl.col(c).cast(pl.Float64) for c in FEATURES]).sort(
        "as_of", "device_id", "app_id"
    )


def _reset_peak() -> bool:
    """Start VmHWM again from the current RSS (Linux: clear_refs 5); False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def child(mode: str, data: str, n_dates: int, out: str) -> None:
    """Runs in a fresh process: load, features for `n_dates` dates, one JSON line."""
    from models.data import load_tables
    from models.usage import install_features

    t = load_tables(data, ["devices", "apps", "app_installs", "app_usage"])
    last = t["app_usage"]["date"].max()
    assert isinstance(last, dt.date)
    dates = [last - dt.timedelta(days=30 + 14 * k) for k in range(n_dates)]
    load_peak = memory_mb("VmHWM")
    reset = _reset_peak()
    before = memory_mb("VmRSS")
    fn = install_features if mode == "new" else before_install_features
    c0, w0 = time.process_time(), time.perf_counter()
    feats = fn(t["devices"], t["apps"], t["app_installs"], t["app_usage"], dates)
    result = {
        "mode": mode,
        "dates": n_dates,
        "cpu_s": round(time.process_time() - c0, 3),
        "wall_s": round(time.perf_counter() - w0, 3),
        "process_peak_mb": round(max(load_peak, memory_mb("VmHWM")), 1),
        "features_mb": round(memory_mb("VmHWM") - before, 1) if reset else None,
        "tables_mb": round(before, 1),
        "rows": feats.height,
        "usage_rows": t["app_usage"].height,
        "devices": t["devices"].height,
        "usage_days": t["app_usage"]["date"].n_unique(),
    }
    feats.write_parquet(out)
    print(json.dumps(result))


def _run(mode: str, data: Path, n_dates: int, out: Path) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", mode, str(data), str(n_dates), str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    result: dict[str, Any] = json.loads(res.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=10_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--data", type=Path, help="an existing fleet directory (skips generating one)")
    ap.add_argument("--child", nargs=4, metavar=("MODE", "DATA", "DATES", "OUT"))
    args = ap.parse_args()
    if args.child:
        mode, data, n, out = args.child
        child(mode, data, int(n), out)
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = args.data
        if data is None:
            from ws1ai.sandbox.fleet import generate_fleet, write_fleet

            data = root / "fleet"
            write_fleet(generate_fleet(devices=args.devices, seed=args.seed, days=args.days), data)
        runs: dict[tuple[str, int], list[dict[str, Any]]] = {(m, n): [] for m in MODES for n in DATES}
        same: dict[int, bool] = {}
        # Interleaved, so a busy moment on a shared machine does not land on one mode only.
        for _ in range(args.runs):
            for n in DATES:
                for mode in MODES:
                    runs[mode, n].append(_run(mode, data, n, root / f"{mode}_{n}.parquet"))
                same[n] = pl.read_parquet(root / f"new_{n}.parquet").equals(
                    pl.read_parquet(root / f"before_{n}.parquet")
                )
    best = {k: min(r, key=lambda x: x["process_peak_mb"]) for k, r in runs.items()}
    fastest = {k: min(x["cpu_s"] for x in r) for k, r in runs.items()}
    b = best["new", 1]
    print(
        f"usage features on {b['devices']} devices x {b['usage_days']} days "
        f"({b['usage_rows']:,} app_usage rows); "
        f"tables loaded: {b['tables_mb']:.0f} MB; best of {args.runs} fresh processes (peak: lowest run, "
        f"cpu: fastest run); cpu = process_time (all threads)"
    )
    for n in DATES:
        for mode in MODES:
            r = best[mode, n]
            print(
                f"  {n:2d} date(s) {mode:6s} features +{r['features_mb']:.0f} MB | process peak "
                f"{r['process_peak_mb']:.0f} MB | cpu {fastest[mode, n]:.2f} s, wall {r['wall_s']:.2f} s | "
                f"{r['rows']} rows"
            )
        new, old = best["new", n], best["before", n]
        print(
            f"  {n:2d} date(s) before / new: features memory x{old['features_mb'] / new['features_mb']:.2f}, "
            f"process peak x{old['process_peak_mb'] / new['process_peak_mb']:.2f}, "
            f"cpu x{fastest['before', n] / fastest['new', n]:.2f}; output identical: {same[n]}"
        )


if __name__ == "__main__":
    main()
