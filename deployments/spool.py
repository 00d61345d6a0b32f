"""Two directories of JSON files, so nothing the receiver accepted or refused is silently lost.

- the **spool** holds Prefect events that Prefect did not accept yet (server down, 5xx); they are replayed
  in file order and deleted once Prefect took them;
- the **dead letters** hold request bodies that failed validation (and events Prefect refused as invalid),
  byte for byte, with the reason — an operator fixes the cause and re-POSTs them.

Files are written to a temporary name and renamed, so a crash never leaves a half-written file to replay.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["DeadLetters", "Spool"]


def _stamp() -> str:
    # Sortable (replay order = arrival order) and unique even for files written in the same microsecond.
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + uuid.uuid4().hex[:8]


def _write_atomic(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())  # the caller answers 2xx on the strength of this file existing
    os.replace(tmp, path)
    return path


class Spool:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def write(self, events: list[dict[str, Any]]) -> Path:
        return _write_atomic(self.directory / f"{_stamp()}.json", events)

    def files(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob("*.json"))

    def pending_events(self) -> int:
        return sum(len(self.read(p)) for p in self.files())

    @staticmethod
    def read(path: Path) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
        return events


class DeadLetters:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def write(self, *, endpoint: str, reason: str, body: bytes, content_type: str | None) -> Path:
        record: dict[str, Any] = {
            "received_at": datetime.now(UTC).isoformat(),
            "endpoint": endpoint,
            "reason": reason,
            "content_type": content_type,
        }
        try:
            record["body"] = body.decode("utf-8")
        except UnicodeDecodeError:  # keep undecodable bytes exactly, for replay
            record["body_base64"] = base64.b64encode(body).decode("ascii")
        return _write_atomic(self.directory / f"{_stamp()}.json", record)

    def files(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob("*.json"))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for path in self.files():
            record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            yield record
