"""App catalogue rows, installs by role, and daily usage with the patterns that make licence reclaim hard.

Each install gets a usage pattern: never, daily, weekly, monthly, quarterly (around quarter end for
finance tools, an own ~2-3 month cycle otherwise), annual, "stopped" (used, then abandoned), "sporadic"
(random days, weeks to months apart) or "project" (weeks of daily use, then months idle). A role's own
tools are mostly used; apps installed by chance mostly sit idle. Usage rows exist only for days with use,
only while the device is alive and after the install.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from ws1ai.sandbox.fleet._time import days_to_series, rng_for
from ws1ai.sandbox.fleet.absences import Absences
from ws1ai.sandbox.fleet.app_catalog import APP_CATALOG
from ws1ai.sandbox.fleet.catalog import MODELS
from ws1ai.sandbox.fleet.devices import Devices
from ws1ai.sandbox.fleet.employees import ROLE_TABLE
from ws1ai.sandbox.fleet.lifecycle import Lifecycle

__all__ = ["PATTERNS", "app_table", "simulate_installs", "simulate_usage"]

IntArray = npt.NDArray[np.int64]
PATTERNS = ("never", "daily", "weekly", "monthly", "quarterly", "annual", "stopped", "sporadic", "project")
_STAGE = 11
_CELLS_PER_BLOCK = 800_000
# Pattern mixes (order as PATTERNS) for a role's own tools, chance installs, and seasonal apps.
_CORE_MIX = np.array([0.07, 0.52, 0.15, 0.07, 0.05, 0.02, 0.06, 0.03, 0.03])
_CHANCE_MIX = np.array([0.44, 0.08, 0.10, 0.08, 0.06, 0.03, 0.14, 0.04, 0.03])
_SEASONAL_MIX = np.array([0.12, 0.02, 0.03, 0.08, 0.45, 0.15, 0.05, 0.05, 0.05])
_FIRST_APP_ID = 3001
_MODEL_PLATFORM = np.array([m.platform for m in MODELS], dtype=object)
_MODEL_RUGGED = np.array([m.form == "rugged" for m in MODELS])
_SEASONAL = np.array([a.seasonal for a in APP_CATALOG])


def app_table(rng: np.random.Generator) -> pl.DataFrame:
    """One row per (app, platform); prices carry this company's negotiated discount."""
    rows = []
    app_id = _FIRST_APP_ID
    discount = rng.uniform(0.8, 1.0)
    for spec in APP_CATALOG:
        for platform in spec.platforms:
            bundle = spec.bundle_id
            if platform == "WinRT":
                bundle = spec.name.replace(" ", "")  # Windows identifies apps by product name, not bundle
            elif platform == "Android":
                bundle = spec.bundle_id.lower()
            cost = round(spec.monthly_usd * discount, 2)
            rows.append({"app_id": app_id, "name": spec.name, "bundle_id": bundle, "platform": platform,
                         "license_cost_usd": float(cost), "_spec": APP_CATALOG.index(spec)})
            app_id += 1
    return pl.DataFrame(rows)


def _install_prob(spec_idx: int, slot: int, rugged: bool) -> float:
    spec = APP_CATALOG[spec_idx]
    if rugged and not spec.rugged:
        return 0.0
    if spec.rugged_only and not rugged:
        return 0.0
    role, dept = ROLE_TABLE["role"][slot], ROLE_TABLE["department"][slot]
    for key in (role, dept, "*"):
        if key in spec.audience:
            return spec.audience[key]
    return 0.0


