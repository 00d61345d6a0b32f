"""When each device reports at all, and which devices fail, when, of what, and how visibly.

Failures are drawn on [window start, end + 45 days]: those after `end` are not in the ground truth but their
precursors already show in the last weeks of telemetry, as in a real export (right-censored labels).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ws1ai.sandbox.fleet.catalog import MODELS
from ws1ai.sandbox.fleet.devices import NEVER, Devices
from ws1ai.sandbox.fleet.employees import People

__all__ = ["COMPONENTS", "NEVER", "Lifecycle", "simulate_lifecycle"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

COMPONENTS: tuple[str, str, str] = ("battery", "storage", "logic_board")
CENSOR_DAYS = 45  # failures drawn this far past the window end show precursors but are not labelled
LEAD_MIN, LEAD_MAX = 2.0, 40.0

_RATE = np.array([m.annual_failure_rate for m in MODELS])
_WEIGHTS = np.array([m.component_weights for m in MODELS])
_BATTERY = np.array([m.has_battery for m in MODELS])


@dataclass(frozen=True)
class Lifecycle:
    first_day: IntArray  # first day that can report (enrolment or window start)
    stop_day: IntArray  # first day that no longer reports (failure, return, loss) or NEVER
    fail_day: IntArray  # NEVER when the device does not fail within window + censoring horizon
    component: IntArray  # index into COMPONENTS, -1 when no failure
    lead: FloatArray  # days of visible degradation before fail_day (0 when silent)
    amplitude: FloatArray  # how strongly the precursor shows (0.6 subtle .. 1.6 blatant)
    shape: FloatArray  # >1: degradation accelerates toward the failure
    style: IntArray  # 0 smooth ramp, 1 step (sudden change part-way), 2 intermittent (events some days)
    step_at: FloatArray  # for steps: where in the lead the change happens (0..1)
    panic_share: FloatArray  # logic board: panics vs thermal events (some mostly overheat, some panic)
    hazard: FloatArray  # annual failure rate used (for diagnostics)


def simulate_lifecycle(
    rng: np.random.Generator, dev: Devices, people: People, start_day: int, end_day: int
) -> Lifecycle:
    n = len(dev.model)
    first = np.maximum(dev.enroll_day, start_day)
    age_years = (start_day - dev.purchase_day).clip(0) / 365.0
    model_mult = np.exp(rng.normal(0.0, 0.3, len(MODELS)))  # per-seed: this company's lemons differ
    age_mult = np.where(age_years < 0.25, 1.3, 0.5 + 0.25 * age_years)  # infant mortality, then wear-out
    heavy_user = np.exp(rng.normal(0.0, 0.25, n))
    hazard = _RATE[dev.model] * model_mult[dev.model] * age_mult * heavy_user

    lo = np.maximum(start_day, dev.enroll_day + 1)
    hi = end_day + CENSOR_DAYS
    span = np.maximum(hi - lo + 1, 0)
    fails = rng.random(n) < 1.0 - np.exp(-hazard * span / 365.0)
    fail_day = np.full(n, NEVER, dtype=np.int64)
    fail_day[fails] = lo[fails] + (rng.random(fails.sum()) * span[fails]).astype(np.int64)

    # Component: model mix, batteries more likely as they age; desktops have none.
    w = _WEIGHTS[dev.model] * np.column_stack([0.6 + 0.3 * age_years, np.ones(n), np.ones(n)])
    w[~_BATTERY[dev.model], 0] = 0.0
    cdf = np.cumsum(w / w.sum(axis=1, keepdims=True), axis=1)
    component = (rng.random(n)[:, None] > cdf).sum(axis=1).astype(np.int64)
    component = np.minimum(component, 2)
    component[~fails] = -1

    silent_share = rng.uniform(0.2, 0.3)
    visible = fails & (rng.random(n) >= silent_share)
    # Lead: a mixture of short (days) and long (weeks) announcements over the whole 2-40 day range.
    short = rng.random(n) < 0.25
    lead = np.where(short, rng.uniform(LEAD_MIN, 10.0, n), rng.uniform(10.0, LEAD_MAX, n))
    lead = np.where(visible, lead, 0.0)
    amplitude = np.where(visible, rng.uniform(0.6, 1.6, n), 0.0)
    shape = rng.uniform(0.8, 2.2, n)

    # Stops other than failure: a leaver's device is returned within days (or kept and still reporting);
    # some devices are lost or shelved and simply go quiet.
    leave = people.leave_day[dev.holder]
    returned = (leave < NEVER) & (rng.random(n) < 0.65)
    stop = np.full(n, NEVER, dtype=np.int64)
    stop[returned] = leave[returned] + rng.integers(0, 6, returned.sum())
    lost = rng.random(n) < 1.0 - np.exp(-0.02 * span / 365.0)
    stop[lost] = np.minimum(stop[lost], lo[lost] + (rng.random(lost.sum()) * span[lost]).astype(np.int64))
    # A device that went quiet before its failure date never fails on record.
    fail_day = np.where(stop < fail_day, NEVER, fail_day)
    component[fail_day == NEVER] = -1
    stop = np.minimum(stop, fail_day)
    style = rng.choice(3, size=n, p=[0.5, 0.25, 0.25])
    step_at = rng.uniform(0.15, 0.8, n)
    panic_share = rng.random(n)
    return Lifecycle(first, stop, fail_day, component, lead, amplitude, shape, style, step_at, panic_share,
                     hazard)
