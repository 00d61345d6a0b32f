"""Paging across many pages, 204 = no results, v1 and v3 dialects, page-size clamp."""

from __future__ import annotations

import math

from tests.uem.conftest import FLEET_DEVICES
from ws1ai.uem import MAX_PAGE_SIZE, UEMClient


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
