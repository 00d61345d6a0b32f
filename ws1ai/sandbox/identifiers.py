"""Per-device identifiers the fleet contract lacks, derived deterministically from `device_id`.

MAC, IMEI, phone and asset numbers are arithmetic in the id so alternate-id lookups can invert them without
an index; the UDID is a hash (real UDIDs look random), so its reverse index is built lazily on first use.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime

__all__ = [
    "PHONE_PLATFORMS",
    "asset_number",
    "capacity_gb",
    "device_id_from_asset",
    "device_id_from_imei",
    "device_id_from_mac",
    "fmt_date",
    "fmt_ts",
    "imei",
    "mac_address",
    "phone_number",
    "stable_uuid",
    "udid",
]

PHONE_PLATFORMS = frozenset({"Apple", "Android"})
_MAC_BASE = 0x0A1B00000000
NEVER = "0001-01-01T00:00:00.000"


def udid(device_id: int) -> str:
    return hashlib.md5(f"udid:{device_id}".encode(), usedforsecurity=False).hexdigest().upper()


def stable_uuid(kind: str, key: object) -> str:
    """A UUID-shaped id that is the same on every run for the same (kind, key)."""
    h = hashlib.md5(f"{kind}:{key}".encode(), usedforsecurity=False).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def mac_address(device_id: int) -> str:
    return f"{_MAC_BASE + device_id:012X}"


def device_id_from_mac(value: str) -> int | None:
    try:
        n = int(value.replace(":", "").replace("-", ""), 16) - _MAC_BASE
    except ValueError:
        return None
    return n if n >= 0 else None


def _luhn_digit(body: str) -> int:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


def imei(device_id: int, platform: str) -> str:
    if platform not in PHONE_PLATFORMS:
        return ""
    body = f"35{device_id:012d}"
    return body + str(_luhn_digit(body))


def device_id_from_imei(value: str) -> int | None:
    if len(value) != 15 or not value.isdigit() or not value.startswith("35"):
        return None
    return int(value[2:14])


def phone_number(device_id: int, platform: str) -> str:
    return f"+1555{device_id % 10_000_000:07d}" if platform in PHONE_PLATFORMS else ""


def asset_number(device_id: int) -> str:
    return f"AN{device_id:08d}"


def device_id_from_asset(value: str) -> int | None:
    v = value.upper()
    return int(v[2:]) if v.startswith("AN") and v[2:].isdigit() else None


def capacity_gb(device_id: int, platform: str) -> float:
    """Storage size in GB, a plausible tier per platform, fixed per device."""
    tiers = {"Apple": (128.0, 256.0, 512.0), "Android": (64.0, 128.0, 256.0)}.get(
        platform, (256.0, 512.0, 1024.0)
    )
    return tiers[device_id % len(tiers)]


def fmt_ts(value: datetime | None) -> str:
    """UEM v1 timestamp: ISO-8601, milliseconds, no zone; never-set is 0001-01-01."""
    if value is None:
        return NEVER
    return value.replace(tzinfo=None).isoformat(timespec="milliseconds")


def fmt_date(value: date | None) -> str:
    return value.isoformat() if value is not None else ""
