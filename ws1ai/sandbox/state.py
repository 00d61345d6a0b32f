"""`SandboxState`: the whole in-memory tenant, guarded by one lock.

Devices are `DeviceRecord`s (slots) in a dict ordered by id; per-device rows that would be millions of
objects (telemetry, app installs, profiles) stay columnar (`membership`). Search results are cached per
(filters, order, state version) so a 100k-device sweep pages in O(page size).
"""

from __future__ import annotations

import heapq
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl

from ws1ai.sandbox import catalog
from ws1ai.sandbox.errors import ApiError
from ws1ai.sandbox.gate import Gate
from ws1ai.sandbox.identifiers import (
    device_id_from_asset,
    device_id_from_imei,
    device_id_from_mac,
    udid,
)
from ws1ai.sandbox.membership import DeviceRows, Membership
from ws1ai.sandbox.records import DeviceRecord, FleetLike, LedgerEntry

__all__ = ["Ctx", "SandboxState"]

WIPE_COMPLETION_SECONDS = (
    120.0  # a wiped device "checks in" and finishes the wipe this long after the command
)


@dataclass(frozen=True, slots=True)
class Ctx:
    """Who/what is writing: copied into every ledger entry."""

    method: str
    path: str
    correlation_id: str


class SandboxState:
    def __init__(
        self,
        fleet: FleetLike | None = None,
        *,
        rate_limit_per_minute: int = 180,
        daily_quota: int = 250_000,
        token_lifetime_seconds: int = 3600,
    ) -> None:
        self.lock = threading.RLock()
        self.clock_offset = 0.0
        self.gate = Gate(rate_limit_per_minute, daily_quota, token_lifetime_seconds)
        self.wipe_completion_seconds = WIPE_COMPLETION_SECONDS
        # Event hook (set by the webhook dispatcher): called with (device, event type) under the lock.
        self.on_device_event: Callable[[DeviceRecord, str], None] | None = None
        self.webhooks: Any = None  # the WebhookDispatcher, shared by every app built on this state
        self.fleet: FleetLike | None = None
        self._load(fleet)

    # --- construction -----------------------------------------------------------------------------------
    @classmethod
    def from_fleet(cls, fleet: FleetLike, **kwargs: Any) -> SandboxState:
        return cls(fleet, **kwargs)

    @classmethod
    def seeded(
        cls, devices: int, seed: int, days: int = 30, *, end: date | None = None, **kwargs: Any
    ) -> SandboxState:
        """A tenant over `generate_fleet(devices, seed, days, end)` (end defaults to the simulator's)."""
        return cls(_generate(devices, seed, days, end), **kwargs)

    def reset(self) -> None:
        """Back to the seeded fleet: tenant data, ledger, faults, counters (tokens survive)."""
        with self.lock:
            self._load(self.fleet)
            self.gate.reset()

    def reseed(self, devices: int, seed: int, days: int, end: date | None = None) -> None:
        fleet = _generate(devices, seed, days, end)
        with self.lock:
            self._load(fleet)
            self.gate.reset()

    def _load(self, fleet: FleetLike | None) -> None:
        self.fleet = fleet
        # A new tenant instance on every seed and reset: writes recorded against the previous one are no
        # longer true here (`/_sandbox/info` reports it; the audit trail scopes "already done" by it).
        self.instance_id = uuid.uuid4().hex
        self.version = 0
        self.ledger: list[LedgerEntry] = []
        self.devices: dict[int, DeviceRecord] = {}
        self._by_uuid: dict[str, int] = {}
        self._by_serial: dict[str, int] = {}
        self._by_udid: dict[str, int] | None = None
        self._by_email: dict[str, list[int]] | None = None
        self._search_cache: OrderedDict[tuple[Any, ...], list[int]] = OrderedDict()
        self._pending: list[tuple[float, int, int, str]] = []
        self._pending_seq = 0
        # Tenant time starts the day after the fleet's last simulated day, so LastSeen values are recent;
        # `epoch()` (tokens, throttle, quota headers) stays on the real clock the clients share.
        self._anchor_epoch = self.epoch()
        self._anchor = datetime.fromtimestamp(self._anchor_epoch, UTC).replace(tzinfo=None)
        now = self._anchor
        empty = pl.DataFrame({"device_id": pl.Series([], dtype=pl.Int64)})
        if fleet is None:
            self.start, self.end = now.date(), now.date()
            devices = employees = pl.DataFrame()
            telemetry = threats = usage = installs = dprof = empty
            apps = profiles = sgroups = pl.DataFrame()
        else:
            self.start, self.end = fleet.start, fleet.end
            self._anchor = datetime.combine(fleet.end + timedelta(days=1), datetime.min.time())
            devices, employees, telemetry = fleet.devices, fleet.employees, fleet.telemetry
            threats, usage, installs = fleet.threat_signals, fleet.app_usage, fleet.app_installs
            dprof, apps, profiles, sgroups = (
                fleet.device_profiles,
                fleet.apps,
                fleet.profiles,
                fleet.smart_groups,
            )
        self.telemetry = DeviceRows(telemetry, ["date"] if telemetry.height else None)
        self.threats = DeviceRows(threats, ["date"] if threats.height else None)
        self.app_usage = DeviceRows(usage, ["date"] if usage.height else None)
        self.app_installs = (
            Membership(installs, "app_id", "installed_on")
            if installs.height
            else Membership(
                empty.with_columns(
                    pl.lit(0, pl.Int64).alias("app_id"), pl.lit(None, pl.Date).alias("installed_on")
                ),
                "app_id",
                "installed_on",
            )
        )
        self.device_profiles = Membership(
            dprof if dprof.height else empty.with_columns(pl.lit(0, pl.Int64).alias("profile_id")),
            "profile_id",
        )
        self.employees = employees
        self._build_devices(devices, telemetry)
        created = datetime.combine(self.start, datetime.min.time()) - timedelta(days=365)
        self.org_groups = catalog.build_org_groups(devices, employees, created)
        device_users = {r.user_email.lower(): r.user_name for r in self.devices.values()}
        self.users = catalog.build_users(employees, device_users)
        self._user_by_email = {str(u["email"]).lower(): uid for uid, u in self.users.items()}
        self.profiles = catalog.build_profiles(profiles) if profiles.height else {}
        self.apps = catalog.build_apps(apps) if apps.height else {}
        self.smart_groups = catalog.build_smart_groups(sgroups) if sgroups.height else {}
        self.tags = catalog.build_tags(created)
        self.sensors = catalog.build_sensors()
        self.scripts: dict[str, dict[str, Any]] = catalog.build_scripts(created)
        self.event_notifications: dict[int, dict[str, Any]] = {}
        self.incidents: dict[str, dict[str, Any]] = {}
        self.report_runs: dict[str, dict[str, Any]] = {}
        self.next_id = 900_000  # ids for objects created through the API

    def _build_devices(self, devices: pl.DataFrame, telemetry: pl.DataFrame) -> None:
        if devices.height == 0:
            return
        latest = catalog.build_devices_frame_latest(telemetry)
        devices = devices.sort("device_id")  # search relies on id order for its default ordering
        cols = [
            devices.get_column(c).to_list()
            for c in (
                "device_id",
                "uuid",
                "serial_number",
                "platform",
                "model",
                "os_version",
                "ownership",
                "user_name",
                "user_email",
                "department",
                "role",
                "location_group_id",
                "enrolled_on",
                "last_seen",
                "compliance_status",
                "compromised",
                "encrypted",
                "purchase_date",
                "warranty_end",
            )
        ]
        for row in zip(*cols, strict=True):
            rec = DeviceRecord(*row)
            lt = latest.get(rec.id)
            if lt is not None:
                rec.battery_health, rec.battery_cycles, rec.storage_used_pct = (
                    lt[0],
                    lt[1],
                    float(lt[2] or 0.0),
                )
            rec.last_compliance_check = rec.last_seen
            self.devices[rec.id] = rec
            self._by_uuid[rec.uuid.lower()] = rec.id
            self._by_serial[rec.serial.lower()] = rec.id

    # --- clock ------------------------------------------------------------------------------------------
    def epoch(self) -> float:
        return time.time() + self.clock_offset

    def now(self) -> datetime:
        """Tenant time, naive UTC (no zone, as UEM sends it): the fleet's next day + time since seeding."""
        return self._anchor + timedelta(seconds=self.epoch() - self._anchor_epoch)

    def today(self) -> date:
        return self.now().date()

    def advance_clock(self, seconds: float) -> None:
        with self.lock:
            self.clock_offset += seconds
            self.settle()

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    # --- devices ----------------------------------------------------------------------------------------
    def touch(self) -> None:
        """Any device change invalidates cached search orders."""
        self.version += 1
        self._search_cache.clear()

    def device(self, device_id: int) -> DeviceRecord:
        rec = self.devices.get(device_id)
        if rec is None:
            raise ApiError.device_not_found()
        return rec

    def device_by_uuid(self, value: str) -> DeviceRecord:
        dev_id = self._by_uuid.get(value.lower())
        if dev_id is None:
            raise ApiError.device_not_found()
        return self.device(dev_id)

    def device_by_alt(self, searchby: str, value: str) -> DeviceRecord:
        """`searchby` ∈ Macaddress, Udid, Serialnumber, ImeiNumber, EasId, DeviceId, AssetNumber, Uuid."""
        kind = searchby.strip().lower()
        dev_id: int | None = None
        if kind == "serialnumber":
            dev_id = self._by_serial.get(value.lower())
        elif kind == "udid":
            if self._by_udid is None:
                self._by_udid = {udid(d): d for d in self.devices}
            dev_id = self._by_udid.get(value.upper())
        elif kind == "macaddress":
            dev_id = device_id_from_mac(value)
        elif kind in ("imeinumber", "imei"):
            dev_id = device_id_from_imei(value)
        elif kind == "assetnumber":
            dev_id = device_id_from_asset(value)
        elif kind == "deviceid":
            dev_id = int(value) if value.strip().isdigit() else None
        elif kind == "uuid":
            dev_id = self._by_uuid.get(value.lower())
        elif kind == "easid":
            dev_id = None
        else:
            raise ApiError.bad_request(f"Invalid searchby value '{searchby}'.")
        if dev_id is None or dev_id not in self.devices:
            raise ApiError.device_not_found()
        rec = self.devices[dev_id]
        if kind in ("imeinumber", "imei") and rec.platform not in ("Apple", "Android"):
            raise ApiError.device_not_found()
        return rec

    def add_device(self, rec: DeviceRecord) -> None:
        """A newly enrolled device (ids only grow, so the dict stays in id order)."""
        self.devices[rec.id] = rec
        self._by_uuid[rec.uuid.lower()] = rec.id
        self._by_serial[rec.serial.lower()] = rec.id
        if self._by_udid is not None:
            self._by_udid[udid(rec.id)] = rec.id
        self._by_email = None
        self.touch()

    def remove_device(self, device_id: int) -> None:
        rec = self.devices.pop(device_id, None)
        if rec is None:
            return
        self._by_uuid.pop(rec.uuid.lower(), None)
        self._by_serial.pop(rec.serial.lower(), None)
        if self._by_udid is not None:
            self._by_udid.pop(udid(device_id), None)
        self._by_email = None
        for tag in self.tags.values():
            tag["devices"].pop(device_id, None)
        self.touch()

    def cached_order(self, key: tuple[Any, ...], build: Callable[[], list[int]]) -> list[int]:
        hit = self._search_cache.get(key)
        if hit is None:
            hit = build()
            self._search_cache[key] = hit
            while len(self._search_cache) > 64:
                self._search_cache.popitem(last=False)
        else:
            self._search_cache.move_to_end(key)
        return hit

    def devices_of_user(self, email: str) -> list[DeviceRecord]:
        if self._by_email is None:
            index: dict[str, list[int]] = {}
            for rec in self.devices.values():
                index.setdefault(rec.user_email.lower(), []).append(rec.id)
            self._by_email = index
        return [self.devices[i] for i in self._by_email.get(email.lower(), []) if i in self.devices]

    def user_id_for(self, email: str) -> int:
        return self._user_by_email.get(email.lower(), 0)

    # --- scheduled completions (wipes finish later) -----------------------------------------------------
    def schedule(self, delay: float, device_id: int, action: str) -> None:
        self._pending_seq += 1
        heapq.heappush(self._pending, (self.epoch() + delay, self._pending_seq, device_id, action))

    def settle(self) -> None:
        """Apply completions that are due; called on each request (cheap when nothing is pending)."""
        now = self.epoch()
        while self._pending and self._pending[0][0] <= now:
            _, _, dev_id, action = heapq.heappop(self._pending)
            rec = self.devices.get(dev_id)
            if rec is None:
                continue
            if action == "device_wipe_done":
                # Sandbox name; the real string is unverified (docs/uem-api.md#webhook-payload).
                self.emit(rec, "Device Wipe Completed")
                self.remove_device(dev_id)
            elif action == "enterprise_wipe_done":
                rec.enrollment_status = "Unenrolled"
                rec.status_changed = self.now()
                self.touch()
                self.emit(rec, "Break MDM Confirmed")

    # --- ledger / events --------------------------------------------------------------------------------
    def record(
        self, ctx: Ctx, operation: str, device_ids: list[int], payload: Any = None, **extra: Any
    ) -> LedgerEntry:
        entry = LedgerEntry(
            len(self.ledger) + 1,
            self.now(),
            ctx.method,
            ctx.path,
            operation,
            device_ids,
            payload,
            ctx.correlation_id,
            dict(extra),
        )
        self.ledger.append(entry)
        return entry

    def emit(self, rec: DeviceRecord, event_type: str) -> None:
        if self.on_device_event is not None:
            self.on_device_event(rec, event_type)


def _generate(devices: int, seed: int, days: int, end: date | None = None) -> FleetLike:
    # Imported late: the simulator is a separate module (and heavy); a state can be built without it.
    from ws1ai.sandbox.fleet import generate_fleet

    if end is not None:
        return generate_fleet(devices=devices, seed=seed, days=days, end=end)
    fleet: FleetLike = generate_fleet(devices=devices, seed=seed, days=days)
    return fleet
