"""Builds the tenant's non-device objects (OGs, users, profiles, apps, groups, tags, sensors) from a fleet.

Internal objects are plain dicts in snake_case; `views` renders them into each API version's shape.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl

from ws1ai.sandbox.identifiers import stable_uuid

__all__ = [
    "CUSTOMER_OG_ID",
    "GLOBAL_OG_ID",
    "build_apps",
    "build_devices_frame_latest",
    "build_org_groups",
    "build_profiles",
    "build_sensors",
    "build_smart_groups",
    "build_tags",
    "build_users",
    "default_app_kind",
]

GLOBAL_OG_ID = 7
CUSTOMER_OG_ID = 570


def build_org_groups(
    devices: pl.DataFrame, employees: pl.DataFrame, created: datetime
) -> dict[int, dict[str, Any]]:
    """Global → customer OG ("ws1ai Sandbox") → one child OG per `location_group_id` in the fleet."""
    groups: dict[int, dict[str, Any]] = {
        GLOBAL_OG_ID: _og(GLOBAL_OG_ID, "Global", "Global", "Global", None, created, 0),
        CUSTOMER_OG_ID: _og(
            CUSTOMER_OG_ID, "ws1ai Sandbox", "ws1aisandbox", "Customer", GLOBAL_OG_ID, created, 1
        ),
    }
    names: dict[int, str] = {}
    if devices.height and employees.height and "location" in employees.columns:
        # Name each site after the commonest employee location of its device users.
        joined = devices.select("location_group_id", pl.col("user_email").str.to_lowercase().alias("e")).join(
            employees.select(pl.col("email").str.to_lowercase().alias("e"), "location"), on="e", how="inner"
        )
        if joined.height:
            top = (
                joined.group_by("location_group_id", "location")
                .len()
                .sort(["location_group_id", "len", "location"], descending=[False, True, False])
                .unique("location_group_id", keep="first")
            )
            names = dict(zip(top["location_group_id"].to_list(), top["location"].to_list(), strict=True))
    lgids = sorted(set(devices.get_column("location_group_id").to_list())) if devices.height else []
    for lgid in lgids:
        if lgid in groups:
            continue
        name = names.get(lgid) or f"Site {lgid}"
        groups[lgid] = _og(lgid, name, f"site{lgid}", "Container", CUSTOMER_OG_ID, created, 2)
    return groups


def _og(
    og_id: int, name: str, group_id: str, kind: str, parent: int | None, created: datetime, level: int
) -> dict[str, Any]:
    return {
        "id": og_id,
        "uuid": stable_uuid("og", og_id),
        "name": name,
        "group_id": group_id,
        "type": kind,
        "parent": parent,
        "created": created,
        "level": level,
        "country": "United States",
        "locale": "en-US",
    }


def build_users(employees: pl.DataFrame, device_users: dict[str, str]) -> dict[int, dict[str, Any]]:
    """Enrollment users from the HRIS employees (+ any device user the HRIS lacks); ids from 10001."""
    users: dict[int, dict[str, Any]] = {}
    seen: set[str] = set()
    next_id = 10_001
    for row in employees.iter_rows(named=True) if employees.height else []:
        email = str(row["email"]).lower()
        name = str(row.get("name") or email)
        first, _, last = name.partition(" ")
        username = device_users.get(email) or email.split("@")[0]
        users[next_id] = {
            "id": next_id,
            "uuid": stable_uuid("user", email),
            "username": username,
            "first": first,
            "last": last,
            "email": row["email"],
            "active": row.get("status") != "terminated",
            "department": row.get("department"),
            "role": "Full Access",
            "lgid": CUSTOMER_OG_ID,
            "security_type": 2,
            "external_id": row.get("employee_id"),
        }
        seen.add(email)
        next_id += 1
    for email, username in sorted(device_users.items()):
        if email in seen:
            continue
        users[next_id] = {
            "id": next_id,
            "uuid": stable_uuid("user", email),
            "username": username,
            "first": username,
            "last": "",
            "email": email,
            "active": True,
            "department": None,
            "role": "Full Access",
            "lgid": CUSTOMER_OG_ID,
            "security_type": 2,
            "external_id": None,
        }
        next_id += 1
    return users


def build_profiles(profiles: pl.DataFrame) -> dict[int, dict[str, Any]]:
    return {
        int(r["profile_id"]): {
            "id": int(r["profile_id"]),
            "uuid": stable_uuid("profile", r["profile_id"]),
            "name": r["name"],
            "platform": r["platform"],
            "kind": r.get("kind") or "Device",
            "status": "Active",
        }
        for r in profiles.iter_rows(named=True)
    }


def default_app_kind(app_id: int, cost: float) -> str:
    """Paid apps are VPP (Purchased); free ones split between in-house (Internal) and store (Public)."""
    if cost > 0:
        return "Purchased"
    return "Internal" if app_id % 3 == 0 else "Public"


def build_apps(apps: pl.DataFrame) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for r in apps.iter_rows(named=True):
        app_id = int(r["app_id"])
        cost = float(r.get("license_cost_usd") or 0.0)
        out[app_id] = {
            "id": app_id,
            "uuid": stable_uuid("app", app_id),
            "name": r["name"],
            "bundle_id": r["bundle_id"],
            "platform": r["platform"],
            "cost": cost,
            "kind": default_app_kind(app_id, cost),
            "version": f"{1 + app_id % 5}.{app_id % 10}.0",
            "status": "Active",
        }
    return out


def build_smart_groups(frame: pl.DataFrame) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for r in frame.iter_rows(named=True):
        sg_id = int(r["smart_group_id"])
        out[sg_id] = {
            "id": sg_id,
            "uuid": stable_uuid("sg", sg_id),
            "name": r["name"],
            "criteria": "All",
            "departments": [r["department"]] if r.get("department") else [],
            "roles": [r["role"]] if r.get("role") else [],
            "platforms": [],
            "ownerships": [],
            "og_ids": [],
            "tag_ids": [],
            "additions": [],
            "exclusions": [],
            "managed_by": CUSTOMER_OG_ID,
            "assignments": 0,
        }
    return out


def build_tags(created: datetime) -> dict[int, dict[str, Any]]:
    names = ["Quarantine", "Battery Watch", "Replacement Due", "VIP", "Lost"]
    return {
        10 + i: {
            "id": 10 + i,
            "uuid": stable_uuid("tag", n),
            "name": n,
            "type": 1,
            "avatar": n[:2].upper(),
            "lgid": CUSTOMER_OG_ID,
            "created": created,
            "devices": {},
        }
        for i, n in enumerate(names)
    }


# Per-device sensors the simulator's telemetry feeds (name → telemetry column).
SENSOR_COLUMNS = {
    "battery_health_percent": "battery_health_pct",
    "battery_cycle_count": "battery_cycles",
    "storage_used_percent": "storage_used_pct",
    "crash_count_daily": "crash_count",
    "kernel_panic_count_daily": "kernel_panic_count",
    "thermal_event_count_daily": "thermal_event_count",
}


def build_sensors() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name in SENSOR_COLUMNS:
        uuid = stable_uuid("sensor", name)
        out[uuid] = {
            "uuid": uuid,
            "name": name,
            "organization_group_name": "ws1ai Sandbox",
            "is_read_only": True,
            "organization_group_uuid": stable_uuid("og", CUSTOMER_OG_ID),
            "platform": "APPLE_OSX",
            "query_type": "BASH",
            "query_response_type": "INTEGER",
            "trigger_type": "SCHEDULE",
            "execution_context": "SYSTEM",
            "execution_architecture": "EITHER64OR32BIT",
            "script_data": "",
            "timeout": 30,
            "event_trigger": [],
            "schedule_trigger": "FOUR_HOURS",
            "assigned_smart_groups": [],
            "description": f"ws1ai telemetry sensor ({SENSOR_COLUMNS[name]})",
        }
    return out


def build_devices_frame_latest(telemetry: pl.DataFrame) -> dict[int, tuple[Any, ...]]:
    """Latest telemetry row per device → (battery_health_pct, battery_cycles, storage_used_pct)."""
    if telemetry.height == 0:
        return {}
    latest = telemetry.sort(["device_id", "date"]).group_by("device_id", maintain_order=True).last()
    return {
        d: (b, c, s)
        for d, b, c, s in zip(
            latest["device_id"].to_list(),
            latest["battery_health_pct"].to_list(),
            latest["battery_cycles"].to_list(),
            latest["storage_used_pct"].to_list(),
            strict=True,
        )
    }


def build_scripts(created: datetime) -> dict[str, dict[str, Any]]:
    """Two stock scripts so lists are not empty on a fresh tenant."""
    og_uuid = stable_uuid("og", CUSTOMER_OG_ID)
    out: dict[str, dict[str, Any]] = {}
    for name, platform, kind in (
        ("Collect battery diagnostics", "APPLE_OSX", "BASH"),
        ("Clear temporary files", "WIN_RT", "POWERSHELL"),
    ):
        uuid = stable_uuid("script", name)
        out[uuid] = {
            "script_uuid": uuid,
            "version": 1,
            "name": name,
            "description": f"ws1ai stock script: {name.lower()}",
            "platform": platform,
            "script_type": kind,
            "organization_group_uuid": og_uuid,
            "organization_group_name": "ws1ai Sandbox",
            "created_or_modified_by": "sandbox-admin",
            "created_or_modified_on": created.strftime("%Y-%m-%dT%H:%M:%S.000"),
            "assignment_count": 0,
            "script_data": "",
            "assignments": [],
        }
    return out
