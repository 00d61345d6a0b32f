"""Paging over UEM search endpoints.

v1 searches take `page` (0-based) + `pagesize` (max 500; larger values are clamped by the server) and answer
`{"<Items>": [...], "Page", "PageSize", "Total"}`, or HTTP 204 with an empty body when nothing matches. Newer
(v2+) searches use `page`/`page_size` and `page`/`page_size`/`total`. Real clients stop when
`(page + 1) * pagesize >= Total` (docs/uem-api.md#paging); we also stop on an empty page, so a shrinking
result set cannot loop forever.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from itertools import islice
from typing import Generic, TypeVar

__all__ = [
    "MAX_PAGE_SIZE",
    "Page",
    "PageStyle",
    "iter_items",
    "iter_pages",
    "iter_pages_parallel",
]

T = TypeVar("T")

MAX_PAGE_SIZE = 500


class PageStyle(Enum):
    """Query parameter names of one paging dialect."""

    V1 = ("page", "pagesize")
    SNAKE = ("page", "page_size")

    def params(self, page: int, page_size: int) -> dict[str, int]:
        page_key, size_key = self.value
        return {page_key: page, size_key: page_size}


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of results. `total` is the server's count of all matches (0 for a 204)."""

    items: list[T]
    page: int
    page_size: int
    total: int
    raw_extra: dict[str, object] = field(default_factory=dict)

    @property
    def is_last(self) -> bool:
        return not self.items or (self.page + 1) * self.page_size >= self.total

    @classmethod
    def empty(cls, page: int, page_size: int) -> Page[T]:
        return cls(items=[], page=page, page_size=page_size, total=0)


def clamp_page_size(page_size: int) -> int:
    if page_size < 1:
        raise ValueError("page_size must be >= 1")
    return min(page_size, MAX_PAGE_SIZE)


def iter_pages(
    fetch: Callable[[int, int], Page[T]],
    *,
    page_size: int = MAX_PAGE_SIZE,
    start_page: int = 0,
    max_pages: int | None = None,
) -> Iterator[Page[T]]:
    """Pages in order, one request each, until the server's `Total` is reached."""
    size = clamp_page_size(page_size)
    page_no = start_page
    fetched = 0
    while max_pages is None or fetched < max_pages:
        page = fetch(page_no, size)
        fetched += 1
        if page.items:
            yield page
        if page.is_last:
            return
        page_no += 1


def iter_pages_parallel(
    fetch: Callable[[int, int], Page[T]],
    *,
    page_size: int = MAX_PAGE_SIZE,
    workers: int = 4,
) -> Iterator[Page[T]]:
    """Pages in order, fetched `workers` at a time once page 0 has told us `Total`.

    The shared rate limiter still paces every request; concurrency only hides response latency so a sweep can
    run at the configured rate instead of at one request per round trip.
    """
    size = clamp_page_size(page_size)
    first = fetch(0, size)
    if first.items:
        yield first
    if first.is_last:
        return
    effective = first.page_size or size
    remaining = iter(range(1, (first.total - 1) // effective + 1))
    # A bounded window of requests in flight, yielded in page order. On an error (or when the consumer stops
    # early) the queued requests are cancelled, so a failed sweep does not keep spending quota.
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="uem-page") as pool:
        pending: deque[Future[Page[T]]] = deque(
            pool.submit(fetch, n, size) for n in islice(remaining, max(1, workers) * 2)
        )
        try:
            while pending:
                page = pending.popleft().result()
                following = next(remaining, None)
                if following is not None:
                    pending.append(pool.submit(fetch, following, size))
                if page.items:
                    yield page
        finally:
            for future in pending:
                future.cancel()


def iter_items(pages: Iterator[Page[T]]) -> Iterator[T]:
    for page in pages:
        yield from page.items
