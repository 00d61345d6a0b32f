"""Dead letters: a directory of JSON files, so nothing the receiver refused is silently dropped.

Each file holds what can be replayed of one request body that failed validation — only the fields the
receiver maps to a Prefect event (ids, event type, statuses, times; `payloads.replay_fields`), never the
names, e-mail addresses, serials, IMEIs or phone numbers UEM also sends — or the events Prefect refused as
invalid (ids only already), with the reason, endpoint, size and time. An operator fixes the cause and
re-POSTs the kept body. A body that is no JSON object keeps nothing (`body` null): its sender must send it
again. (Events that only wait for Prefect are not here: they stay in the outbox, deployments.store.)

Files are written to a temporary name and renamed, so a crash never leaves a half-written file behind.
"""

from __future__ import annotations

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

    def write(
        self, *, endpoint: str, reason: str, body: dict[str, Any] | list[Any] | None, size: int
    ) -> Path:
        """Keep `body` — already reduced to what replay needs by the caller — with why it was refused."""
        record: dict[str, Any] = {
            "received_at": datetime.now(UTC).isoformat(),
            "endpoint": endpoint,
            "reason": reason,
            "size": size,  # of the refused body, bytes (what was kept is usually far less)
            "body": None if body is None else json.dumps(body, ensure_ascii=False),
        }
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
                # Events Prefect refused need a code fix, not a resend; a body that kept nothing (not JSON)
                # must come again from its sender.
                if endpoint not in headers or record.get("body") is None:
                    failing += 1
                    continue
                resp = client.post(
                    base_url.rstrip("/") + endpoint,
                    content=str(record["body"]).encode(),
                    headers={
                        **headers[endpoint],
                        "Content-Type": "application/json",
                        RESEND_HEADER: path.name,
                    },
                )
                if resp.is_success:
                    (self.directory / "resent").mkdir(exist_ok=True)
                    os.replace(path, self.directory / "resent" / path.name)
                    resent += 1
                else:
                    failing += 1
        return resent, failing
