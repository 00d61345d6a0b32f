"""`generate_fleet`: wires the stages together and renders the contract frames.

Each stage draws from its own seeded stream, so changing one stage's draws does not reshuffle another's,
and device attributes do not depend on the window length (a longer `days` extends the same company).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
import polars as pl

from ws1ai.sandbox.fleet._ids import serial_numbers, uuid4s
from ws1ai.sandbox.fleet._time import day_number, days_to_series, rng_for
from ws1ai.sandbox.fleet.absences import draw_absences
from ws1ai.sandbox.fleet.apps import app_table, simulate_installs, simulate_usage
from ws1ai.sandbox.fleet.catalog import MIN_COMPLIANT_LAG, MODELS, OS_VERSIONS, SITES
from ws1ai.sandbox.fleet.compliance import ComplianceCauses, simulate_compliance_history
from ws1ai.sandbox.fleet.contract import CONTRACT
from ws1ai.sandbox.fleet.devices import Devices, generate_devices
from ws1ai.sandbox.fleet.employees import ROLE_TABLE, People, generate_people
from ws1ai.sandbox.fleet.lifecycle import COMPONENTS, Lifecycle, simulate_lifecycle
from ws1ai.sandbox.fleet.profiles import assign_profiles, profile_table, smart_group_table
from ws1ai.sandbox.fleet.replacements import issue_replacements
from ws1ai.sandbox.fleet.telemetry import draw_params, simulate_telemetry
from ws1ai.sandbox.fleet.threats import simulate_threats

__all__ = ["DEFAULT_END", "Fleet", "ProgressFn", "core_stages", "generate_fleet"]

DEFAULT_END = date(2026, 11, 1)
ProgressFn = Callable[[str, int, int], None]  # (stage, advanced by, stage total)
IntArray = npt.NDArray[np.int64]
_PLAIN_DEVICE_DTYPES = {k: v for k, v in CONTRACT["devices"].items() if k not in ("enrolled_on", "last_seen")}


@dataclass(frozen=True)
class Fleet:
    devices: pl.DataFrame
    telemetry: pl.DataFrame
    failures: pl.DataFrame
    apps: pl.DataFrame
    app_installs: pl.DataFrame
    app_usage: pl.DataFrame
    employees: pl.DataFrame
    threat_signals: pl.DataFrame
    profiles: pl.DataFrame
    device_profiles: pl.DataFrame
    smart_groups: pl.DataFrame
    start: date
    end: date
    # Last, with a default, so that a Fleet built by hand need not pass it: then an empty table.
    compliance_history: pl.DataFrame = field(default_factory=lambda: _no_history())

    def tables(self) -> dict[str, pl.DataFrame]:
        return {name: getattr(self, name) for name in CONTRACT}


def generate_fleet(
    devices: int, seed: int, days: int, end: date = DEFAULT_END, *, progress: ProgressFn | None = None,
    compliance_history: bool = True,
) -> Fleet:
    """The fleet's tables; `compliance_history=False` leaves that table empty (every other is the same)."""
    people, dev, life, device_ids = core_stages(devices, seed, days, end)
    end_day = day_number(end)
    start_day = end_day - days + 1
    start = end - timedelta(days=days - 1)

    def tick(stage: str, total: int) -> Callable[[int], None] | None:
        if progress is None:
            return None
        return lambda k: progress(stage, k, total)

    absences = draw_absences(rng_for(seed, 14), len(people.holders), start_day, end_day)
    telemetry = simulate_telemetry(seed, dev, life, draw_params(rng_for(seed, 5), dev, start_day), start_day,
                                   days, device_ids, absences, tick("telemetry", devices))
    devices_frame, causes = _devices_frame(rng_for(seed, 6), people, dev, life, telemetry, device_ids,
                                           start_day, end_day)
    noncompliant = (devices_frame.sort("_row")["compliance_status"] == "NonCompliant").to_numpy()
    threats = simulate_threats(rng_for(seed, 8), dev, life, noncompliant, start_day, end_day, device_ids)

    apps = app_table(rng_for(seed, 9))
    slot = people.uem_slot[dev.holder]
    inst = simulate_installs(rng_for(seed, 10), apps, dev, slot, life, end_day)
    rows = inst["row"].to_numpy()
    inst = inst.with_columns(pl.Series("device_id", device_ids[rows]), pl.Series("holder", dev.holder[rows]))
    inst = inst.sort("device_id", "app_id")  # usage is generated in this order, so it comes out sorted
    usage = simulate_usage(seed, inst, life, start_day, days, end_day, device_ids, absences,
                           tick("app usage", inst.height))
    installs = pl.DataFrame({
        "device_id": inst["device_id"],
        "app_id": inst["app_id"].cast(pl.Int64),
        "installed_on": days_to_series("installed_on", inst["installed_day"].to_numpy()),
    })

    profiles = profile_table()
    location_of = {s.location_group_id: s.name for s in SITES}
    device_profiles = assign_profiles(rng_for(seed, 12), devices_frame, profiles, location_of)

    recorded = (life.fail_day <= end_day) & (life.component >= 0)
    failures = pl.DataFrame({
        "device_id": device_ids[recorded],
        "failed_on": days_to_series("failed_on", life.fail_day[recorded]),
        "component": pl.Series([COMPONENTS[c] for c in life.component[recorded]], dtype=pl.String),
    }).sort("failed_on", "device_id")
    return Fleet(
        devices=devices_frame.drop("_row"),
        telemetry=telemetry,
        failures=failures,
        apps=apps.drop("_spec"),
        app_installs=installs,
        app_usage=usage,
        employees=people.employees,
        threat_signals=threats,
        profiles=profiles.drop("_dept", "_site"),
        device_profiles=device_profiles,
        smart_groups=smart_group_table(),
        start=start,
        end=end,
        compliance_history=(simulate_compliance_history(seed, dev, causes, device_ids, start_day, end_day)
                            if compliance_history else _no_history()),
    )


