"""Webhook receiver: Workspace ONE UEM event notifications (and HRIS changes) → Prefect events.

Prefect's webhooks are Cloud-only, so this small ASGI app is the edge the OSS server lacks. Per request:
authenticate (HTTP Basic as UEM sends it / `X-API-Key` for the HRIS; 401 and nothing else otherwise) →
validate the real payload (400 naming the problem; the raw body goes to the dead-letter directory) →
de-duplicate UEM's re-sends (200, nothing emitted) → emit one Prefect event, batched with its neighbours
(200 once Prefect took it; 202 when Prefect is unreachable and the event waits in the spool for replay).

    ws1ai webhook serve --port 8780          # then point a UEM event notification at /webhooks/ws1
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import typer
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from deployments.dedup import DedupStore
from deployments.emitter import PrefectEmitter
from deployments.events import device_event, hris_event
from deployments.payloads import HRISChangeEvent, UEMEvent, describe_errors
from deployments.spool import DeadLetters, Spool
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
    """State behind the routes: dedup memory, emitter, dead letters, counters (`app.state.receiver`)."""

    def __init__(self, settings: WebhookSettings, hris: HRISSettings) -> None:
        self.settings, self.hris = settings, hris
        url, headers = (settings.prefect_api_url, {}) if settings.prefect_api_url else _prefect_target()
        if not url:
            raise ValueError("no Prefect API URL: set PREFECT_API_URL or WS1AI_WEBHOOK_PREFECT_API_URL")
        self.dead_letters = DeadLetters(settings.dead_letters)
        self.spool = Spool(settings.spool)
        self.dedup = DedupStore(settings.dedup_capacity, settings.dedup_path)
        self.emitter = PrefectEmitter(
            url,
            spool=self.spool,
            dead_letters=self.dead_letters,
            headers=headers,
            batch_size=settings.batch_size,
            timeout=settings.emit_timeout_seconds,
            attempts=settings.emit_attempts,
        )
        self.received = self.duplicates = self.unauthorized = self.malformed = 0

    def metrics(self) -> dict[str, int]:
        e = self.emitter
        return {
            "received": self.received,
            "emitted": e.emitted,
            "duplicates": self.duplicates,
            "rejected": self.unauthorized + self.malformed,
            "spooled": e.spooled,
            "unauthorized": self.unauthorized,
            "malformed": self.malformed,
            "replayed": e.replayed,
            "dead_lettered": e.dead_lettered,
            "spool_files": len(self.spool.files()),
            "prefect_posts": e.posts,
        }

    def close(self) -> None:
        self.emitter.close()
        self.dedup.close()

    def basic_ok(self, request: Request) -> bool:
        cfg = self.settings
        header = request.headers.get("authorization")
        return _basic_matches(header, cfg.username, cfg.password.get_secret_value())

    def unauthorized_response(self, scheme: str) -> JSONResponse:
        self.unauthorized += 1
        headers = {"WWW-Authenticate": 'Basic realm="ws1ai"'} if scheme == "basic" else {}
        return JSONResponse({"error": "unauthorized"}, status_code=401, headers=headers)

    async def parse(self, request: Request, model: type[BaseModel]) -> BaseModel | JSONResponse:
        """The validated payload, or a 400/413 whose raw body was kept in the dead-letter directory."""
        body = await request.body()
        if len(body) > self.settings.max_body_bytes:
            reason = f"body of {len(body)} bytes exceeds the {self.settings.max_body_bytes}-byte limit"
            return self._reject(request, body, reason, 413)
        try:
            return model.model_validate_json(body)
        except ValidationError as exc:
            return self._reject(request, body, f"invalid {model.__name__}: {describe_errors(exc)}", 400)

    def _reject(self, request: Request, body: bytes, reason: str, status: int) -> JSONResponse:
        self.malformed += 1
        path = self.dead_letters.write(
            endpoint=request.url.path,
            reason=reason,
            body=body,
            content_type=request.headers.get("content-type"),
        )
        log.info("rejected a %s body (%d): %s", request.url.path, status, reason)
        return JSONResponse({"error": reason, "dead_letter": path.name}, status_code=status)

    async def accept(self, key: str, event: dict[str, Any]) -> JSONResponse:
        if not self.dedup.add(key):
            self.duplicates += 1
            return JSONResponse({"status": "duplicate", "id": event["id"]})
        try:
            outcome = await self.emitter.emit(event)
        except BaseException:
            self.dedup.forget(key)  # neither emitted nor spooled: let the sender's retry through
            raise
        status = 200 if outcome == "emitted" else 202
        return JSONResponse(
            {"status": outcome, "event": event["event"], "id": event["id"]}, status_code=status
        )


def create_receiver(settings: WebhookSettings | None = None, *, hris: HRISSettings | None = None) -> FastAPI:
    """The receiver app. Reads the Prefect API URL now (settings, else the active Prefect profile)."""
    receiver = Receiver(settings or WebhookSettings(), hris or HRISSettings())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        receiver.emitter.request_replay()  # whatever a previous run spooled; runs in the background
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
        return await receiver.accept(parsed.dedup_key, device_event(parsed))

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
        return await receiver.accept(parsed.dedup_key, hris_event(parsed))

    @app.post("/webhooks/replay")
    async def replay(request: Request) -> JSONResponse:
        if not receiver.basic_ok(request):
            return receiver.unauthorized_response("basic")
        sent = await asyncio.wrap_future(receiver.emitter.request_replay())
        return JSONResponse({"replayed": sent, "spool_files": len(receiver.spool.files())})

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics")
    async def metrics() -> dict[str, int]:
        return receiver.metrics()

    return app


def notification_model(target_url: str, settings: WebhookSettings | None = None) -> dict[str, Any]:
    """The `EventNotificationModel` body (ref §9) that points a UEM tenant at this receiver, JSON format."""
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


@webhook_app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="bind address (keep loopback unless a TLS proxy fronts it)"),
    port: int = typer.Option(8780, help="port"),
) -> None:
    """Serve the receiver: POST /webhooks/ws1 (UEM, Basic auth), /webhooks/hris (X-API-Key)."""
    import uvicorn

    app = create_receiver(WebhookSettings())
    typer.echo(f"ws1ai webhook receiver on http://{host}:{port}{UEM_PATH} (and {HRIS_PATH})")
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
