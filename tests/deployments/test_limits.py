"""The receiver's edges: oversize bodies are refused without being read into memory, dead letters keep no
personal data, and the published default secrets never listen beyond loopback.

No Prefect server is needed: nothing here is accepted, so the forwarder is pointed at a closed port.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from typer.testing import CliRunner

from deployments.payloads import UEMEvent
from deployments.webhook import create_receiver, webhook_app
from deployments.webhook_config import SANDBOX_PASSWORD, WebhookSettings
from tests.deployments.conftest import basic, settings_for, uem_payload

CLOSED_API = "http://127.0.0.1:9/api"  # nothing listens: the forwarder just keeps (no) events spooled
LIMIT = 1_000_000
HUGE = 50 * 1024 * 1024
CHUNK = b"x" * 65_536  # one object yielded over and over: the sender itself holds no 50 MB


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/self/status")


def _reset_peak() -> None:
    """Start VmHWM (peak RSS) over from the current RSS, so the peak measures only what follows."""
    Path("/proc/self/clear_refs").write_text("5")


class _Body:
    """A request body streamed in CHUNKs, counting how many the receiver pulled."""

    def __init__(self, size: int) -> None:
        self.size, self.pulled = size, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.size // len(CHUNK)):
            self.pulled += 1
            yield CHUNK


def _post(app: FastAPI, body: _Body, headers: dict[str, str]) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as client:
            return await client.post("/webhooks/ws1", content=body, headers=headers)

    return asyncio.run(go())


@pytest.fixture
def app(tmp_path: Path) -> Iterator[FastAPI]:
    receiver = create_receiver(settings_for(CLOSED_API, tmp_path, max_body_bytes=LIMIT))
    yield receiver
    receiver.state.receiver.close()


def test_a_declared_oversize_body_is_refused_before_it_is_read(app: FastAPI, tmp_path: Path) -> None:
    body = _Body(HUGE)
    resp = _post(app, body, {**basic(), "Content-Length": str(HUGE), "Content-Type": "application/json"})
    assert resp.status_code == 413, resp.text
    assert f"{HUGE} bytes exceeds the {LIMIT}-byte limit" in resp.json()["error"]
    assert body.pulled == 0  # answered on the header alone
    assert not list(tmp_path.rglob("*.json"))  # nothing read, nothing kept


def test_a_chunked_oversize_body_is_cut_off_at_the_limit_without_growing_memory(
    app: FastAPI, tmp_path: Path
) -> None:
    headers = {**basic(), "Content-Type": "application/json"}  # no Content-Length: chunked
    warm = _Body(LIMIT + 2 * len(CHUNK))  # first request: imports and route set-up outside the measure
    assert _post(app, warm, headers).status_code == 413

    body = _Body(HUGE)
    before = _status_kb("VmRSS")
    _reset_peak()
    resp = _post(app, body, headers)
    grown_mb = (_status_kb("VmHWM") - before) / 1024

    assert resp.status_code == 413, resp.text
    assert "exceeds the 1000000-byte limit" in resp.json()["error"]
    assert body.pulled <= LIMIT // len(CHUNK) + 1  # stopped reading just past the limit
    assert grown_mb < 8, f"peak RSS grew {grown_mb:.1f} MB for a refused 50 MB body"


def test_a_dead_letter_keeps_the_replayable_ids_and_no_personal_data(app: FastAPI, tmp_path: Path) -> None:
    sent = uem_payload(EventTime="2022-01-16T09:13:59")  # zone-less: refused, kept
    raw = json.dumps(sent).encode()

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as client:
            return await client.post("/webhooks/ws1", content=raw, headers=basic())

    resp = asyncio.run(go())
    assert resp.status_code == 400, resp.text
    [kept] = (tmp_path / "dead-letter").glob("*.json")
    text = kept.read_text()
    for field in ("SerialNumber", "EnrollmentEmailAddress", "EnrollmentUserName", "DeviceFriendlyName",
                  "Udid", "DeviceIMEI", "PhoneNumber", "MACAddress", "AssetNumber", "EnrollmentUserUUID",
                  "OrganizationGroupName"):  # fmt: skip
        assert str(sent[field]) not in text, field
    record = json.loads(text)
    body = json.loads(record["body"])
    assert set(body) <= set(UEMEvent.REPLAY_FIELDS)
    assert {k: body[k] for k in ("EventId", "EventType", "DeviceId", "EventTime", "DeviceUUID")} == {
        k: sent[k] for k in ("EventId", "EventType", "DeviceId", "EventTime", "DeviceUUID")
    }
    assert record["size"] == len(raw)


def test_the_published_default_password_never_listens_beyond_loopback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no project .env in the way
    for name in ("WS1AI_WEBHOOK_PASSWORD", "WS1AI_WEBHOOK_HOST", "HRIS_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(webhook_app, ["serve", "--host", "0.0.0.0", "--port", "1"])
    assert result.exit_code == 2, result.output
    [line] = [x for x in result.output.splitlines() if x.strip()]
    assert line.startswith("error: refusing to listen on 0.0.0.0: WS1AI_WEBHOOK_PASSWORD")
    assert "Traceback" not in result.output

    default = WebhookSettings(_env_file=None)
    assert default.password.get_secret_value() == SANDBOX_PASSWORD
    assert default.exposure_problem("127.0.0.1", "own-key") is None
    assert default.exposure_problem("localhost", "sandbox-hris-key") is None
    assert default.exposure_problem("::1", "own-key") is None
    assert default.exposure_problem("10.1.2.3", "own-key") is not None
    own = WebhookSettings(_env_file=None, password=SecretStr("a-secret-of-our-own"))
    assert own.exposure_problem("0.0.0.0", "own-key") is None
    assert "HRIS_API_KEY" in (own.exposure_problem("0.0.0.0", "sandbox-hris-key") or "")
