"""Compliance history: when each device's compliance status changed, as UEM's compliance events record it.

One row when the device enters the window (its status that day, at window start or enrolment) and one row
per change after that, so a device's last row is its `devices.compliance_status`. The current violation
starts when its cause appears: the MTD flag a few days after the latent infection, the jailbreak (often
months ago), encryption off since enrolment or recently suspended, the OS floor passed (mostly an update
pending for days, sometimes hardware that cannot upgrade), policy noise (days). Earlier benign episodes
(pending updates, passcode or certificate drift) last days and flip back to Compliant. NotAvailable: stale
devices some days after they were last seen, and a few devices recently unassigned from the policy.

Draws come from their own stream (`_STAGE`) after every other stage: adding this table changes no other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from ws1ai.sandbox.fleet._time import days_to_series, rng_for
from ws1ai.sandbox.fleet.catalog import MIN_COMPLIANT_LAG, MODELS
from ws1ai.sandbox.fleet.devices import NEVER, Devices

__all__ = ["STATUSES", "ComplianceCauses", "simulate_compliance_history"]

_STAGE = 15
STATUSES: tuple[str, str, str] = ("Compliant", "NonCompliant", "NotAvailable")
_CELLS_PER_BLOCK = 4_000_000  # device-days held at once while finding the changes

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class ComplianceCauses:
    """Why each device (in generation row order) has its current status; all bool arrays but `last_day`."""

    compromised: BoolArray  # jailbreak detected
    unencrypted: BoolArray
    os_floor: BoolArray  # OS older than the platform's compliant floor
    threat: BoolArray  # infection flagged by the mobile threat defence integration
    noise: BoolArray  # policy noise
    unavailable: BoolArray  # current status NotAvailable (overrides the causes above)
    stale: BoolArray  # not seen for more than 30 days
    last_day: IntArray  # day number last seen


def _ago(end_day: int, days: npt.NDArray[np.float64]) -> IntArray:
    return end_day - np.floor(days).astype(np.int64)


def simulate_compliance_history(
    seed: int, dev: Devices, causes: ComplianceCauses, device_ids: IntArray, start_day: int, end_day: int,
) -> pl.DataFrame:
    """device_id, date, compliance_status: a row at each device's first window day and one per change."""
    n = len(device_ids)
    rng = rng_for(seed, _STAGE)
    obs0 = np.minimum(np.maximum(dev.enroll_day, start_day), end_day)

    # When each cause of a violation appeared (only read where the cause is present).
    comp_from = _ago(end_day, rng.exponential(150.0, n))
    threat_from = np.minimum(dev.infected_day, end_day) + rng.integers(1, 4, n)
    since_enrol = rng.random(n) < 0.3  # never encrypted (no TPM, user refused); else suspended lately
    enc_from = np.where(since_enrol, dev.enroll_day + rng.integers(0, 3, n),
                        _ago(end_day, rng.exponential(10.0, n)))
    # One step below the floor is mostly an update pending; further below, hardware that cannot upgrade.
    floor = np.array([MIN_COMPLIANT_LAG[MODELS[m].platform] for m in dev.model], dtype=np.int64)
    below = np.maximum(dev.os_lag - floor, 1)
    cannot_upgrade = rng.random(n) < np.where(below >= 2, 0.6, 0.3)
    os_from = _ago(end_day, rng.exponential(np.where(cannot_upgrade, 75.0, 8.0)))
    noise_from = _ago(end_day, rng.exponential(4.0, n))
    na_stale = causes.last_day + rng.integers(1, 31, n)
    na_recent = end_day - rng.geometric(0.1, n) + 1

    nc_from = np.full(n, NEVER, dtype=np.int64)
    for cause, since in ((causes.compromised, comp_from), (causes.threat, threat_from), (causes.unencrypted,
                         enc_from), (causes.os_floor, os_from), (causes.noise, noise_from)):
        nc_from = np.where(cause, np.minimum(nc_from, since), nc_from)
    violation = nc_from < NEVER
    nc_from = np.clip(nc_from, obs0, end_day)
    na_from = np.where(causes.unavailable, np.where(causes.stale, np.minimum(na_stale, end_day), na_recent),
                       NEVER)
    na_from = np.maximum(na_from, obs0)
    # A NotAvailable device shows its violation until it became unavailable (if it was seen with it).
    has_nc = violation & (~causes.unavailable | ((nc_from < na_from) & (nc_from <= causes.last_day)))
    nc_from = np.where(has_nc, nc_from, NEVER)
    current_from = np.minimum(np.minimum(nc_from, na_from), end_day + 1)

    # Past benign episodes, before the current status (a Compliant day in between) and while seen.
    rate = 1.2 * np.where(dev.ownership == "E", 1.8, 1.0) * (1.0 + 0.3 * np.minimum(dev.os_lag, 3)) / 365.0
    room = np.maximum(np.minimum(current_from - 1, causes.last_day + 1) - obs0, 0)
    count = rng.poisson(rate * room)
    ep = np.repeat(np.arange(n), count)
    ep_from = obs0[ep] + (rng.random(len(ep)) * room[ep]).astype(np.int64)
    ep_to = np.minimum(ep_from + rng.geometric(0.2, len(ep)) - 1, current_from[ep] - 2)

    order = np.argsort(device_ids, kind="stable")  # rows come out sorted by device, then date
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    ep_rank = rank[ep]
    days = end_day - start_day + 1
    step = max(1, _CELLS_PER_BLOCK // days)
    out_rows: list[IntArray] = []
    out_days: list[IntArray] = []
    out_status: list[npt.NDArray[np.int8]] = []
    col = np.arange(days)
    for lo in range(0, n, step):
        rows = order[lo : lo + step]
        nb = len(rows)
        diff = np.zeros((nb, days + 1), dtype=np.int16)
        sel = (ep_rank >= lo) & (ep_rank < lo + nb)
        np.add.at(diff, (ep_rank[sel] - lo, ep_from[sel] - start_day), 1)
        np.add.at(diff, (ep_rank[sel] - lo, ep_to[sel] + 1 - start_day), -1)
        status = (np.cumsum(diff[:, :days], axis=1, dtype=np.int16) > 0).astype(np.int8)
        nc = (nc_from[rows] - start_day)[:, None]
        na = np.minimum(na_from[rows] - start_day, days)[:, None]
        status[(col >= nc) & (col < na)] = 1
        status[col >= na] = 2
        first = (obs0[rows] - start_day)[:, None]
        changed = np.zeros_like(status, dtype=np.bool_)
        changed[:, 1:] = status[:, 1:] != status[:, :-1]
        changed = (col == first) | ((col > first) & changed)
        r, c = np.nonzero(changed)
        out_rows.append(rows[r])
        out_days.append(c + start_day)
        out_status.append(status[r, c])
    if not out_rows:
        return pl.DataFrame(schema={"device_id": pl.Int64, "date": pl.Date, "compliance_status": pl.String})
    rows_all = np.concatenate(out_rows)
    codes = np.concatenate(out_status)
    return pl.DataFrame({
        "device_id": device_ids[rows_all],
        "date": days_to_series("date", np.concatenate(out_days)),
        "compliance_status": pl.Series(np.array(STATUSES, dtype=object)[codes].tolist(), dtype=pl.String),
    })
