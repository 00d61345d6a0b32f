"""The receiver's durable memory: which events it has seen (dedup) and which still wait for Prefect (outbox).

One sqlite file, one transaction per accepted event: "remember the key" and "queue the Prefect event" commit
together, so a 2xx to UEM means the event is on disk — it survives a crash or a Prefect outage and is sent
later, in arrival order (write-ahead outbox). Answering only after Prefect itself took the event would tie
the receiver's throughput to Prefect's latency (concurrency / POST time); the outbox decouples them.

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

    def accept(self, key: str, event: dict[str, Any]) -> bool:
        """Remember `key` and queue `event`; False (nothing queued) if the key was seen before."""
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
