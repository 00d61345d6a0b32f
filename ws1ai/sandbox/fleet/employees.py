"""The HRIS: who works here, in which department, role and site, reporting to whom, joining or leaving when.

Device holders are drawn first (one per primary device); people without a device are added around them:
new hires whose start date is still ahead (`pending_start`), leavers long gone, and a few actives whose
device is not enrolled yet. Movers changed department or role during the window; UEM often still shows the
old values for them (the device's `department`/`role` lag the HRIS), which is what a mover flow fixes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from ws1ai.sandbox.fleet._time import days_to_series
from ws1ai.sandbox.fleet.catalog import DEPARTMENTS, FIRST_NAMES, LAST_NAMES, SITES

__all__ = ["ROLE_TABLE", "People", "generate_people"]

IntArray = npt.NDArray[np.int64]

# Flat (department, role) table: index = "role slot" used throughout the simulator.
ROLE_TABLE: pl.DataFrame = pl.DataFrame(
    [
        {"department": d.name, "role": r.name, "weight": d.weight * r.weight, "dept_idx": i,
         "manager": any(k in r.name for k in ("Manager", "Director", "Controller")) or r.name == "Executive"}
        for i, d in enumerate(DEPARTMENTS) for r in d.roles
    ]
)
_ROLE_W = ROLE_TABLE["weight"].to_numpy() / ROLE_TABLE["weight"].sum()
_SITE_W = np.array([s.weight for s in SITES]) / sum(s.weight for s in SITES)
DOMAIN = "corp.example.com"


@dataclass(frozen=True)
class People:
    employees: pl.DataFrame
    holders: IntArray  # row index into `employees` of each device holder
    uem_slot: IntArray  # per holder: the role slot UEM shows (the old one for a lagging mover)
    site: IntArray  # per holder: index into SITES
    start_day: IntArray  # per holder: HRIS start date (day number)
    leave_day: IntArray  # per holder: end date day number, or a huge number when still employed


def generate_people(rng: np.random.Generator, n_devices: int, start_day: int, end_day: int) -> People:
    n_holders = max(1, round(n_devices / 1.45)) if n_devices else 0
    n_pending = max(1, round(n_holders * 0.025))
    n_gone = round(n_holders * 0.04)
    n_unenrolled = round(n_holders * 0.015)
    n = n_holders + n_pending + n_gone + n_unenrolled
    # kind: 0 device holder, 1 pending start, 2 long-gone leaver, 3 active without an enrolled device
    kind = np.repeat(np.arange(4), [n_holders, n_pending, n_gone, n_unenrolled])

    slot = rng.choice(len(_ROLE_W), size=n, p=_ROLE_W)
    if n_holders:
        slot[0] = int(ROLE_TABLE["role"].to_list().index("Executive"))  # there is always a CEO
    site = rng.choice(len(SITES), size=n, p=_SITE_W)

    # Tenure: mostly years, with a steady stream of recent hires; pending hires start after the window.
    tenure = np.minimum(rng.exponential(5.5 * 365, n), 25 * 365).astype(np.int64)
    recent = rng.random(n) < 0.04
    tenure[recent] = rng.integers(0, 120, recent.sum())
    start = end_day - tenure
    start[kind == 1] = end_day + rng.integers(1, 45, (kind == 1).sum())

    # Status: leavers among holders (device maybe not returned yet) and long-gone leavers without a device.
    status = np.full(n, "active", dtype=object)
    status[kind == 1] = "pending_start"
    no_end = np.iinfo(np.int32).max
    leave = np.full(n, no_end, dtype=np.int64)
    leaver = (kind == 0) & (rng.random(n) < 0.045)
    leaver[0] = False
    leave[leaver] = end_day - rng.integers(1, 120, leaver.sum())
    gone = kind == 2
    leave[gone] = end_day - rng.integers(120, 900, gone.sum())
    ended = leaver | gone
    start[ended] = np.minimum(start[ended], leave[ended] - rng.integers(90, 2500, ended.sum()))
    status[ended] = "terminated"

    # Upcoming leavers: still active, with a notice-period end date after the window.
    notice = (kind == 0) & ~ended & (rng.random(n) < 0.012)
    notice[0] = False
    leave[notice] = end_day + rng.integers(1, 35, notice.sum())

    # Movers: HRIS has the new slot; UEM keeps the old one for about half of them (sync lag).
    uem_slot = slot.copy()
    mover = (kind == 0) & ~ended & (tenure > 365) & (rng.random(n) < 0.06)
    mover[0] = False
    new_slot = rng.choice(len(_ROLE_W), size=n, p=_ROLE_W)
    mover &= new_slot != slot
    lagging = mover & (rng.random(n) < 0.5)
    slot = np.where(mover, new_slot, slot)
    uem_slot = np.where(lagging, uem_slot, slot)

    first = np.array(FIRST_NAMES, dtype=object)[rng.integers(0, len(FIRST_NAMES), n)]
    last = np.array(LAST_NAMES, dtype=object)[rng.integers(0, len(LAST_NAMES), n)]
    ids = rng.permutation(np.arange(100000, 100000 + max(n * 3, 10)))[:n]
    frame = pl.DataFrame(
        {
            "employee_id": [f"E{i:07d}" for i in ids.tolist()],
            "first": first.tolist(),
            "last": last.tolist(),
            "slot": slot,
            "site": site,
            "start_date": days_to_series("start_date", start),
            "end_date": days_to_series("end_date", np.where(leave == no_end, -1, leave)),
            "status": status.tolist(),
        }
    ).with_columns(
        pl.when(pl.col("end_date") < pl.date(1970, 1, 5)).then(None).otherwise(pl.col("end_date"))
        .alias("end_date"),
        (pl.col("first") + "." + pl.col("last")).str.to_lowercase().str.replace_all("'", "").alias("local"),
    )
    # Duplicate names get a numeric suffix, as directory services do.
    frame = frame.with_columns(pl.int_range(pl.len()).over("local").alias("dup")).with_columns(
        (
            pl.when(pl.col("dup") == 0).then(pl.col("local"))
            .otherwise(pl.col("local") + (pl.col("dup") + 1).cast(pl.String))
            + "@" + DOMAIN
        ).alias("email"),
        (pl.col("first") + " " + pl.col("last")).alias("name"),
    )
    frame = frame.join(
        ROLE_TABLE.select(pl.int_range(pl.len()).alias("slot"), "department", "role", "manager", "dept_idx"),
        on="slot", how="left", maintain_order="left",
    ).with_columns(pl.Series("location", np.array([s.name for s in SITES], dtype=object)[site].tolist()))
    frame = _assign_managers(rng, frame)
    employees = frame.select(
        "employee_id", "name", "email", "department", "role", "location", "manager_email", "start_date",
        "end_date", "status",
    )
    # HRIS exports come in id order; holders-first is our construction, not something to leak.
    order = np.argsort(ids, kind="stable")
    employees = employees[order]
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    h = np.flatnonzero(kind == 0)
    return People(employees, position[h], uem_slot[h].astype(np.int64), site[h].astype(np.int64),
                  start[h].astype(np.int64), leave[h].astype(np.int64))


def _assign_managers(rng: np.random.Generator, frame: pl.DataFrame) -> pl.DataFrame:
    """Staff report to a manager of their department (any site); managers to an executive; CEO to self."""
    emails = frame["email"].to_numpy()
    is_mgr = frame["manager"].to_numpy() & (frame["status"].to_numpy() == "active")
    dept = frame["dept_idx"].to_numpy()
    role = frame["role"].to_numpy()
    ceo = 0
    execs = np.flatnonzero(is_mgr & (role == "Executive"))
    execs = execs[execs != ceo]
    boss = np.full(len(frame), ceo, dtype=np.int64)
    for d in np.unique(dept):  # one pass per department, not per person
        members = np.flatnonzero(dept == d)
        mgrs = members[is_mgr[members] & (role[members] != "Executive")]
        staff = members[~is_mgr[members]]
        if len(mgrs):
            boss[staff] = mgrs[rng.integers(0, len(mgrs), len(staff))]
        top = execs if len(execs) else np.array([ceo])
        boss[mgrs] = top[rng.integers(0, len(top), len(mgrs))]
    if len(execs):
        boss[execs] = ceo
    boss[ceo] = ceo
    return frame.with_columns(pl.Series("manager_email", emails[boss].tolist(), dtype=pl.String))
