"""Daily telemetry, vectorised over (devices x days) blocks: the signal and the noise real fleets have.

Healthy devices age (battery health falls with cycles and calendar time, storage drifts and is cleaned up),
crash in Poisson noise with bursts (a bad app update, a fleet-wide OS bug on one model), miss days (offline,
weekends for desktops, holidays). Failing devices degrade over a lead time with a component-specific
signature that accelerates toward the failure; a share of failures shows nothing at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from ws1ai.sandbox.fleet._time import days_to_series, rng_for
from ws1ai.sandbox.fleet.absences import Absences
from ws1ai.sandbox.fleet.catalog import MODELS
from ws1ai.sandbox.fleet.devices import Devices
from ws1ai.sandbox.fleet.lifecycle import Lifecycle

__all__ = ["TelemetryParams", "draw_params", "simulate_telemetry"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
_STAGE = 7
_CELLS_PER_BLOCK = 600_000  # bounds peak memory: a dozen float arrays of this many cells per block

_FORM = np.array([m.form for m in MODELS], dtype=object)
_PLAT = np.array([m.platform for m in MODELS], dtype=object)
_HAS_BATTERY = np.array([m.has_battery for m in MODELS])
_CYCLES = np.array([m.reports_cycles for m in MODELS])
_FANLESS = np.array(["Air" in m.name or m.form in ("phone", "tablet") for m in MODELS])


@dataclass(frozen=True)
class TelemetryParams:
    """Per-device constants (drawn once, so a longer window extends the same devices)."""

    cycles_rate: FloatArray
    cycles0: FloatArray
    wear_per_cycle: FloatArray
    wear_per_day: FloatArray
    health0: FloatArray
    storage0: FloatArray
    storage_drift: FloatArray
    crash_rate: FloatArray
    panic_rate: FloatArray
    thermal_rate: FloatArray
    miss_rate: FloatArray
    fail_drop: FloatArray  # battery health points lost to a failing battery at full progress
    storage_target: FloatArray
    storage_ceiling: FloatArray  # where the user cleans up (99.5 for the ones who never do)
    storage_clean_to: FloatArray


def draw_params(rng: np.random.Generator, dev: Devices, start_day: int) -> TelemetryParams:
    n = len(dev.model)
    form = _FORM[dev.model]
    plat = _PLAT[dev.model]
    base_cycles = np.select(
        [form == "phone", form == "rugged", form == "tablet", form == "laptop"], [0.85, 1.25, 0.4, 0.45], 0.0
    )
    cycles_rate = base_cycles * np.exp(rng.normal(0, 0.3, n))
    age = np.maximum(start_day - dev.purchase_day, 0).astype(np.float64)
    cycles0 = cycles_rate * age * rng.uniform(0.7, 1.1, n)
    # Li-ion: ~20 % capacity lost over 600-1000 cycles, plus calendar ageing of ~1.5 %/year.
    wear_per_cycle = np.exp(rng.normal(np.log(0.022), 0.35, n))
    wear_per_day = np.exp(rng.normal(np.log(0.004), 0.4, n))
    health0 = np.clip(100 - wear_per_cycle * cycles0 - wear_per_day * age + rng.normal(0, 1.5, n), 52, 100)
    storage0 = 12 + 80 * rng.beta(2.0, 2.6, n)
    nearly_full = rng.random(n) < 0.07  # the photo library / VM images that always fill the disk
    storage0[nearly_full] = rng.uniform(86.0, 99.0, nearly_full.sum())
    storage_drift = rng.normal(0.012, 0.04, n)
    crash_rate = np.exp(rng.normal(np.log(0.06), 0.9, n)) * np.where(plat == "WinRT", 1.6, 1.0)
    panic_base = np.select([plat == "WinRT", plat == "AppleOsX"], [0.004, 0.0015], 0.0008)
    panic_rate = panic_base * np.exp(rng.normal(0, 0.6, n))
    thermal_rate = np.where(_FANLESS[dev.model], 0.012, 0.005) * np.exp(rng.normal(0, 0.7, n))
    flaky = rng.random(n) < 0.08
    miss_rate = np.where(flaky, rng.uniform(0.15, 0.45, n), rng.beta(1.0, 22.0, n))
    fail_drop = rng.uniform(8.0, 25.0, n)
    storage_target = rng.uniform(95.5, 99.8, n)
    hoarder = nearly_full | (rng.random(n) < 0.1)  # live with a full disk; the rest clean up when short
    storage_ceiling = np.where(hoarder, 99.5, rng.uniform(86.0, 95.0, n))
    storage_clean_to = rng.uniform(35.0, 75.0, n)
    return TelemetryParams(cycles_rate, cycles0, wear_per_cycle, wear_per_day, health0, storage0,
                           storage_drift, crash_rate, panic_rate, thermal_rate, miss_rate, fail_drop,
                           storage_target, storage_ceiling, storage_clean_to)


def simulate_telemetry(
    seed: int, dev: Devices, life: Lifecycle, par: TelemetryParams, start_day: int, n_days: int,
    device_ids: npt.NDArray[np.int64], absences: Absences, progress: Callable[[int], None] | None = None,
) -> pl.DataFrame:
    n = len(dev.model)
    block = max(64, _CELLS_PER_BLOCK // max(n_days, 1))
    events = _fleet_events(rng_for(seed, _STAGE, 0), n_days)
    frames = []
    by_id = np.argsort(device_ids, kind="stable")  # blocks in id order: output comes out sorted
    for b, lo in enumerate(range(0, n, block)):
        idx = by_id[lo:lo + block]
        frames.append(_block(rng_for(seed, _STAGE, b + 1), idx, dev, life, par, start_day, n_days, events,
                             device_ids, absences))
        if progress is not None:
            progress(len(idx))
    if not frames:
        return _empty()
    return pl.concat(frames, rechunk=False)


def _fleet_events(rng: np.random.Generator, n_days: int) -> list[tuple[int, int, int, float]]:
    """Fleet-wide crash storms: (model, first day, duration, multiplier), e.g. a buggy OS point release."""
    count = rng.poisson(n_days / 60.0)
    return [
        (int(rng.integers(0, len(MODELS))), int(rng.integers(0, n_days)), int(rng.integers(2, 7)),
         float(rng.uniform(3.0, 10.0)))
        for _ in range(count)
    ]


def _block(
    rng: np.random.Generator, idx: npt.NDArray[np.int64], dev: Devices, life: Lifecycle, par: TelemetryParams,
    start_day: int, n_days: int, events: list[tuple[int, int, int, float]], device_ids: npt.NDArray[np.int64],
    absences: Absences,
) -> pl.DataFrame:
    c, d = len(idx), n_days
    day = start_day + np.arange(d)[None, :]  # (1, d) absolute day numbers
    weekday = (day + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    weekend = weekday >= 5
    dates = np.datetime64("1970-01-01", "D") + day
    month = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dom = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
    holidays = ((month == 12) & (dom >= 23)) | ((month == 1) & (dom <= 1))  # offices closed
    def col(a: npt.NDArray[Any]) -> npt.NDArray[Any]:  # per-device column, broadcast over days
        return a[idx][:, None]

    model = dev.model[idx]
    form = _FORM[model]

    # Precursor progress in [0, 1], shaped to accelerate, scaled by how loudly this failure announces itself.
    fail, lead = col(life.fail_day), np.maximum(col(life.lead), 1e-9)
    ramp = np.clip((day - (fail - lead)) / lead, 0.0, 1.0)
    # Styles: a smooth accelerating ramp, a step part-way through the lead, or events on some days only.
    style = col(life.style)
    shaped = np.where(style == 1, (ramp >= col(life.step_at)) & (ramp > 0), ramp ** col(life.shape))
    prog = np.where(col(life.lead) > 0, shaped * col(life.amplitude), 0.0)
    on_days = np.where(style == 2, (rng.random((c, d)) < 0.35) / 0.35, 1.0)
    comp = col(life.component)
    p_batt, p_stor, p_logic = (np.where(comp == k, prog, 0.0) for k in range(3))
    e_stor, e_logic = p_stor * on_days, p_logic * on_days  # what drives event counts
    panic_w = 0.3 + 1.4 * col(life.panic_share)

    # Battery: cycles accumulate (faster when the battery is failing); health falls with cycles and time.
    usage = np.where(weekend, 0.7, 1.05) * rng.gamma(6.0, 1 / 6.0, (c, d))
    daily_cycles = col(par.cycles_rate) * usage * (1.0 + 1.2 * p_batt)
    cycles = col(par.cycles0) + np.cumsum(daily_cycles, axis=1)
    wear = np.cumsum(col(par.wear_per_cycle) * daily_cycles + col(par.wear_per_day), axis=1)
    health = col(par.health0) - wear - col(par.fail_drop) * p_batt + rng.normal(0, 0.35, (c, d))
    # iOS/Android report whole percent; Windows battery reports are derived from capacities (decimals).
    whole = _PLAT[model] != "WinRT"
    health = np.where(whole[:, None], np.round(health), np.round(health, 1))
    health = np.clip(health, 35.0, 100.0)

    # Storage: per-device drift with noise and occasional clean-ups; a failing disk fills up and crashes.
    step = col(par.storage_drift) + rng.normal(0, 0.2, (c, d))
    step -= (rng.random((c, d)) < 0.005) * rng.uniform(3.0, 12.0, (c, d))
    storage = col(par.storage0) + np.cumsum(step, axis=1)
    ceiling, floor = col(par.storage_ceiling), col(par.storage_clean_to)
    wrapped = floor + np.mod(storage - floor, np.maximum(ceiling - floor, 1.0))  # fill, clean up, fill again
    storage = np.where((storage > ceiling) & (ceiling < 99.0), wrapped, storage)
    storage = np.clip(storage, 3.0, 99.5)
    storage = storage + (col(par.storage_target) - storage) * np.minimum(p_stor, 1.0)
    storage = np.round(np.clip(storage, 1.0, 99.9), 2)

    # Crashes: Poisson with bursts on healthy devices (app updates) and fleet-wide storms on one model.
    burst = np.ones((c, d))
    n_bursts = rng.poisson(3.0 * d / 365.0, c)
    for k in range(int(n_bursts.max(initial=0))):
        has = n_bursts > k
        b0 = rng.integers(0, d, c)
        b_len = rng.integers(1, 5, c)
        mult = rng.uniform(4.0, 25.0, c)
        t = np.arange(d)[None, :]
        inside = has[:, None] & (t >= b0[:, None]) & (t < (b0 + b_len)[:, None])
        burst = np.where(inside, burst * mult[:, None], burst)
    for ev_model, ev_day, ev_len, ev_mult in events:
        hit = (model == ev_model) & (dev.os_lag[idx] == 0)
        burst[hit, ev_day:ev_day + ev_len] *= ev_mult
    noise = np.minimum(col(par.crash_rate) * burst, 40.0)
    crash_lam = noise * (1.0 + 5.0 * e_stor) + 2.0 * e_stor + 0.8 * e_logic  # I/O errors crash apps
    crashes = np.asarray(rng.poisson(crash_lam))
    summer = np.isin(month, [6, 7, 8])
    panics = np.asarray(rng.poisson(col(par.panic_rate) * np.where(burst > 5, 3.0, 1.0) + panic_w * e_logic))
    thermal_w = 1.2 * (2.0 - panic_w)
    thermal_lam = col(par.thermal_rate) * np.where(summer, 1.6, 1.0) + thermal_w * e_logic + 0.1 * p_batt
    thermal = np.asarray(rng.poisson(thermal_lam))

    # Reporting: alive window, random misses, desktops off at weekends, holiday/offline gaps.
    alive = (day >= col(life.first_day)) & (day < col(life.stop_day))
    computer = np.isin(form, ["desktop", "laptop"])[:, None]
    miss_p = (
        col(par.miss_rate)
        + np.where((form == "desktop")[:, None] & weekend, 0.55, 0.0)
        + np.where(computer & holidays, 0.45, 0.0)
        + 0.3 * np.minimum(p_logic + p_stor, 1.0)  # a failing board or disk checks in less and less
    )
    report = alive & (rng.random((c, d)) >= miss_p)
    # The holder's holidays switch computers off; any device sometimes goes dark for days (drawer, network).
    report &= ~(computer & absences.mask(dev.holder[idx], day[0]))
    n_gaps = np.minimum(rng.poisson(0.8 * d / 365.0, c), 4)
    t = np.arange(d)[None, :]
    for k in range(int(n_gaps.max(initial=0))):
        g0 = rng.integers(0, d, c)
        g_len = rng.integers(2, 12, c)
        report &= ~((n_gaps > k)[:, None] & (t >= g0[:, None]) & (t < (g0 + g_len)[:, None]))

    rows, days = np.nonzero(report)
    has_batt = _HAS_BATTERY[model][rows]
    has_cyc = _CYCLES[model][rows]
    return pl.DataFrame(
        {
            "device_id": device_ids[idx][rows],
            "date": days_to_series("date", start_day + days),
            "battery_health_pct": pl.Series(health[rows, days]).fill_nan(None),
            "battery_cycles": np.round(cycles[rows, days]).astype(np.int64),
            "storage_used_pct": storage[rows, days],
            "crash_count": crashes[rows, days].astype(np.int64),
            "kernel_panic_count": panics[rows, days].astype(np.int64),
            "thermal_event_count": thermal[rows, days].astype(np.int64),
            "_batt": has_batt,
            "_cyc": has_cyc,
        }
    ).with_columns(
        pl.when(pl.col("_batt")).then(pl.col("battery_health_pct")).alias("battery_health_pct"),
        pl.when(pl.col("_cyc")).then(pl.col("battery_cycles")).alias("battery_cycles"),
    ).drop("_batt", "_cyc")


def _empty() -> pl.DataFrame:
    from ws1ai.sandbox.fleet.contract import CONTRACT

    return pl.DataFrame(schema=CONTRACT["telemetry"])
