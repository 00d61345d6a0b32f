"""Prefect tasks that read what devices hold (apps, profiles, groups) and how apps are used.

Bulk first (docs/design.md rule 4):

- installs and usage come from the Intelligence-style report export ("App Installs", "App Usage Daily"): one
  report run and one CSV download per table, however large the fleet. The UEM REST API has no bulk form for
  either (installs only per device, `/mdm/devices/{id}/apps`, or per app, `/mam/apps/{uuid}/devices`; usage
  not at all). Running an export is a POST by the API's design, so the tenant records it as a request; it
  changes nothing on any device.
- the app catalogue, devices, organization groups and smart groups come from paged UEM searches.
- per-device reads (`/devices/{id}/profiles|apps|smartgroups`) are used only for onboarding, bounded to the
  new hires' own devices and a capped sample of their peers (profiles have no bulk read at all).

Retries live in the clients (rule 1), not here; nothing is cached (a read must see the tenant as it is now).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
from prefect import task
from prefect.cache_policies import NONE

from ws1ai.connectors.hris import HRISClient
from ws1ai.connectors.intelligence import ReportExporter
from ws1ai.policies.licenses import AppInfo
from ws1ai.policies.onboarding import HireDevice, NewHire, TenantCatalog, username_for
from ws1ai.uem import UEMClient

__all__ = [
    "LicenseInputs",
    "read_hire_state",
    "read_license_inputs",
    "read_peer_holdings",
    "read_tenant_catalog",
]

# Workspace ONE `DeviceType` ids as the v1 app search reports them → the platform names devices carry.
PLATFORM_NAMES = {2: "Apple", 5: "Android", 10: "AppleOsX", 12: "WinRT", 21: "Linux"}


@dataclass(frozen=True)
class LicenseInputs:
    """Contract frames for reclamation, plus what the policy needs to act on them."""

    apps: pl.DataFrame  # app_id, name, license_cost_usd, platform
    installs: pl.DataFrame  # device_id, app_id, installed_on
    usage: pl.DataFrame  # device_id, app_id, date, minutes_used
    devices: pl.DataFrame  # device_id, department, role
    app_info: dict[int, AppInfo]
    as_of: date
    window_start: date


def _app_catalog(uem: UEMClient) -> tuple[pl.DataFrame, dict[int, AppInfo]]:
    rows, info = [], {}
    for app in uem.apps.iter_search():
        if app.id is None or app.id.value is None:
            continue
        app_id = int(app.id.value)
        platform = PLATFORM_NAMES.get(app.platform, "") if isinstance(app.platform, int) else app.platform
        rows.append(
            {
                "app_id": app_id,
                "name": app.application_name or str(app_id),
                "license_cost_usd": float(app.price or 0.0),
                "platform": platform or "",
            }
        )
        info[app_id] = AppInfo(
            name=app.application_name or str(app_id), kind=(app.app_type or "internal").lower()
        )
    schema = {"app_id": pl.Int64, "name": pl.String, "license_cost_usd": pl.Float64, "platform": pl.String}
    return pl.DataFrame(rows, schema=schema), info


def _device_roles(uem: UEMClient, employees: pl.DataFrame) -> pl.DataFrame:
    """device_id → the HRIS department and role of its user (the HRIS is the truth for who does what)."""
    rows = [
        {"device_id": d.id.value, "email": (d.user_email_address or "").lower()}
        for d in uem.devices.iter_search()
        if d.id is not None and d.id.value is not None
    ]
    devices = pl.DataFrame(rows, schema={"device_id": pl.Int64, "email": pl.String})
    people = employees.select(pl.col("email").str.to_lowercase(), "department", "role").unique("email")
    return devices.join(people, on="email", how="left").drop("email")


def _typed(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    if frame.is_empty():
        return pl.DataFrame(schema=schema)
    return frame.select([pl.col(c).cast(t) for c, t in schema.items()])


@task(name="read-license-inputs", cache_policy=NONE)
def read_license_inputs(lookback_days: int = 180, as_of: date | None = None) -> LicenseInputs:
    """Catalogue + devices (UEM searches), installs + usage (report export), roles (HRIS): all bulk."""
    with ReportExporter() as reports:
        installs = _typed(
            reports.frame("App Installs"),
            {"device_id": pl.Int64(), "app_id": pl.Int64(), "installed_on": pl.Date()},
        )
        # The look-back ends at the tenant's today (its clock as it finished the export), not this
        # machine's: a tenant whose clock is behind would otherwise lose that much usage history.
        tenant_today = (reports.completed_at or datetime.now(UTC)).date()
        start = (as_of or tenant_today) - timedelta(days=lookback_days)
        usage = _typed(
            reports.frame("App Usage Daily", start_date=start),
            {"device_id": pl.Int64(), "app_id": pl.Int64(), "date": pl.Date(), "minutes_used": pl.Float64()},
        )
    with UEMClient(read_only=True) as uem, HRISClient() as hris:
        apps, info = _app_catalog(uem)
        devices = _device_roles(uem, hris.employees_frame())
    dates = usage.get_column("date")
    # "As of" the export's last complete day unless told: usage newer than the data would make everyone idle.
    last_day = as_of or (dates.max() if usage.height else tenant_today)
    first_day = dates.min() if usage.height else last_day
    return LicenseInputs(
        apps=apps,
        installs=installs,
        usage=usage,
        devices=devices,
        app_info=info,
        as_of=last_day,  # type: ignore[arg-type]
        window_start=first_day,  # type: ignore[arg-type]
    )


# ---- onboarding reads ----------------------------------------------------------------------------------
@task(name="read-tenant-catalog", cache_policy=NONE)
def read_tenant_catalog(department_group_format: str = "Dept - {department}") -> TenantCatalog:
    """Item platforms, OGs by site name and the department smart groups: small catalogues, paged searches."""
    with UEMClient(read_only=True) as uem:
        profiles = {
            int(p.id.value): p.platform or ""
            for p in uem.profiles.iter_search()
            if p.id is not None and p.id.value is not None
        }
        apps, info = _app_catalog(uem)
        ogs = [g for g in uem.org_groups.iter_search() if g.id is not None and g.id.value is not None]
        groups = {g.name or "": g.smart_group_id for g in uem.smart_groups.iter_search() if g.smart_group_id}
    by_site = {(g.name or "").strip().lower(): int(g.id.value) for g in ogs if g.id and g.id.value}
    # Users without a matching site land in the customer OG (the OG one level below Global).
    customer = next(
        (int(g.id.value) for g in ogs if g.location_group_type == "Customer" and g.id and g.id.value), None
    )
    prefix, _, suffix = department_group_format.partition("{department}")
    departments = {
        name[len(prefix) : len(name) - len(suffix)]: int(sg_id)
        for name, sg_id in groups.items()
        if sg_id is not None and name.startswith(prefix) and name.endswith(suffix)
    }
    return TenantCatalog(
        profile_platforms=profiles,
        app_platforms=dict(zip(apps["app_id"].to_list(), apps["platform"].to_list(), strict=True)),
        app_kinds={app_id: i.kind for app_id, i in info.items()},
        og_by_location=by_site,
        default_og_id=customer,
        department_smart_groups=departments,
    )


def _holdings(uem: UEMClient, device_id: int) -> tuple[frozenset[int], frozenset[int]]:
    profiles = frozenset(
        int(p.id.value) for p in uem.devices.profiles(device_id).items if p.id is not None and p.id.value
    )
    apps = frozenset(
        int(a.id.value) for a in uem.devices.iter_apps(device_id) if a.id is not None and a.id.value
    )
    return profiles, apps


@task(name="read-hire-state", cache_policy=NONE)
def read_hire_state(
    hires: list[NewHire], smart_group_ids: list[int], max_devices_per_hire: int = 5
) -> dict[str, tuple[bool, list[HireDevice]]]:
    """Per hire: does a UEM user exist (username or email), and their enrolled devices with what they hold."""
    members: dict[int, set[int]] = {}
    out: dict[str, tuple[bool, list[HireDevice]]] = {}
    with UEMClient(read_only=True) as uem:
        # Group membership is read per group (one call each), not per device.
        for sg_id in sorted(set(smart_group_ids)):
            members[sg_id] = {int(d.id) for d in uem.smart_groups.devices(sg_id) if d.id and d.id.isdigit()}
        for hire in hires:
            username = username_for(hire.email)
            # Search filters match substrings: compare exactly (either key identifies the person).
            exists = any(
                (u.user_name or "").lower() == username for u in uem.users.iter_search(username=username)
            ) or any(
                (u.email or "").lower() == hire.email.lower() for u in uem.users.iter_search(email=hire.email)
            )
            devices = []
            for d in uem.devices.iter_search(user=username):
                if d.id is None or d.id.value is None or (d.enrollment_status or "Enrolled") != "Enrolled":
                    continue
                if (d.user_email_address or hire.email).lower() != hire.email.lower():
                    continue  # the user filter matches substrings; keep exactly this person's devices
                profiles, apps = _holdings(uem, d.id.value)
                groups = frozenset(sg for sg, ids in members.items() if d.id.value in ids)
                devices.append(HireDevice(d.id.value, d.platform or "", profiles, apps, groups))
                if len(devices) >= max_devices_per_hire:
                    break
            out[hire.employee_id] = (exists, devices)
    return out


@task(name="read-peer-holdings", cache_policy=NONE)
def read_peer_holdings(
    employees: pl.DataFrame, teams: Iterable[tuple[str, str]], max_peers_per_team: int = 40
) -> pl.DataFrame:
    """For the stand-in bundle rule: what a capped sample of each team's devices holds.

    Returns device_id, department, role, platform, item_kind, item_id (null item for a device holding
    nothing, so it still counts as a peer). Bounded: at most `max_peers_per_team` devices per team.
    """
    wanted = set(teams)
    people = employees.filter(pl.col("status") == "active").select(
        pl.col("email").str.to_lowercase(), "department", "role"
    )
    team_of = {e: (d, r) for e, d, r in people.iter_rows() if (d, r) in wanted}
    rows: list[dict[str, Any]] = []
    taken: dict[tuple[str, str], int] = {}
    with UEMClient(read_only=True) as uem:
        for d in uem.devices.iter_search():
            team = team_of.get((d.user_email_address or "").lower())
            if team is None or d.id is None or d.id.value is None or taken.get(team, 0) >= max_peers_per_team:
                continue
            taken[team] = taken.get(team, 0) + 1
            profiles, apps = _holdings(uem, d.id.value)
            base = {
                "device_id": d.id.value,
                "department": team[0],
                "role": team[1],
                "platform": d.platform or "",
            }
            items = [("profile", p) for p in sorted(profiles)] + [("app", a) for a in sorted(apps)]
            rows += [{**base, "item_kind": k, "item_id": i} for k, i in items] or [
                {**base, "item_kind": None, "item_id": None}
            ]
    schema = {
        "device_id": pl.Int64,
        "department": pl.String,
        "role": pl.String,
        "platform": pl.String,
        "item_kind": pl.String,
        "item_id": pl.Int64,
    }
    return pl.DataFrame(rows, schema=schema)
