"""Forward the outbox to `POST {PREFECT_API_URL}/events` in batches, from one background thread.

Handlers only commit to the outbox (deployments.store) and wake this thread. It sends the oldest queued
events in one POST (up to `batch_size`): a quiet receiver sends each event at once, a busy one sends few,
large requests, and one thread keeps events in arrival order. When Prefect is unreachable the events stay
spooled in the outbox and are retried with growing backoff (capped; the same schedule as every HTTP caller,
ws1ai.uem.retry), or at once on `replay_now()` (the
`POST /webhooks/replay` endpoint); a restarted receiver drains what its predecessor left.

The same thread closes the coalescing window: once no new device joined the buffer (deployments.store) for
the quiet time, or the first one has waited the longest allowed, the whole buffer becomes batch events in the
outbox (one transaction) and is sent like any other event. Arrival times are stored, so after a crash the
restarted receiver closes the window on time (at once if it is already past); on `close()` the buffer is
flushed early and one last send is tried, so a graceful stop neither loses nor delays a device.

Plain HTTP (httpx, keep-alive) rather than `emit_event`: that client streams over a websocket and cannot
tell the caller whether the server took the event, which is what deleting it from the outbox needs.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Literal

import httpx

from deployments.deadletters import DeadLetters
from deployments.store import EventStore
from ws1ai.uem.retry import (
    BACKOFF_EXP_BASE,
    BACKOFF_INITIAL_SECONDS,
    BACKOFF_MAX_SECONDS,
    apply_testing_switch,
    retry_attempts,
)

__all__ = ["BatchMaker", "PrefectForwarder"]

log = logging.getLogger(__name__)

_Result = Literal["ok", "retry-later", "invalid"]
# Between drains while Prefect stays down: the one schedule's start and cap (ws1ai.uem.retry), doubling.
OUTAGE_BACKOFF_SECONDS = (BACKOFF_INITIAL_SECONDS, BACKOFF_MAX_SECONDS)
IDLE_WAKE_SECONDS = 5.0  # re-check the outbox even without a wake-up (cheap; covers a missed signal)
# (buffered device ids in arrival order, window start in epoch seconds) -> the batch events to queue
BatchMaker = Callable[[list[int], float], list[dict[str, Any]]]


class PrefectForwarder:
    def __init__(
        self,
        api_url: str,
        *,
        store: EventStore,
        dead_letters: DeadLetters,
        headers: dict[str, str] | None = None,
        batch_size: int = 50,
        timeout: float = 5.0,
        attempts: int = 3,
        coalesce_seconds: tuple[float, float] = (0.0, 0.0),
        batch_events: BatchMaker | None = None,
    ) -> None:
        """`coalesce_seconds`: (quiet time, longest wait) of the window; `batch_events` None: no buffer."""
        apply_testing_switch()  # tests: the quick tries' backoff sleeps are zero
        (self.quiet_seconds, self.max_seconds), self._batch_events = coalesce_seconds, batch_events
        self.batches = self.coalesced = 0  # windows closed / devices they carried (this process)
        self.url = api_url.rstrip("/") + "/events"
        self.store, self.dead_letters = store, dead_letters
        self.batch_size, self.attempts = batch_size, attempts
        self._client = httpx.Client(timeout=timeout, headers=headers or {})
        self._wake = threading.Event()
        self._idle = threading.Condition()
        self._stop = False
        self._outage_delay = 0.0
        # Written by the forwarder thread only; readers (metrics) tolerate a momentarily stale value.
        self.emitted = self.replayed = self.dead_lettered = self.posts = 0
        # What a previous run left in the outbox waited for Prefect too: it counts as spooled (once each;
        # `_spooled_upto` is the highest outbox sequence number already counted).
        self.spooled, self._spooled_upto = store.count_after(0)
        self.prefect_reachable = True
        self._busy = True  # draining (the first drain replays what a previous run left in the outbox)
        self._thread = threading.Thread(target=self._run, name="ws1ai-webhook-forwarder", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def replay_now(self, timeout: float = 60.0) -> int:
        """Retry the outbox now (skipping any backoff) and wait until it is empty or Prefect fails again.

        Returns how many events are still pending.
        """
        with self._idle:
            self._outage_delay = 0.0
            self._wake.set()
            self._idle.wait_for(lambda: not self._wake.is_set() and not self._busy, timeout)
        return self.store.pending_count()

    def close(self, timeout: float = 10.0) -> None:
        self._stop = True
        self._wake.set()
        self._thread.join(timeout)
        self._client.close()

    # --- forwarder thread -------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop:
            try:
                self._close_window(force=False)
                self._drain()
            except Exception:  # e.g. a sqlite error: the events stay queued; never let the thread die
                log.exception("forwarding the outbox failed; retrying after a pause")
                low, cap = OUTAGE_BACKOFF_SECONDS
                self._outage_delay = min(cap, max(low, self._outage_delay * BACKOFF_EXP_BASE))
            with self._idle:
                self._busy = False
                self._idle.notify_all()
            self._sleep()
            with self._idle:
                self._busy = True
                self._wake.clear()
        # Stopping: close the window now and try once to send it (what stays unsent is in the outbox).
        try:
            if self._close_window(force=True):
                self._drain(final=True)
        except Exception:
            log.exception("flushing the coalescing buffer on shutdown failed; it stays for the next start")

    def _close_window(self, *, force: bool) -> int:
        """Move the buffer into the outbox when its window is over (or `force`); devices moved."""
        wait = self._window_wait()
        if self._batch_events is None or wait is None or (wait > 0 and not force):
            return 0
        moved = self.store.flush_buffer(self._batch_events)
        if moved:
            self.batches += 1
            self.coalesced += moved
            log.info("coalescing window closed: %d device(s) in one batch", moved)
        return moved

    def _window_wait(self) -> float | None:
        """Seconds until the open window closes (0 if overdue), or None when nothing is buffered."""
        span = self.store.buffer_span() if self._batch_events is not None else None
        if span is None:
            return None
        first, latest, _ = span
        closes = min(latest + self.quiet_seconds, first + self.max_seconds)
        return max(0.0, closes - time.time())

    def _sleep(self) -> None:
        wait = self._outage_delay or IDLE_WAKE_SECONDS
        window = self._window_wait()
        if window is not None and not self._outage_delay:  # in an outage the batch waits with the rest
            wait = min(wait, window)
        deadline = time.monotonic() + wait
        while not self._stop:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._wake.wait(remaining):
                return
            with self._idle:
                if not self._outage_delay:
                    return
                # During an outage a new event waits for the next attempt with the others, so traffic
                # does not turn the backoff into a retry storm; replay_now() resets the delay first.
                self._wake.clear()

    def _drain(self, *, final: bool = False) -> None:
        while final or not self._stop:
            rows = self.store.pending(self.batch_size)
            if not rows:
                return
            result = self._post([event for _, event in rows])
            if result == "retry-later":
                self._note_outage()
                return
            was_down = not self.prefect_reachable
            self.prefect_reachable, self._outage_delay = True, 0.0
            if result == "invalid":
                self._send_singly(rows)  # one bad event must not hold back its batch-mates
                continue
            self.store.done([seq for seq, _ in rows])
            self.emitted += len(rows)
            self.replayed += sum(1 for seq, _ in rows if seq <= self._spooled_upto)
            if was_down:
                log.info("Prefect is reachable again; sending the spooled events")

    def _note_outage(self) -> None:
        if self.prefect_reachable:
            log.warning("Prefect unreachable at %s; events stay spooled in the outbox", self.url)
        self.prefect_reachable = False
        # This batch and everything queued behind it waits: count each event once as spooled.
        count, top = self.store.count_after(self._spooled_upto)
        self.spooled += count
        self._spooled_upto = max(self._spooled_upto, top)
        low, cap = OUTAGE_BACKOFF_SECONDS
        self._outage_delay = min(cap, max(low, self._outage_delay * BACKOFF_EXP_BASE))

    def _send_singly(self, rows: list[tuple[int, dict[str, Any]]]) -> None:
        for seq, event in rows:
            result = self._post([event]) if len(rows) > 1 else "invalid"
            if result == "retry-later":
                return  # left in the outbox, in order
            if result == "invalid":
                # The event is ids and statuses only (deployments.events), so it is kept whole.
                self.dead_letters.write(
                    endpoint=self.url, reason="Prefect refused the event as invalid", body=[event],
                    size=len(json.dumps([event])),
                )  # fmt: skip
                self.dead_lettered += 1
            else:
                self.emitted += 1
            self.store.done([seq])

    def _post(self, events: list[dict[str, Any]]) -> _Result:
        # Quick tries on the one retry schedule (ws1ai.uem.retry); repeating the POST is safe because event
        # ids are deterministic and Prefect keeps one event per id. Still failing: the outage backoff.
        try:
            for attempt in retry_attempts(lambda exc: isinstance(exc, _Unavailable), self.attempts):
                with attempt:
                    return self._post_once(events, attempt.num)
        except _Unavailable:
            return "retry-later"
        raise AssertionError("unreachable: stamina re-raises the last error")  # pragma: no cover

    def _post_once(self, events: list[dict[str, Any]], attempt: int) -> _Result:
        try:
            resp = self._client.post(self.url, json=events)
        except httpx.HTTPError as exc:  # connection refused/reset, timeout: Prefect down or restarting
            log.info("events POST failed (try %d): %s", attempt, type(exc).__name__)
            raise _Unavailable from None
        self.posts += 1
        if resp.status_code < 300:
            return "ok"
        if resp.status_code in (400, 422):
            log.error("Prefect refused %d event(s): %s", len(events), resp.text[:500])
            return "invalid"
        log.warning("Prefect answered %d to an events POST (try %d)", resp.status_code, attempt)
        raise _Unavailable


class _Unavailable(Exception):
    """Prefect did not take the batch (down, restarting, 5xx, 401…): try again later, keep it spooled."""
