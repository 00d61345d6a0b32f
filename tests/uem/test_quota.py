"""The client stops before the daily quota falls below the reserve — the tenant never has to refuse it."""

from __future__ import annotations

import httpx
import pytest

from tests.uem.conftest import make_settings, request_counts, sandbox_settings
from ws1ai.uem import UEMClient, UEMQuotaExhausted, UEMRateLimited
from ws1ai.uem.ratelimit import clear_registry


def test_sweep_stops_at_the_reserve(http: httpx.Client) -> None:
    sandbox_settings(http, daily_quota=30)
    with UEMClient(make_settings(daily_quota_reserve=10), http=http) as uem:
        with pytest.raises(UEMQuotaExhausted) as info:
            for _ in uem.devices.iter_search(page_size=10):
                pass
        assert info.value.reserve == 10
        assert info.value.remaining == 10
        assert uem.stats.requests == 20
    counts = request_counts(http)
    assert counts["quota_429"] == 0
    assert counts["total"] == 20


def test_tenant_side_quota_exhaustion_is_raised_not_slept_through(http: httpx.Client) -> None:
    """A process that has not seen the quota headers yet meets the tenant's 429 with a Retry-After of hours:
    it is raised to the caller, and the shared limiter is not frozen for the rest of the day."""
    sandbox_settings(http, daily_quota=2)
    with UEMClient(make_settings(), http=http) as other_process:
        other_process.devices.search(page_size=1)
        other_process.devices.search(page_size=1)
    clear_registry()  # a fresh process: no quota knowledge
    with UEMClient(make_settings(), http=http) as uem:
        with pytest.raises(UEMRateLimited) as info:
            uem.devices.search(page_size=1)
        assert info.value.retry_after is not None and info.value.retry_after > 3600
        assert uem.stats.requests == 1  # not retried
        assert uem.limiter.stats.paused_seconds == 0
    assert request_counts(http)["quota_429"] == 1
