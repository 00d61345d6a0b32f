"""Injected 5xx, 429 storms, timeouts and dropped connections: reads recover, writes are never duplicated.

Timeouts and drops need a real socket, so those tests talk to the sandbox on 127.0.0.1 through uvicorn.
The sandbox ledger (every write the tenant received) is the witness for "no duplicate writes".
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.uem.conftest import inject_fault, ledger, request_counts
from ws1ai.uem import UEMClient, UEMConnectionError, UEMServerError, UEMTimeout

COMMANDS_ROUTE = r"/api/mdm/devices/\d+/commands"


@pytest.fixture
def device_id(uem: UEMClient) -> int:
    first = uem.devices.search(page_size=1).items[0]
    assert first.device_id is not None
    return first.device_id


@pytest.fixture
def control(live_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_url) as client:
        yield client


def test_transient_503s_on_a_read_are_retried(http: httpx.Client, uem: UEMClient) -> None:
    inject_fault(http, route="/api/mdm/devices/search", kind="5xx", status=503, retry_after=0, count=2)
    page = uem.devices.search(page_size=5)
    assert len(page.items) == 5
    assert uem.stats.retries == 2


def test_429_retry_after_pauses_the_shared_limiter(http: httpx.Client, uem: UEMClient) -> None:
    inject_fault(http, route="/api/mdm/devices/search", kind="429", retry_after=1, count=1)
    assert uem.devices.search(page_size=5).items
    assert uem.stats.rate_limited == 1
    assert uem.limiter.stats.rate_limited == 1
    assert uem.limiter.stats.paused_seconds == pytest.approx(1.0, abs=0.05)  # exactly what the server asked


def test_503_on_a_write_is_retried_and_lands_once(http: httpx.Client, uem: UEMClient, device_id: int) -> None:
    inject_fault(http, route=COMMANDS_ROUTE, method="POST", kind="5xx", status=503, retry_after=0, count=2)
    uem.commands.sync(device_id)
    assert uem.stats.retries == 2
    assert len(ledger(http)) == 1


def test_429_on_a_write_is_retried_and_lands_once(http: httpx.Client, uem: UEMClient, device_id: int) -> None:
    inject_fault(http, route=COMMANDS_ROUTE, method="POST", kind="429", retry_after=0, count=3)
    uem.commands.lock(device_id)
    assert len(ledger(http)) == 1


def test_500_on_a_write_is_raised_not_repeated(http: httpx.Client, uem: UEMClient, device_id: int) -> None:
    inject_fault(http, route=COMMANDS_ROUTE, method="POST", kind="5xx", status=500, count=1)
    before = uem.stats.requests
    with pytest.raises(UEMServerError):
        uem.commands.sync(device_id)
    assert uem.stats.requests - before == 1
    assert ledger(http) == []
    # The caller decides; here it simply tries again and the write lands exactly once.
    uem.commands.sync(device_id)
    assert len(ledger(http)) == 1


def test_read_timeout_on_a_read_is_retried(control: httpx.Client, live_uem: UEMClient) -> None:
    inject_fault(control, route="/api/mdm/devices/search", kind="latency", latency_seconds=1.5, count=1)
    assert live_uem.devices.search(page_size=5).items
    assert live_uem.stats.retries == 1


def test_read_timeout_on_a_write_is_not_repeated(
    control: httpx.Client, live_uem: UEMClient, device_id: int
) -> None:
    """The slow tenant still executes the command after the client gave up: retrying would run it twice."""
    inject_fault(control, route=COMMANDS_ROUTE, method="POST", kind="latency", latency_seconds=1.5, count=1)
    with pytest.raises(UEMTimeout) as info:
        live_uem.commands.soft_reset(device_id)
    assert info.value.sent is True
    assert live_uem.stats.requests == 1  # not resent
    # Whether the slow tenant still executed it is its business (the sandbox drops requests whose client
    # went away); what matters is that it cannot have been executed twice.
    assert len(_wait_for_ledger(control, 1)) <= 1


def test_dropped_connection_on_a_read_is_recovered(control: httpx.Client, live_uem: UEMClient) -> None:
    inject_fault(control, route="/api/mdm/devices/search", kind="drop", count=2)
    assert live_uem.devices.search(page_size=5).items
    assert live_uem.stats.retries == 2


def test_dropped_connection_on_a_write_is_raised(
    control: httpx.Client, live_uem: UEMClient, device_id: int
) -> None:
    inject_fault(control, route=COMMANDS_ROUTE, method="POST", kind="drop", count=1)
    with pytest.raises(UEMConnectionError) as info:
        live_uem.commands.clear_passcode(device_id)
    assert info.value.sent is True
    assert live_uem.stats.requests == 1
    assert ledger(control) == []


def test_no_httpx_exception_escapes_a_drop_storm(control: httpx.Client, live_uem: UEMClient) -> None:
    inject_fault(control, route="/api/system/info", kind="drop", count=50)
    with pytest.raises(UEMConnectionError):
        live_uem.system.info()
    assert request_counts(control)["faults_served"] == live_uem.settings.max_retries + 1


def _wait_for_ledger(control: httpx.Client, n: int) -> list[dict[str, Any]]:
    """The delayed write lands after the client's timeout; poll briefly (bounded) for it."""
    import time

    deadline = time.monotonic() + 2.5
    entries = ledger(control)
    while len(entries) < n and time.monotonic() < deadline:
        time.sleep(0.1)
        entries = ledger(control)
    time.sleep(0.3)  # and make sure no second copy follows
    return ledger(control)
