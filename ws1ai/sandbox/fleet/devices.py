"""Device inventory: who holds what hardware, how old it is, its OS lag, ownership and security posture.

Every holder gets a primary device (a computer, or a shared rugged Android on the warehouse floor); the
remaining devices are phones and tablets for people whose department hands them out. Per-seed model mixes
differ (a Dirichlet draw per form factor), so two seeds are two different companies, not one reshuffled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from ws1ai.sandbox.fleet._time import day_number
from ws1ai.sandbox.fleet.catalog import DEPARTMENTS, MODELS, OS_VERSIONS
from ws1ai.sandbox.fleet.employees import ROLE_TABLE, People

__all__ = ["NEVER", "Devices", "generate_devices"]

NEVER = np.iinfo(np.int32).max  # "no such day": later than any simulated day

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_GROUPS: dict[tuple[str, str], IntArray] = {}
for _i, _m in enumerate(MODELS):
    _GROUPS.setdefault((_m.platform, _m.form), np.array([], dtype=np.int64))
    _GROUPS[(_m.platform, _m.form)] = np.append(_GROUPS[(_m.platform, _m.form)], _i)
_FIRST_DAY = np.array([day_number(date(m.first_year, 3, 1)) for m in MODELS])
_PLATFORM = np.array([m.platform for m in MODELS], dtype=object)


@dataclass(frozen=True)
class Devices:
    holder: IntArray  # index into People.holders (position), i.e. per-holder arrays
    model: IntArray  # index into MODELS
    ownership: npt.NDArray[np.str_]
    purchase_day: IntArray
    enroll_day: IntArray
    os_lag: IntArray  # steps behind the newest OS version of the platform
    encrypted: BoolArray
    compromised: BoolArray  # jailbroken / rooted: UEM sees it (the `compromised` column)
    infected_day: IntArray  # latent malware infection (only EDR sees it); NEVER when clean


def generate_devices(rng: np.random.Generator, people: People, n: int, end_day: int) -> Devices:
    n_holders = len(people.holders)
    dept = ROLE_TABLE["dept_idx"].to_numpy()[people.uem_slot]
    roles = ROLE_TABLE["role"].to_numpy()[people.uem_slot]
    mac_share = np.array([d.mac_share for d in DEPARTMENTS])[dept]
    desk_share = np.array([d.desktop_share for d in DEPARTMENTS])[dept]
    phone_share = np.array([d.phone_share for d in DEPARTMENTS])[dept]
    rugged_dept = np.array([d.rugged for d in DEPARTMENTS])[dept]

    n_primary = min(n, n_holders)
    holder = np.arange(n_primary, dtype=np.int64)
    if n > n_primary:  # second devices go to people whose department hands out phones
        p = phone_share / phone_share.sum()
        holder = np.concatenate([holder, rng.choice(n_holders, size=n - n_primary, p=p)])
    primary = np.arange(n) < n_primary

    # Per-seed model preferences within each (platform, form) group.
    pref = {key: rng.dirichlet(np.full(len(idx), 3.0)) for key, idx in _GROUPS.items()}
    u = rng.random((n, 3))
    mac = u[:, 0] < mac_share[holder]
    desktop = u[:, 1] < desk_share[holder]
    rugged = primary & rugged_dept[holder] & (roles[holder] != "Operations Manager")
    apple_mobile = u[:, 2] < 0.62
    tablet = rng.random(n) < 0.12
    code = {key: i for i, key in enumerate(_GROUPS)}
    group = np.where(mac, code[("AppleOsX", "laptop")], code[("WinRT", "laptop")])
    group[mac & desktop] = code[("AppleOsX", "desktop")]
    group[~mac & desktop] = code[("WinRT", "desktop")]
    mobile = ~primary
    group[mobile & apple_mobile & ~tablet] = code[("Apple", "phone")]
    group[mobile & apple_mobile & tablet] = code[("Apple", "tablet")]
    group[mobile & ~apple_mobile] = code[("Android", "phone")]
    group[rugged] = code[("Android", "rugged")]
    model = np.empty(n, dtype=np.int64)
    for key, idx in _GROUPS.items():
        sel = np.flatnonzero(group == code[key])
        model[sel] = rng.choice(idx, size=len(sel), p=pref[key])

    # Age: gamma-distributed, bounded by when the model was on sale.
    age = rng.gamma(2.0, 420.0, n).astype(np.int64) + 1
    max_age = np.maximum(end_day - _FIRST_DAY[model], 30)
    too_old = age > max_age
    age[too_old] = (rng.random(too_old.sum()) * max_age[too_old]).astype(np.int64) + 1
    purchase = end_day - age
    start_day = people.start_day[holder]
    enroll = np.maximum(purchase + rng.integers(0, 15, n), start_day - rng.integers(0, 8, n))
    reenrolled = rng.random(n) < 0.06  # wiped and re-enrolled, or moved from another tenant
    since = (rng.random(reenrolled.sum()) * age[reenrolled]).astype(np.int64)
    enroll[reenrolled] = purchase[reenrolled] + since
    enroll = np.minimum(enroll, end_day)

    platform = _PLATFORM[model]
    ownership = np.full(n, "C", dtype="<U1")
    phone = np.isin(group, [code[("Apple", "phone")], code[("Android", "phone")]])
    ownership[mobile & phone & (rng.random(n) < 0.42)] = "E"
    ownership[primary & ~rugged & (rng.random(n) < 0.02)] = "E"
    ownership[rugged] = "S"

    # OS lag: old hardware and personal devices fall behind; a few corporate devices are far behind.
    n_versions = np.array([len(OS_VERSIONS[p]) for p in platform])
    p_stay = np.clip(0.55 - age / 3650.0 - 0.15 * (ownership == "E"), 0.2, 0.7)
    lag = np.minimum(rng.geometric(p_stay) - 1, n_versions - 1).astype(np.int64)

    enc_rate = np.select(
        [platform == "Apple", platform == "AppleOsX", platform == "Android"], [0.998, 0.95, 0.965], 0.91
    )
    encrypted = rng.random(n) < enc_rate
    comp_rate = 0.004 * np.where(ownership == "E", 3.0, 1.0) * np.where(lag >= 2, 2.0, 1.0)
    compromised = rng.random(n) < comp_rate
    # Malware: more likely on personal, unpatched, unencrypted or jailbroken devices; may predate the window.
    infect_rate = (0.008 * np.where(ownership == "E", 2.5, 1.0) * np.where(lag >= 2, 1.8, 1.0)
                   * np.where(encrypted, 1.0, 1.5) + 0.3 * compromised)
    infected = rng.random(n) < infect_rate
    infected_day = np.full(n, NEVER, dtype=np.int64)
    infected_day[infected] = np.maximum(end_day - rng.integers(0, 420, infected.sum()), enroll[infected])
    return Devices(holder, model, ownership.astype(np.str_), purchase, enroll, lag, encrypted, compromised,
                   infected_day)
