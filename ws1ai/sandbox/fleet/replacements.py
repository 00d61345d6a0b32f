"""Replacement devices: most failed devices are swapped for a new one a few days later.

The fleet size stays the requested one: replacements are carved out of the holders' second devices (a spare
phone or tablet becomes the replacement unit), so a person's old device stops reporting on its failure
day and a new device of the same kind, on the current OS, enrols for the same person shortly after.
"""

from __future__ import annotations

from dataclasses import fields, replace

import numpy as np

from ws1ai.sandbox.fleet.catalog import MODELS
from ws1ai.sandbox.fleet.devices import Devices
from ws1ai.sandbox.fleet.employees import People
from ws1ai.sandbox.fleet.lifecycle import NEVER, Lifecycle

__all__ = ["issue_replacements"]

REPLACE_SHARE = 0.7  # the rest are repaired off-fleet, retired, or the user makes do with another device
_NEWEST: dict[tuple[str, str], int] = {}
for _i, _m in enumerate(MODELS):
    _key = (_m.platform, _m.form)
    if _key not in _NEWEST or MODELS[_NEWEST[_key]].first_year < _m.first_year:
        _NEWEST[_key] = _i


def issue_replacements(
    rng: np.random.Generator, dev: Devices, life: Lifecycle, people: People, n_primary: int, end_day: int
) -> tuple[Devices, Lifecycle]:
    n = len(dev.model)
    leave = people.leave_day[dev.holder]
    # Leavers (or people leaving within days) get no new device.
    failed = np.flatnonzero(
        (life.fail_day <= end_day - 3) & (leave > life.fail_day + 7) & (rng.random(n) < REPLACE_SHARE)
    )
    spare = np.flatnonzero(
        (np.arange(n) >= n_primary) & (life.fail_day == NEVER) & (life.stop_day == NEVER)
    )
    k = min(len(failed), len(spare))
    if k == 0:
        return dev, life
    failed = rng.permutation(failed)[:k]
    spare = rng.choice(spare, size=k, replace=False)

    arrays = {f.name: getattr(dev, f.name).copy() for f in fields(Devices)}
    arrays["holder"][spare] = dev.holder[failed]
    arrays["model"][spare] = [_NEWEST[(MODELS[m].platform, MODELS[m].form)] for m in dev.model[failed]]
    arrays["ownership"][spare] = dev.ownership[failed]
    arrays["purchase_day"][spare] = life.fail_day[failed] + rng.integers(0, 3, k)
    arrays["enroll_day"][spare] = np.minimum(arrays["purchase_day"][spare] + rng.integers(1, 5, k), end_day)
    arrays["os_lag"][spare] = 0
    arrays["encrypted"][spare] = True
    arrays["compromised"][spare] = False
    arrays["infected_day"][spare] = NEVER
    new_dev = Devices(**arrays)

    first = life.first_day.copy()
    first[spare] = np.maximum(first[spare], arrays["enroll_day"][spare])
    # A holder who leaves later returns the replacement within days of leaving.
    stop = life.stop_day.copy()
    later_leave = leave[failed]
    stop[spare] = np.where(later_leave < NEVER, later_leave + rng.integers(0, 6, k), NEVER)
    return new_dev, replace(life, first_day=first, stop_day=stop)
