"""Dead letters: a directory of JSON files, so nothing the receiver refused is silently dropped.

Each file holds one request body that failed validation (or events Prefect refused as invalid), byte for
byte, with the reason, endpoint and time — an operator fixes the cause and re-POSTs the body. (Events that
only wait for Prefect are not here: they stay in the outbox, deployments.store.)

Files are written to a temporary name and renamed, so a crash never leaves a half-written file behind.
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

__all__ = ["DeadLetters"]


def _stamp() -> str:
    # Sortable (arrival order) and unique even for files written in the same microsecond.
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + uuid.uuid4().hex[:8]


def _write_atomic(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())  # the 400 tells the sender "kept": make that true before answering
    os.replace(tmp, path)
    return path


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
