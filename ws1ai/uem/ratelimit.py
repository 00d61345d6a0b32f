"""Client-side rate limiting: one limiter per tenant credential, shared by every client and thread using it.

UEM limits per Organization Group by API key, in two tiers: a per-minute server throttle and a daily quota
(docs/uem-api.md#rate-limits). The limiter paces requests with a smooth token bucket (GCRA: each request is
scheduled one interval after the previous one, with a small burst allowance), so the sustained rate equals the
configured requests/minute. GCRA's burst allowance alone let a sustained run send `limit + burst` requests
in some 60-s window (1.8 % over the limit, measured), which a server throttle set exactly at the limit answers
with 429s; so the limiter also remembers its last `limit` send times and never starts a request before the
oldest of them is a minute (plus a small margin for send jitter) old: no sliding minute window ever holds more
than the limit. It also

- tracks the daily quota from `x-ratelimit-remaining` / `x-ratelimit-reset` and refuses
  (`UEMQuotaExhausted`) before a call would take the remaining quota below the configured reserve, and
- on a 429 with `Retry-After`, pauses *everyone* sharing the credential, not just the thread that got it.

The quota estimate is the last header value minus the calls sent since; with concurrent callers it can be off
by the number of requests in flight, which is why the reserve exists.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ws1ai.uem.errors import UEMQuotaExhausted

__all__ = ["LimiterStats", "RateLimiter", "clear_registry", "credential_key", "limiter_for"]

# Burst allowance in seconds' worth of requests: enough to absorb scheduling jitter, small enough that
# limit + burst stays inside a server minute window set a little above the client limit.
BURST_SECONDS = 1.0
# The server counts a request when it arrives, which can be a little later than when we let it go (thread
# scheduling, connection setup): a request must start this much later than exactly one window after the
# request `limit` sends before it. At 180/min it costs under 1 % of the rate.
WINDOW_SECONDS = 60.0
WINDOW_MARGIN_SECONDS = 0.5


@dataclass
class LimiterStats:
    """Counters for benchmarks and tests."""

    acquired: int = 0
    waited_seconds: float = 0.0
    rate_limited: int = 0
    paused_seconds: float = 0.0


class RateLimiter:
    """Thread-safe request pacer + daily-quota guard for one credential."""

    def __init__(
        self,
        per_minute: int,
        *,
        quota_reserve: int = 0,
        burst_seconds: float = BURST_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep
        self._burst_seconds = burst_seconds
        self._tat = 0.0  # theoretical arrival time of the next request (GCRA)
        self._recent: deque[float] = deque()  # start times of the last `per_minute` requests
        self._paused_until = 0.0
        self._remaining: int | None = None
        self._reset_epoch: float | None = None
        self.stats = LimiterStats()
        self.configure(per_minute, quota_reserve=quota_reserve)

    def configure(self, per_minute: int, *, quota_reserve: int) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be >= 1")
        with self._lock:
            self.per_minute = per_minute
            self.quota_reserve = quota_reserve
            self._interval = 60.0 / per_minute
            # tau: how far ahead of schedule a request may go; at least one interval means no burst at all.
            burst = max(1.0, self._burst_seconds * per_minute / 60.0)
            self._tau = (burst - 1.0) * self._interval

    @property
    def remaining(self) -> int | None:
        """Estimated calls left in the daily quota (None until a response carried the header)."""
        return self._remaining

    def acquire(self) -> None:
        """Block until this caller may send one request; raise before the quota reserve would be touched."""
        with self._lock:
            now = self._clock()
            self._check_quota()
            tat = max(self._tat, now)
            start = max(tat - self._tau, self._paused_until, now)
            if len(self._recent) >= self.per_minute:
                # The request `per_minute` sends ago must have left the server's minute window by then.
                start = max(start, self._recent[0] + WINDOW_SECONDS + WINDOW_MARGIN_SECONDS)
            self._recent.append(start)
            while len(self._recent) > self.per_minute:
                self._recent.popleft()
            self._tat = max(tat, start) + self._interval
            if self._remaining is not None:
                self._remaining -= 1
            self.stats.acquired += 1
            wait = start - now
            self.stats.waited_seconds += wait
        if wait > 0:
            self._sleep(wait)

    def _check_quota(self) -> None:
        if self._remaining is None:
            return
        if self._reset_epoch is not None and time.time() >= self._reset_epoch:
            self._remaining = None  # the daily window rolled over; the next response tells us the new count
            return
        if self._remaining - 1 < self.quota_reserve:
            raise UEMQuotaExhausted(self._remaining, self.quota_reserve, self._reset_epoch)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Take the server's view of the daily quota from a response's `x-ratelimit-*` headers."""
        remaining = _int_or_none(headers.get("x-ratelimit-remaining"))
        reset = _int_or_none(headers.get("x-ratelimit-reset"))
        if remaining is None:
            return
        with self._lock:
            self._remaining = remaining
            if reset is not None:
                self._reset_epoch = float(reset)

    def pause(self, seconds: float) -> None:
        """Hold every caller of this credential for `seconds` (a 429's `Retry-After`)."""
        with self._lock:
            now = self._clock()
            until = now + max(0.0, seconds)
            self.stats.rate_limited += 1
            if until > self._paused_until:
                self.stats.paused_seconds += until - max(now, self._paused_until)
                self._paused_until = until
            # Resume smoothly after the pause instead of releasing a burst of queued callers at once.
            self._tat = max(self._tat, self._paused_until + self._tau)


def _int_or_none(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        return None


def credential_key(base_url: str, identity: str) -> str:
    """Registry key: API host + a digest of the credential (so secrets never sit in the key)."""
    digest = hashlib.sha256(identity.encode()).hexdigest()[:16]
    return f"{base_url.rstrip('/').lower()}#{digest}"


_REGISTRY: dict[str, RateLimiter] = {}
_REGISTRY_LOCK = threading.Lock()


def limiter_for(key: str, per_minute: int, *, quota_reserve: int) -> RateLimiter:
    """The shared limiter of a credential; the latest configuration wins."""
    with _REGISTRY_LOCK:
        limiter = _REGISTRY.get(key)
        if limiter is None:
            limiter = _REGISTRY[key] = RateLimiter(per_minute, quota_reserve=quota_reserve)
        elif (limiter.per_minute, limiter.quota_reserve) != (per_minute, quota_reserve):
            limiter.configure(per_minute, quota_reserve=quota_reserve)
        return limiter


def clear_registry() -> None:
    """Forget every shared limiter (tests; a new process starts empty anyway)."""
    with _REGISTRY_LOCK:
        _REGISTRY.clear()