def simulate_installs(
    rng: np.random.Generator, apps: pl.DataFrame, dev: Devices, slot: IntArray, life: Lifecycle, end_day: int,
) -> pl.DataFrame:
    """Returns device row index, app_id, installed day, pattern code and its parameters (internal columns)."""
    platforms = _MODEL_PLATFORM[dev.model]
    rugged = _MODEL_RUGGED[dev.model]
    spec_of = apps["_spec"].to_numpy()
    app_ids = apps["app_id"].to_numpy()
    app_plat = apps["platform"].to_numpy()
    n_slots = ROLE_TABLE.height
    parts = []
    for j in range(apps.height):
        on_plat = np.flatnonzero(platforms == app_plat[j])
        if not len(on_plat):
            continue
        table = np.array(
            [[_install_prob(int(spec_of[j]), s, r) for s in range(n_slots)] for r in (False, True)]
        )
        p = table[rugged[on_plat].astype(int), slot[on_plat]]
        hit = rng.random(len(on_plat)) < p
        got = on_plat[hit]
        parts.append(pl.DataFrame({"row": got.astype(np.int64), "app_id": np.full(len(got), app_ids[j]),
                                   "p": p[hit], "_spec": np.full(len(got), spec_of[j])}))
    inst = pl.concat(parts) if parts else pl.DataFrame(schema={"row": pl.Int64, "app_id": pl.Int64,
                                                               "p": pl.Float64, "_spec": pl.Int64})
    rows = inst["row"].to_numpy()
    k = len(rows)
    enroll = dev.enroll_day[rows]
    last_ok = np.minimum(np.minimum(life.stop_day[rows] - 1, end_day), np.maximum(enroll, end_day))
    last_ok = np.maximum(last_ok, enroll)
    # Most apps arrive with enrolment; some later (self-service, role change); a few in the last weeks.
    when = rng.random(k)
    installed = enroll + rng.integers(0, 4, k)
    later = when < 0.25
    room = last_ok[later] - enroll[later] + 1
    installed[later] = enroll[later] + (rng.random(later.sum()) * room).astype(np.int64)
    fresh = (when > 0.96) & (last_ok >= end_day - 20)
    installed[fresh] = end_day - rng.integers(0, 21, fresh.sum())
    installed = np.clip(installed, enroll, last_ok)

    seasonal = _SEASONAL[inst["_spec"].to_numpy()]
    core = inst["p"].to_numpy() >= 0.45
    mix = np.where(seasonal[:, None], _SEASONAL_MIX, np.where(core[:, None], _CORE_MIX, _CHANCE_MIX))
    cdf = np.cumsum(mix / mix.sum(axis=1, keepdims=True), axis=1)
    pattern = np.minimum((rng.random(k)[:, None] > cdf).sum(axis=1), len(PATTERNS) - 1)
    return inst.with_columns(
        pl.Series("installed_day", installed),
        pl.Series("pattern", pattern.astype(np.int64)),
        pl.Series("intensity", rng.uniform(0.5, 0.95, k)),
        pl.Series("anchor", rng.integers(0, 365, k)),  # weekday / day of month / day of year by pattern
        pl.Series("period", rng.integers(60, 150, k)),  # quarterly cycle or project cadence
        pl.Series("active", rng.integers(8, 40, k)),  # project: days of use per cycle
        pl.Series("rate", rng.uniform(1 / 120, 1 / 25, k)),  # sporadic: uses per day
        pl.Series("seasonal", seasonal),
        pl.Series("stop_after", installed + rng.integers(10, 200, k)),  # for "stopped": last use
        pl.Series("minutes_mu", rng.normal(np.log(25.0), 0.6, k)),
        pl.Series("weekend_worker", rugged[rows]),
    )


