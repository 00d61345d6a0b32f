"""What stands in front of every API call: OAuth tokens, throttle, daily quota, injected faults, counters.

Time comes from the state's clock so tests can age tokens and roll the quota window without sleeping.
"""

from __future__ import annotations

import math
import re
import secrets
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Fault", "Gate", "QuotaWindow", "Throttle"]

DAY_SECONDS = 86_400


class Throttle:
    """Sliding one-minute window per API key: a client pacing itself evenly is never throttled."""

    def __init__(self, limit_per_minute: int) -> None:
        self.limit = limit_per_minute
        self._hits: dict[str, deque[float]] = {}

    def check(self, key: str, now: float) -> float | None:
        """Count the call; return None if allowed, else the seconds until a slot frees."""
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - 60.0:
            hits.popleft()
        if len(hits) >= self.limit:
            return max(0.0, hits[0] + 60.0 - now)
        hits.append(now)
        return None

    def reset(self) -> None:
        self._hits.clear()


@dataclass
class QuotaWindow:
    """Daily quota per API key; the window starts at the first call, as the recorded reset times suggest."""

    limit: int
    used: int = 0
    reset_at: float = 0.0

    def roll(self, now: float) -> None:
        if now >= self.reset_at:
            self.used = 0
            self.reset_at = now + DAY_SECONDS

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


@dataclass
class Fault:
    """One injected fault: for requests whose path matches `route` (regex, case-insensitive) and method."""

    id: int
    route: str
    kind: str  # "429" | "5xx" | "latency" | "drop" (before the app) | "drop_after" (after it)
    count: int
    status: int = 503
    retry_after: int = 1
    latency_seconds: float = 0.0
    method: str | None = None
    fired: int = 0
    pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.pattern = re.compile(self.route, re.IGNORECASE)

    def matches(self, method: str, path: str) -> bool:
        if self.fired >= self.count:
            return False
        if self.method and self.method.upper() != method.upper():
            return False
        return self.pattern.search(path) is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "route": self.route,
            "kind": self.kind,
            "count": self.count,
            "status": self.status,
            "retry_after": self.retry_after,
            "latency_seconds": self.latency_seconds,
            "method": self.method,
            "fired": self.fired,
            "remaining": self.count - self.fired,
        }


class Gate:
    def __init__(
        self, rate_limit_per_minute: int, daily_quota: int, token_lifetime_seconds: int = 3600
    ) -> None:
        self.throttle = Throttle(rate_limit_per_minute)
        self.daily_quota = daily_quota
        self.quotas: dict[str, QuotaWindow] = {}
        self.token_lifetime_seconds = token_lifetime_seconds
        self.tokens: dict[str, tuple[str, float]] = {}  # token -> (client id, expires at)
        self.faults: list[Fault] = []
        self._fault_seq = 0
        self.requests: Counter[str] = Counter()
        self.status_counts: Counter[int] = Counter()
        self.throttled = 0
        self.quota_rejected = 0
        self.faults_served = 0

    # --- OAuth ------------------------------------------------------------------------------------------
    def issue_token(self, client_id: str, now: float) -> tuple[str, int]:
        token = secrets.token_urlsafe(32)
        self.tokens[token] = (client_id, now + self.token_lifetime_seconds)
        return token, self.token_lifetime_seconds

    def token_client(self, token: str, now: float) -> str | None:
        entry = self.tokens.get(token)
        if entry is None or entry[1] <= now:
            return None
        return entry[0]

    # --- quota ------------------------------------------------------------------------------------------
    def quota(self, key: str, now: float) -> QuotaWindow:
        window = self.quotas.get(key)
        if window is None:
            window = self.quotas[key] = QuotaWindow(self.daily_quota)
        window.limit = self.daily_quota
        window.roll(now)
        return window

    # --- faults -----------------------------------------------------------------------------------------
    def add_fault(self, spec: dict[str, Any]) -> Fault:
        self._fault_seq += 1
        kind = str(spec.get("kind", "5xx"))
        if kind not in {"429", "5xx", "latency", "drop", "drop_after"}:
            raise ValueError(f"unknown fault kind {kind!r} (429, 5xx, latency, drop, drop_after)")
        status = int(spec.get("status", 429 if kind == "429" else 503))
        fault = Fault(
            id=self._fault_seq,
            route=str(spec.get("route", ".*")),
            kind=kind,
            count=int(spec.get("count", 1)),
            status=status,
            retry_after=int(spec.get("retry_after", 1)),
            latency_seconds=float(spec.get("latency_seconds", 0.0)),
            method=spec.get("method"),
        )
        self.faults.append(fault)
        return fault

    def take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.matches(method, path):
                fault.fired += 1
                self.faults_served += 1
                return fault
        return None

    def reset(self) -> None:
        self.throttle.reset()
        self.quotas.clear()
        self.faults.clear()
        self.requests.clear()
        self.status_counts.clear()
        self.throttled = self.quota_rejected = self.faults_served = 0

    def counts(self) -> dict[str, Any]:
        return {
            "total": sum(self.requests.values()),
            "by_route": dict(self.requests.most_common()),
            "by_status": {str(k): v for k, v in sorted(self.status_counts.items())},
            "throttled_429": self.throttled,
            "quota_429": self.quota_rejected,
            "faults_served": self.faults_served,
        }


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
