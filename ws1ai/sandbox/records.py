"""The mutable per-device record and the fleet interface the state is built from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

import polars as pl

__all__ = ["DeviceRecord", "FleetLike", "LedgerEntry"]


class FleetLike(Protocol):
    """What `ws1ai.sandbox.fleet.generate_fleet` returns (docs/design.md#data-contracts + three extras)."""

    @property
    def devices(self) -> pl.DataFrame: ...
    @property
    def telemetry(self) -> pl.DataFrame: ...
    @property
    def failures(self) -> pl.DataFrame: ...
    @property
    def apps(self) -> pl.DataFrame: ...
    @property
    def app_installs(self) -> pl.DataFrame: ...
    @property
    def app_usage(self) -> pl.DataFrame: ...
    @property
    def employees(self) -> pl.DataFrame: ...
    @property
    def threat_signals(self) -> pl.DataFrame: ...
    @property
    def profiles(self) -> pl.DataFrame: ...
    @property
    def device_profiles(self) -> pl.DataFrame: ...
    @property
    def smart_groups(self) -> pl.DataFrame: ...
    @property
    def start(self) -> date: ...
    @property
    def end(self) -> date: ...


@dataclass(slots=True)
class DeviceRecord:
    """One enrolled device; slots keep 100k of them to tens of MB."""

    id: int
    uuid: str
    serial: str
    platform: str
    model: str
    os_version: str
    ownership: str
    user_name: str
    user_email: str
    department: str
    role: str
    lgid: int
    enrolled_on: datetime
    last_seen: datetime
    compliance: str
    compromised: bool
    encrypted: bool
    purchase_date: date | None
    warranty_end: date | None
    battery_health: float | None = None
    battery_cycles: int | None = None
    storage_used_pct: float = 0.0
    enrollment_status: str = "Enrolled"
    locked: bool = False
    lost_mode: bool = False
    last_compliance_check: datetime | None = None
    status_changed: datetime | None = None
    custom_attributes: dict[str, tuple[str, str, datetime]] | None = None
    notes: list[dict[str, Any]] | None = None
    events: list[dict[str, Any]] | None = None

    def add_event(self, entry: dict[str, Any]) -> None:
        if self.events is None:
            self.events = []
        self.events.append(entry)


@dataclass(slots=True)
class LedgerEntry:
    seq: int
    time: datetime
    method: str
    path: str
    operation: str
    device_ids: list[int]
    payload: Any
    correlation_id: str
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time.isoformat(),
            "method": self.method,
            "path": self.path,
            "operation": self.operation,
            "device_ids": self.device_ids,
            "payload": self.payload,
            "correlation_id": self.correlation_id,
            **self.extra,
        }
