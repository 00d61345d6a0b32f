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

__all__ = ["RESEND_HEADER", "DeadLetters"]

RESEND_HEADER = "X-WS1AI-Resend"  # marks a resend, so a still-bad body is not dead-lettered twice


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

    def resend(self, base_url: str, headers: dict[str, dict[str, str]]) -> tuple[int, int]:
        """POST each kept body again to `base_url` + its endpoint (after the cause was fixed).

        `headers` maps an endpoint to its auth headers. A body the receiver now takes (2xx) moves to
        `resent/`, kept for the record; anything else stays. Returns (resent, still failing).
        """
        import httpx  # local: only the operator's resend needs a client here

        resent = failing = 0
        with httpx.Client(timeout=30) as client:
            for path in self.files():
                record = json.loads(path.read_text(encoding="utf-8"))
                endpoint = str(record["endpoint"])
                if endpoint not in headers:  # e.g. events Prefect refused: a code fix, not a resend
                    failing += 1
                    continue
                body = (
                    record["body"].encode() if "body" in record else base64.b64decode(record["body_base64"])
                )
                content_type = record.get("content_type") or "application/json"
                resp = client.post(
                    base_url.rstrip("/") + endpoint,
                    content=body,
                    headers={**headers[endpoint], "Content-Type": content_type, RESEND_HEADER: path.name},
                )
                if resp.is_success:
                    (self.directory / "resent").mkdir(exist_ok=True)
                    os.replace(path, self.directory / "resent" / path.name)
                    resent += 1
                else:
                    failing += 1
        return resent, failing
