"""`WS1_SHARED_RATE_LIMIT`: several processes draw UEM calls from one Prefect global rate limit.

Each client here has its own in-process limiter (as two worker processes would), so only the Prefect limit
can hold them to a common budget. Real parts: a Prefect server (the session's test harness) and the sandbox.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

from tests.uem.conftest import make_settings, request_counts
from ws1ai.uem import RateLimiter, UEMClient, UEMSharedLimitError

pytestmark = pytest.mark.prefect


def _create_limit(limit: int, decay_per_second: float) -> str:
    name = f"ws1-uem-api-{uuid.uuid4().hex[:8]}"
    with get_client(sync_client=True) as client:
        client.create_global_concurrency_limit(
            GlobalConcurrencyLimitCreate(name=name, limit=limit, slot_decay_per_second=decay_per_second)
        )
    return name


def _worker(http: httpx.Client, name: str) -> UEMClient:
    """A client with its own limiter, like a separate worker process, sharing the Prefect limit."""
    client = UEMClient(make_settings(shared_rate_limit=name), http=http, limiter=RateLimiter(60_000))
    assert client.transport.shared_limit is not None
    client.transport.shared_limit.timeout_seconds = 3.0
    return client


def _sent(http: httpx.Client) -> int:
    counts: dict[str, Any] = request_counts(http)
    return int(counts["total"])


def test_two_workers_share_one_budget(prefect_server: str, http: httpx.Client) -> None:
    # Three slots and (practically) no decay: the tenant budget for this test is three calls in total.
    name = _create_limit(limit=3, decay_per_second=0.001)
    a, b = _worker(http, name), _worker(http, name)
    before = _sent(http)
    a.system.info()
    b.system.info()
    a.system.info()
    with pytest.raises(UEMSharedLimitError) as info:
        b.system.info()
    assert info.value.sent is False
    assert "other workers" in str(info.value)
    assert _sent(http) - before == 3  # the fourth call never left
    assert (a.transport.shared_limit.acquired, b.transport.shared_limit.acquired) == (2, 1)  # type: ignore[union-attr]


def test_missing_limit_is_an_error_before_sending(prefect_server: str, http: httpx.Client) -> None:
    client = _worker(http, f"no-such-limit-{uuid.uuid4().hex[:8]}")
    before = _sent(http)
    with pytest.raises(UEMSharedLimitError) as info:
        client.system.info()
    assert info.value.sent is False
    assert "prefect gcl create" in str(info.value)
    assert _sent(http) == before


def test_off_by_default(http: httpx.Client) -> None:
    assert UEMClient(make_settings(), http=http).transport.shared_limit is None
