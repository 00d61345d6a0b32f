"""A small, deliberately *different* fleet generator, used to check that models fit the problem.

The team's simulator (`ws1ai.sandbox.fleet`) is the main data source. Models trained on it are also
scored on frames from this generator, whose dynamics differ on purpose: different precursor shapes
(step drops, noisy drifts, panics without thermal events), a third of failures with no warning at all,
whole-week telemetry outages, crash bursts on healthy devices, and monthly/quarterly licence users.
Only the contract tables health and usage need are produced.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

__all__ = ["synth_fleet"]

_MODELS = [
    ("PhoneA", "Apple", 0.03),
    ("PhoneB", "Android", 0.06),
    ("LaptopC", "WinRT", 0.04),
    ("LaptopD", "AppleOsX", 0.025),
    ("DeskE", "WinRT", 0.015),
]
_ROLES = [("Finance", "analyst"), ("Sales", "rep"), ("Engineering", "developer"), ("Ops", "technician")]


def _devices(rng: np.random.Generator, n: int, start: dt.date) -> pl.DataFrame:
    m = rng.integers(0, len(_MODELS), n)
    r = rng.integers(0, len(_ROLES), n)
    age0 = rng.integers(30, 1400, n)
    purchase = [start - dt.timedelta(days=int(a)) for a in age0]
    return pl.DataFrame(
        {
            "device_id": np.arange(10_000, 10_000 + n, dtype=np.int64),
            "uuid": [f"u{i}" for i in range(n)],
            "serial_number": [f"S{i:08d}" for i in range(n)],
            "platform": [_MODELS[k][1] for k in m],
            "model": [_MODELS[k][0] for k in m],
            "os_version": ["1.0"] * n,
            "ownership": ["C"] * n,
            "user_name": [f"user{i}" for i in range(n)],
            "user_email": [f"user{i}@x.test" for i in range(n)],
            "department": [_ROLES[k][0] for k in r],
            "role": [_ROLES[k][1] for k in r],
            "location_group_id": np.ones(n, dtype=np.int64),
            "enrolled_on": [dt.datetime.combine(p, dt.time()) for p in purchase],
            "last_seen": [dt.datetime.combine(start, dt.time())] * n,
            "compliance_status": ["Compliant"] * n,
            "compromised": [False] * n,
            "encrypted": [True] * n,
            "purchase_date": purchase,
            "warranty_end": [p + dt.timedelta(days=730) for p in purchase],
        }
    )


def _health(
    rng: np.random.Generator, dev: pl.DataFrame, days: int, start: dt.date
) -> tuple[pl.DataFrame, pl.DataFrame]:
    n = dev.height
    rate = np.array([dict((a, c) for a, _, c in _MODELS)[m] for m in dev["model"]])
    age = np.array([(start - p).days for p in dev["purchase_date"]], dtype=float)
    rate = rate * (0.5 + age / 700.0)  # older devices fail more
    fail_day = np.where(rng.random(n) < 1 - np.exp(-rate * days / 365), rng.integers(0, days, n), -1)
    comp = rng.choice(np.array(["battery", "storage", "logic_board"]), n, p=[0.4, 0.3, 0.3])
    comp = np.where(
        dev["platform"].is_in(["WinRT"]).to_numpy()
        & (dev["model"] == "DeskE").to_numpy()
        & (comp == "battery"),
        "storage",
        comp,
    )
    warned = rng.random(n) > 0.33  # a third of failures give no warning at all
    lead = rng.integers(2, 30, n)
    t = np.arange(days)[None, :].repeat(n, 0).astype(float)
    to_fail = np.where(fail_day[:, None] >= 0, fail_day[:, None] - t, 1e9)
    ramp = np.clip(1 - to_fail / lead[:, None], 0, 1) * warned[:, None] * (to_fail >= 0)
    is_c = {c: (comp == c)[:, None] * ramp for c in ("battery", "storage", "logic_board")}
    batt = 100 - age[:, None] * 0.012 - t * 0.012 + rng.normal(0, 0.8, (n, days))
    batt = batt - 12 * np.round(is_c["battery"] * 3) / 3  # step-like drops, not a smooth slope
    has_batt = (dev["model"] != "DeskE").to_numpy()
    stor = np.clip(
        35
        + rng.uniform(0, 40, n)[:, None]
        + t * 0.03
        + rng.normal(0, 0.5, (n, days))
        + 20 * is_c["storage"] * rng.random((n, days)),
        0,
        100,
    )
    burst = rng.random((n, days)) < 0.004  # healthy devices crash in bursts now and then
    crash = rng.poisson(0.15 + 3 * is_c["storage"] + 1.5 * is_c["logic_board"] + 8 * burst)
    panic = rng.poisson(0.005 + 0.6 * is_c["logic_board"])
    thermal = rng.poisson(0.03 + 0.5 * is_c["battery"] + 0.2 * burst)
    outage = rng.random((n, days // 7 + 1)) < 0.03
    keep = (rng.random((n, days)) > 0.08) & ~np.repeat(outage, 7, 1)[:, :days]
    keep &= to_fail > 0  # a failed device stops reporting
    ii, tt = np.nonzero(keep)
    dates = np.datetime64(start, "D") + np.arange(days)
    tel = pl.DataFrame(
        {
            "device_id": dev["device_id"].to_numpy()[ii],
            "date": dates[tt],
            "battery_health_pct": np.where(has_batt[ii], np.clip(batt[ii, tt], 0, 100), np.nan),
            "battery_cycles": (age[ii] * 0.8 + tt * 0.9).astype(np.int64),
            "storage_used_pct": stor[ii, tt],
            "crash_count": crash[ii, tt].astype(np.int64),
            "kernel_panic_count": panic[ii, tt].astype(np.int64),
            "thermal_event_count": thermal[ii, tt].astype(np.int64),
        }
    ).with_columns(pl.col("battery_health_pct").fill_nan(None), pl.col("date").cast(pl.Date))
    tel = tel.with_columns(
        pl.when(pl.col("battery_health_pct").is_null())
        .then(None)
        .otherwise(pl.col("battery_cycles"))
        .alias("battery_cycles")
    )
    f = np.nonzero(fail_day >= 0)[0]
    failures = pl.DataFrame(
        {"device_id": dev["device_id"].to_numpy()[f], "failed_on": dates[fail_day[f]], "component": comp[f]}
    ).with_columns(pl.col("failed_on").cast(pl.Date))
    return tel, failures


def _usage(
    rng: np.random.Generator, dev: pl.DataFrame, days: int, start: dt.date
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    apps = pl.DataFrame(
        {
            "app_id": np.arange(1, 7, dtype=np.int64),
            "name": ["Suite", "Design", "Stats", "CAD", "Chat", "Notes"],
            "bundle_id": [f"com.x.{i}" for i in range(6)],
            "platform": ["any"] * 6,
            "license_cost_usd": [12.0, 25.0, 40.0, 60.0, 0.0, 0.0],
        }
    )
    rows_i, rows_u = [], []
    # Patterns: period in days between uses (None = never again), with a share per pattern.
    patterns = [(1, 0.35), (7, 0.15), (30, 0.12), (91, 0.08), (-1, 0.15), (0, 0.15)]  # -1 stopped, 0 never
    periods = np.array([p for p, _ in patterns])
    probs = np.array([w for _, w in patterns])
    for app_id in apps["app_id"]:
        holders = dev.filter(pl.lit(rng.random(dev.height)) < 0.5)["device_id"].to_numpy()
        inst = rng.integers(-400, days - 10, holders.size)
        pat = rng.choice(periods, holders.size, p=probs)
        stop = rng.integers(0, days, holders.size)
        for d, i0, p, s in zip(holders, inst, pat, stop, strict=True):
            rows_i.append((d, int(app_id), start + dt.timedelta(days=int(i0))))
            if p == 0:
                continue
            step = 1 if p == -1 else int(p)
            phase = int(rng.integers(0, step))
            for k in range(max(0, int(i0)) + phase, days, step):
                if p == -1 and k > s:
                    break
                if rng.random() < (0.7 if step == 1 else 0.95):
                    j = min(days - 1, k + int(rng.integers(0, 3)) if step > 1 else k)
                    rows_u.append((d, int(app_id), start + dt.timedelta(days=j), float(rng.uniform(5, 120))))
    installs = pl.DataFrame(
        rows_i, schema={"device_id": pl.Int64, "app_id": pl.Int64, "installed_on": pl.Date}, orient="row"
    )
    usage = pl.DataFrame(
        rows_u,
        schema={"device_id": pl.Int64, "app_id": pl.Int64, "date": pl.Date, "minutes_used": pl.Float64},
        orient="row",
    )
    return apps, installs, usage.unique(["device_id", "app_id", "date"])


def synth_fleet(
    devices: int = 400, days: int = 180, seed: int = 0, end: dt.date = dt.date(2026, 10, 31)
) -> dict[str, pl.DataFrame]:
    """Contract tables keyed by name (devices, telemetry, failures, apps, app_installs, app_usage)."""
    rng = np.random.default_rng(seed)
    start = end - dt.timedelta(days=days - 1)
    dev = _devices(rng, devices, start)
    tel, failures = _health(rng, dev, days, start)
    apps, installs, usage = _usage(rng, dev, days, start)
    return {
        "devices": dev,
        "telemetry": tel,
        "failures": failures,
        "apps": apps,
        "app_installs": installs,
        "app_usage": usage,
    }
