"""The one polling helper for tests that wait on something asynchronous (events persisted by Prefect's
background service, a server coming up, a run reaching a state).

`wait_for` returns the last value seen whether or not the condition came true, so the test's own assertion
on it says what was wrong (instead of a bare "timed out"); the deadline only bounds the wait, it is never
what a test asserts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["wait_for"]

T = TypeVar("T")


def wait_for(
    probe: Callable[[], T],
    until: Callable[[T], object] = bool,
    *,
    timeout: float = 30.0,
    interval: float = 0.2,
) -> T:
    """Call `probe` until `until(value)` is true or `timeout` seconds passed; the last value either way."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if until(value) or time.monotonic() >= deadline:
            return value
        time.sleep(interval)
