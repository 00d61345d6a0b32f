"""Cross-process request budget: every UEM call takes one slot of a Prefect global concurrency limit.

The in-process `RateLimiter` paces the threads of one flow run. Several workers running flows against the
same tenant share the tenant's per-minute API budget, and only something outside the processes can split
it. Prefect already has that: a global concurrency limit with a slot decay is a server-side token bucket
(`limit` = burst, `slot_decay_per_second` = sustained rate). With `WS1_SHARED_RATE_LIMIT=<name>` each request
takes one slot before it is sent, so all workers together stay within the budget however many run.

Create the limit once per tenant, e.g. for 150 calls/minute:

    prefect gcl create ws1-uem-api --limit 5 --slot-decay-per-second 2.5

A missing or inactive limit is an error, not a silent fallback to "no limit": the operator asked for a
shared budget, and running without it could throttle the tenant for every other integration.
"""

from __future__ import annotations

from ws1ai.uem.errors import UEMSharedLimitError

__all__ = ["PrefectRateLimit"]


class PrefectRateLimit:
    """Take one slot of the named Prefect rate limit per request (blocking until the server grants it)."""

    def __init__(self, name: str, *, timeout_seconds: float | None = 300.0) -> None:
        self.name = name
        self.timeout_seconds = timeout_seconds
        self.acquired = 0

    def acquire(self) -> None:
        # Imported here: the UEM client is used without Prefect installed-and-configured (CLI, benchmarks),
        # and only this opt-in path needs it.
        from prefect.concurrency._asyncio import ConcurrencySlotAcquisitionError
        from prefect.concurrency.sync import rate_limit

        try:
            rate_limit(self.name, occupy=1, timeout_seconds=self.timeout_seconds, strict=True)
        except TimeoutError as exc:
            raise UEMSharedLimitError(
                f"no slot of Prefect rate limit {self.name!r} within {self.timeout_seconds} s "
                "(nothing was sent): other workers are using the shared UEM budget"
            ) from exc
        except (ConcurrencySlotAcquisitionError, ValueError) as exc:
            # strict=True: a missing limit raises instead of passing silently; a limit without slot decay
            # is a concurrency limit, not a rate limit.
            raise UEMSharedLimitError(
                f"Prefect rate limit {self.name!r} is missing or has no slot decay ({exc}); "
                "nothing was sent. "
                f"Create it with: prefect gcl create {self.name} --limit 5 --slot-decay-per-second 2.5 "
                "(decay = the tenant's calls per second)"
            ) from exc
        self.acquired += 1
