"""`UEMClient` — the entry point: settings + transport + one attribute per API area.

    with UEMClient() as uem:                       # settings from WS1_* env; defaults = local sandbox
        for device in uem.devices.iter_search(platform="Apple"):
            ...

Pass `http=` to inject an `httpx.Client` (e.g. FastAPI's `TestClient(app)` for the in-process sandbox; the
client then does not close it). `read_only=True` refuses every non-GET before anything is sent.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from types import TracebackType

import httpx

from ws1ai.settings import UEMSettings
from ws1ai.uem.ratelimit import RateLimiter
from ws1ai.uem.resources import (
    Apps,
    Commands,
    Devices,
    EventNotifications,
    Messages,
    OrgGroups,
    Profiles,
    Scripts,
    Sensors,
    SmartGroups,
    System,
    Tags,
    Users,
)
from ws1ai.uem.transport import TransportStats, UEMTransport, correlation_id

__all__ = ["UEMClient"]


class UEMClient:
    def __init__(
        self,
        settings: UEMSettings | None = None,
        *,
        http: httpx.Client | None = None,
        read_only: bool | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.settings = settings or UEMSettings()
        self.transport = UEMTransport(self.settings, http=http, read_only=read_only, limiter=limiter)
        self.devices = Devices(self.transport)
        self.commands = Commands(self.transport)
        self.messages = Messages(self.transport)
        self.profiles = Profiles(self.transport)
        self.apps = Apps(self.transport)
        self.smart_groups = SmartGroups(self.transport)
        self.tags = Tags(self.transport)
        self.users = Users(self.transport)
        self.org_groups = OrgGroups(self.transport)
        self.scripts = Scripts(self.transport)
        self.sensors = Sensors(self.transport)
        self.event_notifications = EventNotifications(self.transport)
        self.system = System(self.transport)

    def __repr__(self) -> str:
        mode = "read-only" if self.read_only else "read-write"
        return f"UEMClient({self.settings.base_url!r}, {self.settings.auth_mode.value}, {mode})"

    @property
    def read_only(self) -> bool:
        return self.transport.read_only

    @property
    def limiter(self) -> RateLimiter:
        return self.transport.limiter

    @property
    def stats(self) -> TransportStats:
        return self.transport.stats

    def correlation(self, value: str) -> AbstractContextManager[None]:
        """`with uem.correlation(action.correlation_id): ...` — every call in the block carries the id."""
        return correlation_id(value)

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> UEMClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
