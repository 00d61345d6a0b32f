"""Paging across many pages, 204 = no results, v1 and v3 dialects, page-size clamp."""

from __future__ import annotations

import math

import httpx
import pytest

from tests.uem.conftest import FLEET_DEVICES, inject_fault, request_counts
from ws1ai.uem import MAX_PAGE_SIZE, UEMBadRequest, UEMClient


def test_sweep_across_many_pages_sees_every_device_once(uem: UEMClient) -> None:
    pages = list(uem.devices.search_pages(page_size=100))
    ids = [d.device_id for page in pages for d in page.items]
    total = pages[0].total
    assert total == FLEET_DEVICES
    assert len(pages) == math.ceil(total / 100)
    assert [p.page for p in pages] == list(range(len(pages)))
    assert len(ids) == len(set(ids)) == total
    assert uem.stats.requests == len(pages)  # stops on Total: no extra empty-page request


def test_parallel_sweep_returns_the_same_devices_in_order(uem: UEMClient) -> None:
    sequential = [d.device_id for d in uem.devices.iter_search(page_size=250)]
    parallel = [d.device_id for d in uem.devices.iter_search(page_size=250, workers=4)]
    assert parallel == sequential


def test_no_match_is_204_and_an_empty_page(uem: UEMClient) -> None:
    page = uem.devices.search(user="no-such-user-anywhere")
    assert page.items == [] and page.total == 0 and page.is_last
    assert list(uem.devices.iter_search(user="no-such-user-anywhere")) == []
    response = uem.transport.request("GET", "/mdm/devices/search", params={"user": "no-such-user-anywhere"})
    assert response.status_code == 204 and response.content == b""


def test_page_size_is_clamped_to_500(uem: UEMClient) -> None:
    page = uem.devices.search(page_size=5000)
    assert page.page_size == MAX_PAGE_SIZE
    assert len(page.items) == MAX_PAGE_SIZE


def test_filters_reach_the_server(uem: UEMClient) -> None:
    apple = list(uem.devices.iter_search(platform="Apple"))
    assert apple and all(d.platform == "Apple" for d in apple)


def test_v3_search_uses_snake_case_paging(uem: UEMClient) -> None:
    first = uem.devices.search_v3(page=0, page_size=400)
    assert first.total == FLEET_DEVICES and len(first.items) == 400
    every = list(uem.devices.iter_search_v3(page_size=400))
    assert len({d.uuid for d in every}) == FLEET_DEVICES


def test_parallel_sweep_stops_sending_after_an_error(uem: UEMClient, http: httpx.Client) -> None:
    # Faults fire in order: page 0 passes through the no-op one, the next request gets the 400.
    inject_fault(http, route="/api/mdm/devices/search", kind="latency", latency_seconds=0, count=1)
    inject_fault(http, route="/api/mdm/devices/search", kind="5xx", status=400, count=1)
    workers = 2
    with pytest.raises(UEMBadRequest):
        for _ in uem.devices.iter_search(page_size=10, workers=workers):
            pass
    # 120 pages exist; only page 0 and one window of queued pages were ever sent.
    assert uem.stats.requests <= 1 + 2 * workers + 1
    assert request_counts(http)["faults_served"] == 2
