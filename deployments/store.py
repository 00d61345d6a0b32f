"""The receiver's durable memory: which events it has seen (dedup) and which still wait for Prefect (outbox).

One sqlite file, one transaction per accepted event: "remember the key" and "queue the Prefect event" commit
together, so a 2xx to UEM means the event is on disk — it survives a crash or a Prefect outage and is sent
later, in arrival order (write-ahead outbox). Answering only after Prefect itself took the event would tie
the receiver's throughput to Prefect's latency (concurrency / POST time); the outbox decouples them.

The same file holds the coalescing buffer: the ids of devices that fell out of compliance and wait for their
window to close (deployments.emitter). A device is buffered in the transaction that accepts its event, so the
2xx covers it too; closing the window moves the whole buffer into the outbox as batch events in one
transaction, so a crash at any point either keeps a device in the buffer or has it queued, never neither
and never both. A device already in the buffer is not added again (one entry per window, first arrival order).

An LRU in memory answers the common duplicate (a re-send seconds later) without touching the file. Both are
bounded: the oldest keys are forgotten first — safe, since a re-emitted event keeps its deterministic id,
which Prefect itself ignores.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["EventStore"]

_PRUNE_EVERY = 1000  # accepted events between prunes of the key table: pruning per insert doubles the cost


class EventStore:
    def __init__(self, path: Path, capacity: int = 200_000) -> None:
        self.capacity = capacity
        self._memory: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()  # request handlers and the forwarder thread share one connection
        self._inserts = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL: a commit survives a process crash (what UEM's 2xx relies on); fsync per commit (FULL) would
        # also cover power loss at ~10x the cost per event.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, at REAL NOT NULL)")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, event TEXT NOT NULL)"
        )
        # `at` is wall-clock time: the window's start must survive a restart (a monotonic clock would not).
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS buffer (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
            " device_id INTEGER NOT NULL UNIQUE, at REAL NOT NULL)"
        )

    def accept(self, key: str, event: dict[str, Any], *, buffer_device: int | None = None) -> bool:
        """Remember `key` and queue `event` (and buffer `buffer_device` for the coalescing window, unless it
        is buffered already); False (nothing queued) if the key was seen before."""
        with self._lock:
            if key in self._memory:
                self._memory.move_to_end(key)
                return False
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                cur = db.execute("INSERT OR IGNORE INTO seen (key, at) VALUES (?, ?)", (key, time.time()))
                new = cur.rowcount == 1
                if new:
                    db.execute("INSERT INTO outbox (event) VALUES (?)", (json.dumps(event),))
                    if buffer_device is not None:
                        db.execute(
                            "INSERT OR IGNORE INTO buffer (device_id, at) VALUES (?, ?)",
                            (buffer_device, time.time()),
                        )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            self._remember(key)
            if new:
                self._inserts += 1
                if self._inserts % _PRUNE_EVERY == 0:
                    db.execute(
                        "DELETE FROM seen WHERE rowid <= (SELECT MAX(rowid) FROM seen) - ?", (self.capacity,)
                    )
            return new

    def pending(self, limit: int) -> list[tuple[int, dict[str, Any]]]:
        """The oldest queued events (sequence number, Prefect event)."""
        with self._lock:
            rows = self._db.execute("SELECT seq, event FROM outbox ORDER BY seq LIMIT ?", (limit,)).fetchall()
        return [(int(seq), json.loads(text)) for seq, text in rows]

    def done(self, seqs: list[int]) -> None:
        with self._lock:
            self._db.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in seqs])

    def pending_count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def count_after(self, seq: int) -> tuple[int, int]:
        """How many queued events have a sequence number above `seq`, and the highest one (or `seq`)."""
        with self._lock:
            row = self._db.execute("SELECT COUNT(*), MAX(seq) FROM outbox WHERE seq > ?", (seq,)).fetchone()
        return int(row[0]), int(row[1] if row[1] is not None else seq)

    def buffer_span(self) -> tuple[float, float, int] | None:
        """When the first and the latest buffered device arrived (epoch seconds) and how many wait; None when
        the buffer is empty."""
        with self._lock:
            row = self._db.execute("SELECT MIN(at), MAX(at), COUNT(*) FROM buffer").fetchone()
        return None if row[0] is None else (float(row[0]), float(row[1]), int(row[2]))

    def flush_buffer(self, make_events: Callable[[list[int], float], list[dict[str, Any]]]) -> int:
        """Move every buffered device into the outbox as `make_events(device_ids, window_started)`, in one
        transaction; returns how many devices moved (0: the buffer was empty)."""
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                rows = db.execute("SELECT seq, device_id, at FROM buffer ORDER BY seq").fetchall()
                if rows:
                    started = min(float(at) for _, _, at in rows)
                    events = make_events([int(device) for _, device, _ in rows], started)
                    queued = [(json.dumps(event),) for event in events]
                    db.executemany("INSERT INTO outbox (event) VALUES (?)", queued)
                    db.execute("DELETE FROM buffer WHERE seq <= ?", (int(rows[-1][0]),))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return len(rows)

    def seen_count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM seen").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _remember(self, key: str) -> None:
        self._memory[key] = None
        if len(self._memory) > self.capacity:
            self._memory.popitem(last=False)