def simulate_usage(
    seed: int, inst: pl.DataFrame, life: Lifecycle, start_day: int, n_days: int, end_day: int,
    device_ids: IntArray, absences: Absences, progress: Callable[[int], None] | None = None,
) -> pl.DataFrame:
    cal = pl.DataFrame({"date": days_to_series("date", start_day + np.arange(n_days))}).select(
        pl.col("date").dt.weekday().alias("wd") - 1, pl.col("date").dt.day().alias("dom"),
        pl.col("date").dt.month().alias("month"), pl.col("date").dt.ordinal_day().alias("doy"),
    )
    wd, dom = cal["wd"].to_numpy()[None, :], cal["dom"].to_numpy()[None, :]
    month, doy = cal["month"].to_numpy()[None, :], cal["doy"].to_numpy()[None, :]
    weekend = wd >= 5
    # Quarter close: last 12 days of Mar/Jun/Sep/Dec and the first 4 of the following month.
    q_close = (np.isin(month, [3, 6, 9, 12]) & (dom >= 19)) | (np.isin(month, [1, 4, 7, 10]) & (dom <= 4))
    day = start_day + np.arange(n_days)[None, :]
    block = max(256, _CELLS_PER_BLOCK // max(n_days, 1))
    frames = []
    for b, lo in enumerate(range(0, inst.height, block)):
        part = inst.slice(lo, block)
        frames.append(_usage_block(rng_for(seed, _STAGE, b), part, life, day, wd, dom, doy, weekend, q_close,
                                   end_day, device_ids, absences))
        if progress is not None:
            progress(part.height)
    if not frames:
        return pl.DataFrame(schema={"device_id": pl.Int64, "app_id": pl.Int64, "date": pl.Date,
                                    "minutes_used": pl.Float64})
    return pl.concat(frames, rechunk=False)  # sorted: installs come in (device_id, app_id) order


def _usage_block(
    rng: np.random.Generator, part: pl.DataFrame, life: Lifecycle, day: IntArray, wd: IntArray, dom: IntArray,
    doy: IntArray, weekend: npt.NDArray[np.bool_], q_close: npt.NDArray[np.bool_], end_day: int,
    device_ids: IntArray, absences: Absences,
) -> pl.DataFrame:
    def c(name: str) -> npt.NDArray[Any]:  # per-install column, broadcast over days
        return part[name].to_numpy()[:, None]

    pat, inten, anchor = c("pattern"), c("intensity"), c("anchor")
    rows = part["row"].to_numpy()
    worker = c("weekend_worker")
    daily = inten * np.where(weekend & ~worker, 0.08, 1.0)
    weekly = np.where(wd == anchor % 5, 0.8, 0.03) * np.where(weekend, 0.2, 1.0)
    monthly = np.where(np.abs(dom - (anchor % 28 + 1)) <= 1, 0.55, 0.004)
    # Seasonal apps follow the calendar's quarter close; other quarterly users their own cycle.
    cycle = (day + anchor) % np.maximum(c("period") // 2 + 45, 60)
    own_cycle = np.where(cycle < 4, 0.45, 0.002)
    quarterly = np.where(c("seasonal"), np.where(q_close, 0.35, 0.002), own_cycle)
    project = np.where((day + anchor) % c("period") < c("active"), inten * np.where(weekend, 0.1, 0.9), 0.0)
    sporadic = c("rate") * np.ones_like(daily)
    circ = np.abs(doy - (anchor + 1))
    annual = np.where(np.minimum(circ, 365 - circ) <= 7, 0.5, 0.0)
    stopped = np.where(day <= c("stop_after"), inten * 0.7 * np.where(weekend, 0.1, 1.0), 0.0)
    p = np.select([pat == 1, pat == 2, pat == 3, pat == 4, pat == 5, pat == 6, pat == 7, pat == 8],
                  [daily, weekly, monthly, quarterly, annual, stopped, sporadic, project], 0.0)
    alive = (day >= c("installed_day")) & (day < life.stop_day[rows][:, None]) & (day <= end_day)
    alive &= ~absences.mask(part["holder"].to_numpy(), day[0])  # nobody works on holiday
    used = alive & (rng.random(p.shape) < p)
    r, d = np.nonzero(used)
    minutes = np.exp(part["minutes_mu"].to_numpy()[r] + rng.normal(0, 0.7, len(r)))
    return pl.DataFrame({
        "device_id": device_ids[rows[r]],
        "app_id": part["app_id"].to_numpy()[r].astype(np.int64),
        "date": days_to_series("date", day[0, d]),
        "minutes_used": np.round(np.clip(minutes, 0.5, 600.0), 1),
    })
