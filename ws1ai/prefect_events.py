"""Reading events back from Prefect's event store: one paging loop for every reader (audit, compliance)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prefect.events.filters import EventFilter
    from prefect.events.schemas.events import ReceivedEvent

__all__ = ["iter_events"]

PAGE_SIZE = 50  # the events API caps a page at 50


def iter_events(flt: EventFilter) -> Iterator[ReceivedEvent]:
    """Every event matching `flt`, following the API's next-page links."""
    from prefect import get_client

    with get_client(sync_client=True) as client:
        page = client.read_events(filter=flt, limit=PAGE_SIZE)
        while True:
            yield from page.events
            if page.next_page is None:
                return
            page = client.read_events_page(str(page.next_page))