def core_stages(devices: int, seed: int, days: int, end: date) -> tuple[People, Devices, Lifecycle, IntArray]:
    """The stages everything else derives from: people, hardware, lifecycles and UEM ids."""
    if devices < 0 or days < 1:
        raise ValueError("devices must be >= 0 and days >= 1")
    end_day = day_number(end)
    start_day = end_day - days + 1
    people = generate_people(rng_for(seed, 1), devices, start_day, end_day)
    dev = generate_devices(rng_for(seed, 2), people, devices, end_day)
    life = simulate_lifecycle(rng_for(seed, 3), dev, people, start_day, end_day)
    dev, life = issue_replacements(rng_for(seed, 13), dev, life, people, min(devices, len(people.holders)),
                                   end_day)
    return people, dev, life, _device_ids(rng_for(seed, 4), dev)


def _device_ids(rng: np.random.Generator, dev: Devices) -> IntArray:
    """UEM ids grow with enrolment time and have gaps where devices were deleted."""
    n = len(dev.model)
    order = np.lexsort((np.arange(n), dev.enroll_day))
    ids = np.empty(n, dtype=np.int64)
    ids[order] = 10_000 + np.cumsum(1 + rng.geometric(0.6, n) - 1)
    return ids


def _devices_frame(
    rng: np.random.Generator, people: People, dev: Devices, life: Lifecycle, telemetry: pl.DataFrame,
    device_ids: IntArray, start_day: int, end_day: int,
) -> tuple[pl.DataFrame, ComplianceCauses]:
    n = len(dev.model)
    emp = people.employees
    holder_rows = people.holders[dev.holder]
    slot = people.uem_slot[dev.holder]
    model = [MODELS[m] for m in dev.model]
    platform = np.array([m.platform for m in model], dtype=object)

    # Last seen: last telemetry day, else a day before the window (or the enrolment day).
    last = telemetry.group_by("device_id").agg(pl.col("date").max().alias("last"))
    last_day = np.full(n, -1, dtype=np.int64)
    pos = {int(d): i for i, d in enumerate(device_ids)}
    if last.height:
        where = np.array([pos[int(d)] for d in last["device_id"].to_list()], dtype=np.int64)
        last_day[where] = last["last"].cast(pl.Int32).to_numpy()
    before = np.minimum(np.minimum(life.stop_day, start_day) - 1 - rng.geometric(0.3, n) + 1, end_day)
    last_day = np.where(last_day < 0, np.maximum(before, dev.enroll_day), last_day)

    # Compliance as UEM evaluates it: compromise (mostly detected), encryption, OS lag, policy noise.
    lag_limit = np.array([MIN_COMPLIANT_LAG[p] for p in platform])
    # Mobile threat defence integration marks about half the infected devices non-compliant.
    flagged_threat = (dev.infected_day <= end_day - 3) & (rng.random(n) < 0.5)
    detected = dev.compromised & (rng.random(n) < 0.9)
    noise = rng.random(n) < 0.03
    violation = detected | ~dev.encrypted | (dev.os_lag > lag_limit) | flagged_threat | noise
    stale = last_day < end_day - 30
    compliance = np.where(violation, "NonCompliant", "Compliant").astype(object)
    unavailable = stale | (rng.random(n) < 0.015)
    compliance[unavailable] = "NotAvailable"

    os_version = [OS_VERSIONS[p][lag] for p, lag in zip(platform, dev.os_lag, strict=True)]
    warranty = dev.purchase_day + np.array([m.warranty_years for m in model]) * 365
    extended = rng.random(n) < 0.25
    warranty = np.where(extended, warranty + 365 * rng.integers(1, 3, n), warranty)
    enrol_secs = rng.integers(7 * 3600, 19 * 3600, n)
    seen_secs = rng.integers(0, 86_400, n)
    same_day = last_day <= dev.enroll_day  # seen only on the enrolment day: after the enrolment itself
    seen_secs = np.where(same_day, np.minimum(np.maximum(seen_secs, enrol_secs + 60), 86_399), seen_secs)
    last_day = np.maximum(last_day, dev.enroll_day)
    causes = ComplianceCauses(detected, ~dev.encrypted, dev.os_lag > lag_limit, flagged_threat, noise,
                              unavailable, stale, last_day)
    uuids = uuid4s(rng, n)
    serials = serial_numbers(rng, dev.model)
    emails = emp["email"].to_numpy()[holder_rows]
    return pl.DataFrame({
        "_row": np.arange(n, dtype=np.int64),
        "device_id": device_ids,
        "uuid": uuids,
        "serial_number": serials,
        "platform": platform.tolist(),
        "model": [m.name for m in model],
        "os_version": os_version,
        "ownership": dev.ownership.tolist(),
        "user_name": [e.split("@")[0] for e in emails.tolist()],
        "user_email": emails.tolist(),
        "department": ROLE_TABLE["department"].to_numpy()[slot].tolist(),
        "role": ROLE_TABLE["role"].to_numpy()[slot].tolist(),
        "location_group_id": np.array([s.location_group_id for s in SITES], dtype=np.int64)[
            people.site[dev.holder]],
        "enrolled_on": _datetime(dev.enroll_day, enrol_secs),
        "last_seen": _datetime(last_day, seen_secs),
        "compliance_status": compliance.tolist(),
        "compromised": dev.compromised,
        "encrypted": dev.encrypted,
        "purchase_date": days_to_series("purchase_date", dev.purchase_day),
        "warranty_end": days_to_series("warranty_end", warranty),
    }, schema_overrides=_PLAIN_DEVICE_DTYPES).sort("device_id"), causes


def _no_history() -> pl.DataFrame:
    return pl.DataFrame(schema=CONTRACT["compliance_history"])


def _datetime(days: IntArray, seconds: IntArray) -> pl.Series:
    micros = (days.astype(np.int64) * 86_400 + seconds.astype(np.int64)) * 1_000_000
    return pl.Series(micros, dtype=pl.Int64).cast(pl.Datetime("us"))

