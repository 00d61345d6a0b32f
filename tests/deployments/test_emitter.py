"""The forwarder retries a failing events POST on the project's one retry schedule (stamina, via
ws1ai.uem.retry), then leaves the events spooled for the outage backoff."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import stamina.instrumentation
from fastapi import FastAPI, Response
from stamina.instrumentation import RetryDetails

from deployments.deadletters import DeadLetters
from deployments.emitter import PrefectForwarder
from deployments.store import EventStore
from ws1ai.sandbox.server import serve_in_background


@pytest.fixture
def retries() -> Iterator[list[RetryDetails]]:
    """Every retry stamina schedules while the test runs."""
    seen: list[RetryDetails] = []
    previous = stamina.instrumentation.get_on_retry_hooks()

    def hook(details: RetryDetails) -> None:
        seen.append(details)

    stamina.instrumentation.set_on_retry_hooks([hook])
    yield seen
    stamina.instrumentation.set_on_retry_hooks(previous)


def test_a_failing_prefect_is_retried_on_the_shared_schedule_then_spooled(
    tmp_path: Path, retries: list[RetryDetails]
) -> None:
    posts: list[int] = []
    down = FastAPI()

    @down.post("/api/events")
    def unavailable() -> Response:
        posts.append(1)
        return Response(status_code=503)

    store = EventStore(tmp_path / "outbox.sqlite3")
    assert store.accept("k1", {"id": "e1", "event": "ws1.device.event"})
    with serve_in_background(down) as url:
        forwarder = PrefectForwarder(
            f"{url}/api", store=store, dead_letters=DeadLetters(tmp_path / "dl"), attempts=3
        )
        try:
            assert forwarder.replay_now(timeout=30) == 1  # still pending: spooled for later
        finally:
            forwarder.close()
    assert len(posts) >= 3 and len(posts) % 3 == 0  # whole rounds of three quick tries
    mine = [r for r in retries if type(r.caused_by).__name__ == "_Unavailable"]
    assert [r.retry_num for r in mine[:2]] == [1, 2]  # the two waits between three tries are stamina's
    assert not forwarder.prefect_reachable and forwarder.spooled == 1
    store.close()
