"""Profiles (baseline per platform, per department, per site) and smart groups (per department and role).

Assignment follows scope with some drift: not every device in scope has every profile (failed installs,
BYOD devices that refused restrictions), which is what a role-bundle model must see through.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ws1ai.sandbox.fleet.catalog import DEPARTMENTS, SITES

__all__ = ["assign_profiles", "profile_table", "smart_group_table"]

_PLATFORMS = ("Apple", "AppleOsX", "WinRT", "Android")
_BASELINE = (("Passcode Policy", "Passcode"), ("Device Restrictions", "Restrictions"),
             ("Corporate Wi-Fi", "Wi-Fi"), ("Per-App VPN", "VPN"), ("Exchange Email", "Email"),
             ("Device Certificate", "Credentials"))
_ENCRYPTION = {"AppleOsX": "FileVault Encryption", "WinRT": "BitLocker Encryption"}
_DEPT_PROFILES = {
    "Finance": ("Finance DLP Restrictions", "Restrictions"),
    "Legal": ("Legal Data Protection", "Restrictions"),
    "Human Resources": ("HR Data Protection", "Restrictions"),
    "Engineering": ("Developer Tools Access", "Custom Settings"),
    "Executive": ("Executive Secure Mail", "Email"),
    "Operations": ("Warehouse Kiosk Mode", "Kiosk"),
    "Customer Support": ("Support Softphone", "Custom Settings"),
}


def profile_table() -> pl.DataFrame:
    """Profiles with their (internal, dropped before export) scope: `_dept` / `_site` null = everyone."""
    rows: list[dict[str, object]] = []
    for platform in _PLATFORMS:
        for name, kind in _BASELINE:
            rows.append({"name": f"{name} ({platform})", "platform": platform, "kind": kind})
        if platform in _ENCRYPTION:
            rows.append({"name": _ENCRYPTION[platform], "platform": platform, "kind": "Encryption"})
        for dept, (name, kind) in _DEPT_PROFILES.items():
            rows.append({"name": f"{name} ({platform})", "platform": platform, "kind": kind, "_dept": dept})
        for site in SITES:
            if site.name != "Remote":
                rows.append({"name": f"Wi-Fi {site.name} ({platform})", "platform": platform, "kind": "Wi-Fi",
                             "_site": site.name})
    frame = pl.DataFrame(rows, schema={"name": pl.String, "platform": pl.String, "kind": pl.String,
                                       "_dept": pl.String, "_site": pl.String})
    return frame.with_row_index("profile_id", offset=401).with_columns(pl.col("profile_id").cast(pl.Int64))


def assign_profiles(rng: np.random.Generator, devices: pl.DataFrame, profiles: pl.DataFrame,
                    location_of: dict[int, str]) -> pl.DataFrame:
    """`devices` needs device_id, platform, department, ownership, location_group_id."""
    dev = devices.select(
        "device_id", "platform", "department", "ownership",
        pl.col("location_group_id").replace_strict(location_of, default=None).alias("site"),
    )
    cand = dev.join(profiles, on="platform", how="inner").filter(
        (pl.col("_dept").is_null() | (pl.col("_dept") == pl.col("department")))
        & (pl.col("_site").is_null() | (pl.col("_site") == pl.col("site")))
    )
    # BYOD devices carry no device restrictions or encryption enforcement; otherwise ~5 % missing installs.
    byod_skip = (pl.col("ownership") == "E") & pl.col("kind").is_in(["Restrictions", "Encryption", "Kiosk"])
    cand = cand.filter(~byod_skip)
    keep = rng.random(cand.height) < 0.95
    return cand.filter(pl.Series(keep)).select("device_id", "profile_id").sort("device_id", "profile_id")


def smart_group_table() -> pl.DataFrame:
    rows: list[dict[str, object]] = [
        {"name": "All Devices", "department": None, "role": None},
        {"name": "All Corporate Devices", "department": None, "role": None},
        {"name": "All Employee-Owned Devices", "department": None, "role": None},
    ]
    for d in DEPARTMENTS:
        rows.append({"name": f"Dept - {d.name}", "department": d.name, "role": None})
        for r in d.roles:
            rows.append({"name": f"Role - {d.name} - {r.name}", "department": d.name, "role": r.name})
    frame = pl.DataFrame(rows, schema={"name": pl.String, "department": pl.String, "role": pl.String})
    frame = frame.with_row_index("smart_group_id", offset=101)
    return frame.with_columns(pl.col("smart_group_id").cast(pl.Int64))
