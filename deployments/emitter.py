"""Send Prefect events to `POST {PREFECT_API_URL}/events` in batches, from one background thread.

Request handlers hand over an event and wait for its outcome ("emitted", "spooled" or "dead-lettered"), so
a 2xx to UEM always means the event is in Prefect or on disk. Batching is group commit: while one POST is in
flight, newly arrived events queue up and leave together in the next POST (up to `batch_size`), so a quiet
receiver adds no delay and a busy one makes few requests. One thread also keeps events in arrival order.

Plain HTTP (httpx, keep-alive) rather than `emit_event`: that client opens a websocket per process and
cannot tell the caller whether the server took the event, which is exactly what the spool decision needs.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from deployments.spool import DeadLetters, Spool

__all__ = ["Outcome", "PrefectEmitter"]

log = logging.getLogger(__name__)

Outcome = Literal["emitted", "spooled", "dead-lettered"]
_Result = Literal["ok", "retry-later", "invalid"]
BACKOFF_SECONDS = (0.1, 0.4, 1.0)  # short: UEM is waiting for our answer, and the spool is the real fallback
REPLAY_INTERVAL_SECONDS = 5.0  # after a success, retry the spool at most this often


@dataclass
class _Item:
    event: dict[str, Any]
    future: Future[Outcome] = field(default_factory=Future)


@dataclass
class _Replay:
    future: Future[int] = field(default_factory=Future)


_STOP = object()


class PrefectEmitter:
    def __init__(
        self,
        api_url: str,
        *,
        spool: Spool,
        dead_letters: DeadLetters,
        headers: dict[str, str] | None = None,
        batch_size: int = 50,
        timeout: float = 5.0,
        attempts: int = 3,
    ) -> None:
        self.url = api_url.rstrip("/") + "/events"
        self.spool, self.dead_letters = spool, dead_letters
        self.batch_size, self.attempts = batch_size, attempts
        self._client = httpx.Client(timeout=timeout, headers=headers or {})
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._last_replay = 0.0
        # Written by the worker thread only; readers (metrics) tolerate a momentarily stale value.
        self.emitted = self.spooled = self.replayed = self.dead_lettered = self.posts = 0

    # --- called from request handlers -------------------------------------------------------------------
    def submit(self, event: dict[str, Any]) -> Future[Outcome]:
        item = _Item(event)
        self._ensure_started()
        self._queue.put(item)
        return item.future

    async def emit(self, event: dict[str, Any]) -> Outcome:
        return await asyncio.wrap_future(self.submit(event))

    def request_replay(self) -> Future[int]:
        """Replay the spool on the worker thread (keeps order with live events); resolves to events sent."""
        job = _Replay()
        self._ensure_started()
        self._queue.put(job)
        return job.future

    def close(self, timeout: float = 10.0) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout)
        self._client.close()

    # --- worker thread ----------------------------------------------------------------------------------
    def _ensure_started(self) -> None:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="ws1ai-webhook-emitter", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            if isinstance(first, _Replay):
                self._replay_job(first)
                continue
            batch: list[_Item] = [first]
            deferred: list[Any] = []
            while len(batch) < self.batch_size:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if isinstance(nxt, _Item):
                    batch.append(nxt)
                else:
                    deferred.append(nxt)
                    break
            delivered = self._deliver(batch)
            for control in deferred:
                if control is _STOP:
                    return
                self._replay_job(control)
            # Prefect took a batch, so it is back: drain what was spooled while it was not (rate-limited,
            # and never while it is down, where each attempt would stall live events for the backoff).
            if delivered and time.monotonic() - self._last_replay > REPLAY_INTERVAL_SECONDS:
                self._last_replay = time.monotonic()
                if self.spool.files():
                    self._replay()

    def _deliver(self, batch: list[_Item]) -> bool:
        """Send one batch and resolve its futures; True if Prefect answered (took or refused it)."""
        events = [item.event for item in batch]
        outcomes: list[Outcome]
        result = self._post(events)
        if result == "ok":
            self.emitted += len(events)
            outcomes = ["emitted"] * len(events)
        elif result == "invalid" and len(events) > 1:
            # One bad event must not take its batch-mates down with it: send them one by one.
            outcomes = [self._deliver_one(e) for e in events]
        elif result == "invalid":
            outcomes = [self._deliver_one(events[0], already_invalid=True)]
        else:
            self._spool(events)
            outcomes = ["spooled"] * len(events)
        for item, outcome in zip(batch, outcomes, strict=True):
            item.future.set_result(outcome)
        return result != "retry-later"

    def _deliver_one(self, event: dict[str, Any], *, already_invalid: bool = False) -> Outcome:
        result = "invalid" if already_invalid else self._post([event])
        if result == "ok":
            self.emitted += 1
            return "emitted"
        if result == "invalid":
            self._dead_letter([event], "Prefect refused the event as invalid")
            return "dead-lettered"
        self._spool([event])
        return "spooled"

    def _spool(self, events: list[dict[str, Any]]) -> None:
        self.spool.write(events)
        self.spooled += len(events)

    def _dead_letter(self, events: list[dict[str, Any]], reason: str) -> None:
        import json  # local: only this rare path serialises by hand

        body = json.dumps(events).encode()
        self.dead_letters.write(endpoint=self.url, reason=reason, body=body, content_type="application/json")
        self.dead_lettered += len(events)

    def _post(self, events: list[dict[str, Any]]) -> _Result:
        for attempt in range(self.attempts):
            try:
                resp = self._client.post(self.url, json=events)
                self.posts += 1
                if resp.status_code < 300:
                    return "ok"
                if resp.status_code in (400, 422):
                    log.error("Prefect refused %d event(s): %s", len(events), resp.text[:500])
                    return "invalid"
                log.warning("Prefect answered %d to an events POST (try %d)", resp.status_code, attempt + 1)
            except httpx.HTTPError as exc:  # connection refused/reset, timeout: Prefect down or restarting
                log.warning("events POST failed (try %d): %s", attempt + 1, type(exc).__name__)
            if attempt + 1 < self.attempts:
                time.sleep(BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS) - 1)])
        return "retry-later"

    def _replay_job(self, job: _Replay) -> None:
        try:
            job.future.set_result(self._replay())
        except Exception as exc:  # report to the caller instead of killing the worker thread
            job.future.set_exception(exc)

    def _replay(self) -> int:
        self._last_replay = time.monotonic()
        sent = 0
        for path in self.spool.files():
            events = self.spool.read(path)
            result = self._post(events)
            if result == "retry-later":
                break  # still down: keep this file and every later one, in order
            if result == "invalid":
                self._dead_letter(events, "Prefect refused spooled events as invalid")
            else:
                sent += len(events)
                self.emitted += len(events)
            path.unlink()
        self.replayed += sent
        return sent
