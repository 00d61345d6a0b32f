"""The retry policy — the only place HTTP failures are retried (docs/design.md rule 1).

Retried: 408, 5xx, connection errors and timeouts up to `max_retries` times, with exponential backoff and
jitter (constants below, capped), through `stamina`. A 429 is not a failure but the server asking us to
wait: its `Retry-After` is honoured by pausing the credential's shared limiter (every thread using the
credential waits, not just the throttled one), and the request keeps waiting out 429s for up to
`throttle_wait_seconds` (a time budget, not a count), so a throttle storm delays an action instead of failing
it. No other 4xx is ever retried.

Writes (POST/PUT/PATCH/DELETE) are never duplicated: a write is repeated only when it certainly did
not reach the server (the connection could not be established, the token endpoint failed) or when the
server explicitly answered 429 or 503 (it refused the request without acting on it). After a read
timeout, a connection dropped mid-response or any other 5xx the write may or may not have happened,
so the error is raised and the caller (governance) decides — e.g. by reading the device state back
before trying again.

Test switch: with `WS1AI_TESTING=1` in the environment, stamina's test mode is switched on with
backoff sleeps at zero (attempt counts stay as configured). Server-mandated `Retry-After` pauses
still apply.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import stamina

from ws1ai.uem.errors import (
    UEMConnectionError,
    UEMError,
    UEMRateLimited,
    UEMRequestTimeout,
    UEMServerError,
)

__all__ = [
    "BACKOFF_EXP_BASE",
    "BACKOFF_INITIAL_SECONDS",
    "BACKOFF_JITTER_SECONDS",
    "BACKOFF_MAX_SECONDS",
    "DEFAULT_RETRY_AFTER_SECONDS",
    "MAX_RETRY_AFTER_SECONDS",
    "REQUEST_ATTEMPT_CEILING",
    "WRITE_METHODS",
    "apply_testing_switch",
    "retry_attempts",
    "retry_hook",
]

BACKOFF_INITIAL_SECONDS = 0.5
BACKOFF_EXP_BASE = 2.0
BACKOFF_MAX_SECONDS = 30.0  # Omnissa's own Go SDK caps its backoff at 30 s
BACKOFF_JITTER_SECONDS = 1.0
# A 429 without Retry-After pauses the credential this long before anyone tries again.
DEFAULT_RETRY_AFTER_SECONDS = 2.0
# Longer server-mandated waits are not slept through: the error is raised and the caller decides.
MAX_RETRY_AFTER_SECONDS = 120.0
# Larger than any configured attempt count; with cap=True stamina keeps each call's own attempt count.
_TESTING_ATTEMPT_CAP = 1_000
# stamina's own attempt ceiling for a UEM request: the hook decides (failure count, 429 time budget), this
# only stops a runaway loop.
REQUEST_ATTEMPT_CEILING = 1_000

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Statuses with which the server says it did not act on the request, so repeating a write is safe.
_WRITE_SAFE_STATUSES = frozenset({429, 503})


def retry_hook(
    method: str,
    *,
    max_retries: int,
    throttle_wait_seconds: float,
    clock: Callable[[], float] = time.monotonic,
) -> Callable[[BaseException], bool | float]:
    """stamina `on` hook for one request: False = raise, True = exponential backoff, float = sleep.

    Holds the request's own retry state: failures count against `max_retries`, 429s against the time budget.
    """
    is_write = method.upper() in WRITE_METHODS
    started = clock()
    failures = 0

    def hook(exc: BaseException) -> bool | float:
        nonlocal failures
        if not isinstance(exc, UEMError):
            return False
        if isinstance(exc, UEMRateLimited):
            if exc.retry_after is not None and exc.retry_after > MAX_RETRY_AFTER_SECONDS:
                return False
            # The shared limiter already holds every caller until Retry-After has passed.
            return 0.0 if clock() - started < throttle_wait_seconds else False
        failures += 1
        if failures > max_retries:
            return False
        if isinstance(exc, UEMServerError | UEMRequestTimeout):
            return not (is_write and exc.sent and exc.status not in _WRITE_SAFE_STATUSES)
        if isinstance(exc, UEMConnectionError):
            return not (is_write and exc.sent)
        return False

    return hook


def retry_attempts(on: Callable[[BaseException], bool | float], attempts: int) -> Iterator[Any]:
    """The one backoff schedule (the constants above) for every HTTP caller: UEM transport and connectors."""
    return iter(
        stamina.retry_context(
            on=on,
            attempts=attempts,
            timeout=None,
            wait_initial=BACKOFF_INITIAL_SECONDS,
            wait_max=BACKOFF_MAX_SECONDS,
            wait_jitter=BACKOFF_JITTER_SECONDS,
            wait_exp_base=BACKOFF_EXP_BASE,
        )
    )


def apply_testing_switch() -> None:
    """Turn stamina's backoff off when `WS1AI_TESTING=1` (set by tests/conftest.py)."""
    if os.environ.get("WS1AI_TESTING") == "1" and not stamina.is_testing():
        stamina.set_testing(True, attempts=_TESTING_ATTEMPT_CAP, cap=True)
