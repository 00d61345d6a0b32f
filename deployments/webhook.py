"""Webhook receiver: Workspace ONE UEM event notifications (and HRIS changes) → Prefect events.

Prefect's webhooks are Cloud-only, so this small ASGI app is the edge the OSS server lacks. Per request:
authenticate (HTTP Basic as UEM sends it / `X-API-Key` for the HRIS; 401 and nothing else otherwise) →
refuse a body over the size limit (413, on its Content-Length or while reading, never buffering more) →
validate the real payload (400 naming the problem; its replayable ids go to the dead-letter directory) →
de-duplicate UEM's re-sends (200 "duplicate", nothing emitted) → commit the Prefect event to the on-disk
outbox (a device that fell out of compliance also joins the coalescing buffer, in the same commit) and answer
200 "accepted". A background thread forwards the outbox to Prefect in batches; while
Prefect is unreachable the events stay spooled there and are replayed (backoff, `POST /webhooks/replay`,
or the next start), so a 2xx never loses an event. Per-device events stay the audit feed; in addition, every
burst of devices falling out of compliance leaves as one `ws1.devices.compliance-changed` event once no new
one came for `WS1AI_WEBHOOK_COALESCE_SECONDS` (30 s; at most `..._COALESCE_MAX_SECONDS`, 120 s, after the
first), which starts one triage run for all of them (docs/scale-out.md#coalesced-triggers).

    ws1ai webhook serve --port 8780          # then point a UEM event notification at /webhooks/ws1
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import typer
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from deployments.deadletters import RESEND_HEADER, DeadLetters
from deployments.emitter import PrefectForwarder
from deployments.events import batch_events, coalesced_device, device_event, hris_event
from deployments.payloads import HRISChangeEvent, UEMEvent, describe_errors, replay_fields
from deployments.store import EventStore
from deployments.webhook_config import WebhookSettings
from ws1ai.settings import HRISSettings

__all__ = ["Receiver", "WebhookSettings", "create_receiver", "notification_model", "webhook_app"]

log = logging.getLogger(__name__)
UEM_PATH, HRIS_PATH = "/webhooks/ws1", "/webhooks/hris"


def _prefect_target() -> tuple[str | None, dict[str, str]]:
    """The active Prefect profile's API URL and auth header (OSS basic auth string or a Cloud key)."""
    from prefect.settings import get_current_settings

    api = get_current_settings().api
    headers: dict[str, str] = {}
    if api.auth_string is not None:
        token = base64.b64encode(api.auth_string.get_secret_value().encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    elif api.key is not None:
        headers["Authorization"] = f"Bearer {api.key.get_secret_value()}"
    return api.url, headers


async def _read_at_most(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it passes `limit` bytes (the rest is never read into memory)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _basic_matches(header: str | None, username: str, password: str) -> bool:
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, sep, pwd = base64.b64decode(token.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    # Both comparisons always run (no early exit) so timing says nothing about which half was wrong.
    user_ok = secrets.compare_digest(user.encode(), username.encode())
    pwd_ok = secrets.compare_digest(pwd.encode(), password.encode())
    return bool(sep) and user_ok and pwd_ok


class Receiver:
    """State behind the routes: store, forwarder, dead letters, counters (`app.state.receiver`)."""

    def __init__(self, settings: WebhookSettings, hris: HRISSettings) -> None:
        self.settings, self.hris = settings, hris
        # An explicit URL still authenticates with the profile's PREFECT_API_AUTH_STRING (the stack's server
        # requires one): only the address is overridden.
        url, headers = _prefect_target()
        url = settings.prefect_api_url or url
        if not url:
            raise ValueError("no Prefect API URL: set PREFECT_API_URL or WS1AI_WEBHOOK_PREFECT_API_URL")
        self.dead_letters = DeadLetters(settings.dead_letters)
        self.store = EventStore(settings.database, settings.dedup_capacity)
        # Starts its thread now, so a restarted receiver drains what the last run left (even lifespan-less).
        self.forwarder = PrefectForwarder(
            url,
            store=self.store,
            dead_letters=self.dead_letters,
            headers=headers,
            batch_size=settings.batch_size,
            timeout=settings.emit_timeout_seconds,
            attempts=settings.emit_attempts,
            coalesce_seconds=(settings.coalesce_seconds, settings.coalesce_max_seconds),
            batch_events=lambda ids, started: batch_events(
                settings.fleet,
                ids,
                window_started=started,
                window_seconds=round(time.time() - started, 3),
                max_devices=settings.coalesce_max_devices,
            ),
        )
        self.received = self.accepted = self.duplicates = self.unauthorized = self.malformed = 0

    def metrics(self) -> dict[str, int]:
        f = self.forwarder
        return {
            "received": self.received,  # every POST to a webhook endpoint, whatever became of it
            "accepted": self.accepted,  # new events committed to the outbox (answered 200 "accepted")
            "emitted": f.emitted,  # events Prefect took (including replayed ones)
            "duplicates": self.duplicates,
            "rejected": self.unauthorized + self.malformed,
            "spooled": f.spooled,  # events that waited in the outbox because Prefect was unreachable
            "unauthorized": self.unauthorized,
            "malformed": self.malformed,
            "replayed": f.replayed,  # spooled events later taken by Prefect
            "dead_lettered": f.dead_lettered,  # events Prefect refused as invalid (kept as dead letters)
            "pending": self.store.pending_count(),
            "prefect_posts": f.posts,
            "prefect_reachable": int(f.prefect_reachable),
            "buffered": self._buffered(),  # devices waiting for the coalescing window to close
            "batches": f.batches,  # windows closed into batch events (this process)
            "coalesced": f.coalesced,  # devices those windows carried
        }

    def _buffered(self) -> int:
        span = self.store.buffer_span()
        return 0 if span is None else span[2]

    def close(self) -> None:
        self.forwarder.close()
        self.store.close()

    def basic_ok(self, request: Request) -> bool:
        cfg = self.settings
        header = request.headers.get("authorization")
        return _basic_matches(header, cfg.username, cfg.password.get_secret_value())

    def unauthorized_response(self, scheme: str) -> JSONResponse:
        self.unauthorized += 1
        headers = {"WWW-Authenticate": 'Basic realm="ws1ai"'} if scheme == "basic" else {}
        return JSONResponse({"error": "unauthorized"}, status_code=401, headers=headers)

    async def parse(
        self, request: Request, model: type[UEMEvent] | type[HRISChangeEvent]
    ) -> UEMEvent | HRISChangeEvent | JSONResponse:
        """The validated payload, a 413 for a body over the limit (never read past it), or a 400 whose
        replayable fields were kept in the dead-letter directory."""
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                return self._reject(request, None, model, f"Content-Length {declared[:20]!r} is no size", 400)
            if int(declared) > limit:  # refused before a byte of the body is read
                return self._too_large(
                    request, f"body of {int(declared)} bytes exceeds the {limit}-byte limit"
                )
        body = await _read_at_most(request, limit)
        if body is None:  # chunked (no Content-Length) and longer than the limit: cut off there
            return self._too_large(request, f"body exceeds the {limit}-byte limit")
        try:
            return model.model_validate_json(body)
        except ValidationError as exc:
            return self._reject(
                request, body, model, f"invalid {model.__name__}: {describe_errors(exc)}", 400
            )

    def _too_large(self, request: Request, reason: str) -> JSONResponse:
        # No dead letter: nothing past the limit was read, and no UEM notification is that large.
        self.malformed += 1
        log.info("refused a %s body (413): %s", request.url.path, reason)
        # Connection: close, so the server does not read (and discard) the rest of the body to reuse it.
        return JSONResponse({"error": reason}, status_code=413, headers={"Connection": "close"})

    def _reject(
        self,
        request: Request,
        body: bytes | None,
        model: type[UEMEvent] | type[HRISChangeEvent],
        reason: str,
        status: int,
    ) -> JSONResponse:
        self.malformed += 1
        log.info("rejected a %s body (%d): %s", request.url.path, status, reason)
        if request.headers.get(RESEND_HEADER):  # a dead letter re-sent: its file is still kept, don't copy it
            return JSONResponse({"error": reason, "dead_letter": None}, status_code=status)
        path = self.dead_letters.write(
            endpoint=request.url.path,
            reason=reason,
            body=None if body is None else replay_fields(body, model.REPLAY_FIELDS),
            size=0 if body is None else len(body),
        )
        return JSONResponse({"error": reason, "dead_letter": path.name}, status_code=status)

    def accept(self, key: str, event: dict[str, Any]) -> JSONResponse:
        # A sqlite commit (sub-millisecond, WAL) on the event loop: cheaper than a thread hop per request.
        if not self.store.accept(key, event, buffer_device=coalesced_device(event)):
            self.duplicates += 1
            return JSONResponse({"status": "duplicate", "id": event["id"]})
        self.accepted += 1
        self.forwarder.wake()
        # 200 rather than 202: senders that only treat 200 as delivered would otherwise re-send forever.
        return JSONResponse({"status": "accepted", "event": event["event"], "id": event["id"]})


def create_receiver(settings: WebhookSettings | None = None, *, hris: HRISSettings | None = None) -> FastAPI:
    """The receiver app. Reads the Prefect API URL now (settings, else the active Prefect profile)."""
    receiver = Receiver(settings or WebhookSettings(), hris or HRISSettings())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        receiver.close()

    app = FastAPI(title="ws1ai webhook receiver", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.receiver = receiver

    @app.post(UEM_PATH)
    async def ws1_event(request: Request) -> JSONResponse:
        receiver.received += 1
        if not receiver.basic_ok(request):
            return receiver.unauthorized_response("basic")
        parsed = await receiver.parse(request, UEMEvent)
        if isinstance(parsed, JSONResponse):
            return parsed
        assert isinstance(parsed, UEMEvent)
        return receiver.accept(parsed.dedup_key, device_event(parsed))

    @app.post(HRIS_PATH)
    async def hris_change(request: Request) -> JSONResponse:
        receiver.received += 1
        key = (request.headers.get("x-api-key") or "").encode()
        if not secrets.compare_digest(key, receiver.hris.api_key.get_secret_value().encode()):
            return receiver.unauthorized_response("api-key")
        parsed = await receiver.parse(request, HRISChangeEvent)
        if isinstance(parsed, JSONResponse):
            return parsed
        assert isinstance(parsed, HRISChangeEvent)
        return receiver.accept(parsed.dedup_key, hris_event(parsed))

    @app.post("/webhooks/replay")
    async def replay(request: Request) -> JSONResponse:
        if not receiver.basic_ok(request):
            return receiver.unauthorized_response("basic")
        """Send the outbox now (skip the outage backoff); answers once it is empty or Prefect failed again."""
        before = receiver.forwarder.emitted
        pending = await asyncio.to_thread(receiver.forwarder.replay_now)
        return JSONResponse({"sent": receiver.forwarder.emitted - before, "pending": pending})

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics")
    async def metrics() -> dict[str, int]:
        return receiver.metrics()

    return app


def notification_model(target_url: str, settings: WebhookSettings | None = None) -> dict[str, Any]:
    """The `EventNotificationModel` body (docs/uem-api.md#configuration) pointing UEM at this receiver."""
    cfg = settings or WebhookSettings()
    return {
        "TargetName": "ws1ai",
        "TargetUrl": target_url.rstrip("/") + UEM_PATH,
        "Username": cfg.username,
        "Password": cfg.password.get_secret_value(),
        "Format": 1,  # Json (0 = XML, which the receiver does not parse)
        "IsActive": True,
        "DeviceEvents": {
            "Enrollment": True,
            "UnenrolledEnterpriseWipe": True,
            "Wipe": True,
            "CompromisedStatusChange": True,
            "Delete": True,
            "ComplianceStatusChange": True,
            "CheckOutCheckIn": False,
            "DeviceAttributes": {"OperatingSystem": True, "OrganizationGroup": True, "Ownership": True},
        },
    }


webhook_app = typer.Typer(help="Receive Workspace ONE / HRIS webhooks and turn them into Prefect events.")


@webhook_app.callback()
def _group() -> None:
    """Keeps `serve` a sub-command when the app runs alone (`python -m deployments.webhook serve`)."""


@webhook_app.command()
def serve(
    host: str = typer.Option(
        "", help="bind address (default WS1AI_WEBHOOK_HOST; keep loopback unless a TLS proxy fronts it)"
    ),
    port: int = typer.Option(0, help="port (default WS1AI_WEBHOOK_PORT)"),
) -> None:
    """Serve the receiver: POST /webhooks/ws1 (UEM, Basic auth), /webhooks/hris (X-API-Key)."""
    import uvicorn

    settings = WebhookSettings()
    host, port = host or settings.host, port or settings.port
    problem = settings.exposure_problem(host, HRISSettings().api_key.get_secret_value())
    if problem:
        typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(2)
    app = create_receiver(settings)
    typer.echo(f"ws1ai webhook receiver on http://{host}:{port}{UEM_PATH} (and {HRIS_PATH})")
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)


@webhook_app.command("dead-letters")
def dead_letters(
    resend_to: str = typer.Option(
        "", help="receiver URL to re-POST the kept bodies to, e.g. http://127.0.0.1:8780"
    ),
) -> None:
    """List the bodies the receiver refused (and why), or re-POST them once the cause is fixed."""
    cfg = WebhookSettings()
    letters = DeadLetters(cfg.dead_letters)
    if resend_to:
        token = base64.b64encode(f"{cfg.username}:{cfg.password.get_secret_value()}".encode()).decode()
        headers = {
            UEM_PATH: {"Authorization": f"Basic {token}"},
            HRIS_PATH: {"X-API-Key": HRISSettings().api_key.get_secret_value()},
        }
        resent, failing = letters.resend(resend_to, headers)
        typer.echo(f"resent {resent}, still failing {failing} (in {cfg.dead_letters})")
        return
    for path, record in zip(letters.files(), letters, strict=True):
        typer.echo(f"{path.name}  {record['endpoint']}  {record['reason']}")


if __name__ == "__main__":  # `python -m deployments.webhook serve` (what the benchmark runs)
    webhook_app()
