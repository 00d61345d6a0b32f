"""Bounded memory of delivered events, so a re-sent UEM notification is acknowledged but emitted once.

An LRU in memory answers the common case (a retry seconds later); an optional sqlite file keeps the keys
across receiver restarts. Both are bounded: the oldest keys are forgotten first. Forgetting is safe-ish by
construction — a re-emitted event reuses its deterministic id, which Prefect itself ignores.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import OrderedDict
from pathlib import Path

__all__ = ["DedupStore"]

_PRUNE_EVERY = 1000  # inserts between sqlite prunes: pruning per insert would double the write cost


class DedupStore:
    def __init__(self, capacity: int = 200_000, path: Path | None = None) -> None:
        self.capacity = capacity
        self._memory: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._inserts = 0
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Handlers and the replay thread share it; the lock above serialises every use.
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes, cheap
            self._db.execute("CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, at REAL NOT NULL)")

    def add(self, key: str) -> bool:
        """Remember `key`; True if it is new (emit it), False if it was seen before (a duplicate)."""
        with self._lock:
            if key in self._memory:
                self._memory.move_to_end(key)
                return False
            if self._db is not None:
                cur = self._db.execute(
                    "INSERT OR IGNORE INTO seen (key, at) VALUES (?, ?)", (key, time.time())
                )
                if cur.rowcount == 0:
                    self._remember(key)
                    return False
                self._inserts += 1
                if self._inserts % _PRUNE_EVERY == 0:
                    self._prune()
            self._remember(key)
            return True

    def forget(self, key: str) -> None:
        """Undo `add` when the event could not be accepted at all, so UEM's retry is processed."""
        with self._lock:
            self._memory.pop(key, None)
            if self._db is not None:
                self._db.execute("DELETE FROM seen WHERE key = ?", (key,))

    def __len__(self) -> int:
        with self._lock:
            if self._db is not None:
                row = self._db.execute("SELECT COUNT(*) FROM seen").fetchone()
                return int(row[0])
            return len(self._memory)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def _remember(self, key: str) -> None:
        self._memory[key] = None
        if len(self._memory) > self.capacity:
            self._memory.popitem(last=False)

    def _prune(self) -> None:
        assert self._db is not None
        self._db.execute(
            "DELETE FROM seen WHERE rowid <= (SELECT MAX(rowid) FROM seen) - ?", (self.capacity,)
        )
