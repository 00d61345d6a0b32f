"""The client stops before the daily quota falls below the reserve — the tenant never has to refuse it."""

from __future__ import annotations

import httpx
import pytest

from tests.uem.conftest import make_settings, request_counts, sandbox_settings
from ws1ai.uem import UEMClient, UEMQuotaExhausted


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
