"""Device search: filters of v1/v2/v3 `/mdm/devices/search`, ordering, and the cached result order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ws1ai.sandbox.catalog import CUSTOMER_OG_ID, GLOBAL_OG_ID
from ws1ai.sandbox.errors import ApiError
from ws1ai.sandbox.records import DeviceRecord
from ws1ai.sandbox.state import SandboxState

__all__ = ["DeviceFilter", "search_device_ids"]

_OWNERSHIP_CODES = {
    "c": "C",
    "e": "E",
    "s": "S",
    "corporatededicated": "C",
    "employeeowned": "E",
    "corporateshared": "S",
    "undefined": "U",
}
_ORDER_KEYS = {"deviceid", "model", "lastseen", "ownership", "platform"}


@dataclass(frozen=True)
class DeviceFilter:
    user: str | None = None
    model: str | None = None
    platform: str | None = None
    ownership: str | None = None
    lgid: int | None = None
    og_uuid: str | None = None
    compliant: bool | None = None
    seen_since: datetime | None = None
    seen_till: datetime | None = None
    enrollment_status: str | None = None
    order_by: str = "deviceid"
    descending: bool = False

    def key(self) -> tuple[Any, ...]:
        return (
            "devices",
            self.user,
            self.model,
            self.platform,
            self.ownership,
            self.lgid,
            self.og_uuid,
            self.compliant,
            self.seen_since,
            self.seen_till,
            self.enrollment_status,
            self.order_by,
            self.descending,
        )


def normalise(f: DeviceFilter) -> DeviceFilter:
    own = None
    if f.ownership:
        own = _OWNERSHIP_CODES.get(f.ownership.strip().lower())
        if own is None:
            raise ApiError.bad_request(f"Invalid ownership '{f.ownership}' (C, E, S or Undefined).")
    order = (f.order_by or "deviceid").strip().lower()
    if order not in _ORDER_KEYS:
        raise ApiError.bad_request(f"Invalid orderby '{f.order_by}'.")
    return DeviceFilter(
        user=f.user.lower() if f.user else None,
        model=f.model.lower() if f.model else None,
        platform=f.platform.lower() if f.platform else None,
        ownership=own,
        lgid=f.lgid,
        og_uuid=f.og_uuid.lower() if f.og_uuid else None,
        compliant=f.compliant,
        seen_since=f.seen_since,
        seen_till=f.seen_till,
        enrollment_status=f.enrollment_status.lower() if f.enrollment_status else None,
        order_by=order,
        descending=f.descending,
    )


def _sort_key(order: str) -> Any:
    if order == "model":
        return lambda r: (r.model, r.id)
    if order == "lastseen":
        return lambda r: (r.last_seen, r.id)
    if order == "ownership":
        return lambda r: (r.ownership, r.id)
    if order == "platform":
        return lambda r: (r.platform, r.id)
    return None


def search_device_ids(state: SandboxState, raw: DeviceFilter) -> list[int]:
    """Ids matching the filter in result order; cached until any device changes (caller holds the lock)."""
    f = normalise(raw)
    lgid = f.lgid
    if f.og_uuid:
        match = [og["id"] for og in state.org_groups.values() if og["uuid"] == f.og_uuid]
        if not match:
            return []
        lgid = match[0]
    if lgid in (GLOBAL_OG_ID, CUSTOMER_OG_ID):
        lgid = None  # parent OGs contain the whole fleet

    def build() -> list[int]:
        recs: Any = state.devices.values()
        checks: list[Callable[[DeviceRecord], bool]] = []
        if f.user:
            checks.append(lambda r: r.user_name.lower() == f.user)
        model, since, till = f.model, f.seen_since, f.seen_till
        if model:
            checks.append(lambda r: model in r.model.lower())
        if f.platform:
            checks.append(lambda r: r.platform.lower() == f.platform)
        if f.ownership:
            checks.append(lambda r: r.ownership == f.ownership)
        if lgid is not None:
            checks.append(lambda r: r.lgid == lgid)
        if f.compliant is not None:
            want = "Compliant" if f.compliant else "NonCompliant"
            checks.append(lambda r: r.compliance == want)
        if since is not None:
            checks.append(lambda r: r.last_seen >= since)
        if till is not None:
            checks.append(lambda r: r.last_seen <= till)
        if f.enrollment_status:
            checks.append(lambda r: r.enrollment_status.lower() == f.enrollment_status)
        if checks:
            recs = [r for r in recs if all(c(r) for c in checks)]
        key = _sort_key(f.order_by)
        if key is None:
            ids = [r.id for r in recs]  # the dict is in id order already
            return ids[::-1] if f.descending else ids
        ordered: list[DeviceRecord] = sorted(recs, key=key, reverse=f.descending)
        return [r.id for r in ordered]

    return state.cached_order((*f.key(), lgid), build)
