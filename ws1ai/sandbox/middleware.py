"""The ASGI layer every request crosses: case-insensitive paths, auth, throttle, quota, faults, headers.

Pure ASGI (not BaseHTTPMiddleware) because a "drop" fault must close the socket under uvicorn, which needs
the server's `send` callable, and because it is on the hot path of 100k-device sweeps.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
import uuid
from typing import Any

import httpx
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ws1ai.sandbox.errors import (
    BAD_CREDENTIALS,
    BAD_TENANT_CODE,
    INJECTED_FAULT,
    QUOTA_EXHAUSTED,
    THROTTLED,
    TOKEN_INVALID,
    ApiError,
    error_response,
)
from ws1ai.sandbox.gate import retry_after_header
from ws1ai.sandbox.state import SandboxState

__all__ = ["Credentials", "TenantMiddleware", "api_version"]

# Limits are per OG: every key/client of the tenant shares one budget (docs/uem-api.md#rate-limits).
TENANT_KEY = "tenant"
_VERSION_RE = re.compile(r"version\s*=\s*(\d+)", re.IGNORECASE)


class Credentials:
    """The credentials the sandbox accepts (read from the same settings the clients read)."""

    def __init__(
        self,
        username: str,
        password: str,
        tenant_code: str,
        client_id: str,
        client_secret: str,
        sn_username: str,
        sn_password: str,
        hris_api_key: str,
    ) -> None:
        self.username, self.password, self.tenant_code = username, password, tenant_code
        self.client_id, self.client_secret = client_id, client_secret
        self.sn_username, self.sn_password, self.hris_api_key = sn_username, sn_password, hris_api_key


def api_version(accept: str | None) -> int:
    if not accept:
        return 1
    m = _VERSION_RE.search(accept)
    return int(m.group(1)) if m else 1


def basic_auth(header: str) -> tuple[str, str] | None:
    if not header.lower().startswith("basic "):
        return None
    try:
        user, _, pwd = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, pwd


class TenantMiddleware:
    def __init__(self, app: ASGIApp, state: SandboxState, creds: Credentials) -> None:
        self.app = app
        self.state = state
        self.creds = creds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        original = scope["path"]
        scope["ws1_original_path"] = original
        # Routes are declared lower-case; identifiers in paths are matched case-insensitively by the state.
        scope["path"] = original.lower()
        path = scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        correlation_id = headers.get("x-correlation-id") or str(uuid.uuid4())
        version = api_version(headers.get("accept"))
        scope["ws1_version"] = version
        scope["ws1_correlation_id"] = correlation_id
        kind = _kind(path)
        state, gate = self.state, self.state.gate

        extra: list[tuple[bytes, bytes]] = [(b"x-correlation-id", correlation_id.encode())]
        if kind in ("uem", "reports"):
            extra += [(b"x-api-version", f"v{version}".encode()), (b"api-supported-versions", b"1, 2, 3, 4")]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = int(message["status"])
                with state.lock:
                    gate.status_counts[status] += 1
                    # Every response carries the daily-quota headers, read after this call was counted.
                    window = gate.quota(TENANT_KEY, state.epoch())
                    quota = [
                        (b"x-ratelimit-limit", str(window.limit).encode()),
                        (b"x-ratelimit-remaining", str(window.remaining).encode()),
                        (b"x-ratelimit-reset", str(int(window.reset_at)).encode()),
                    ]
                message = dict(message)
                message["headers"] = [*message.get("headers", []), *extra, *quota]
            await send(message)

        async def respond(response: Response) -> None:
            await response(scope, receive, send_with_headers)

        if kind == "control":
            await self.app(scope, receive, send_with_headers)
            return

        # Faults first: an injected failure stands in for anything between the client and the app.
        fault = None
        with state.lock:
            fault = gate.take_fault(scope["method"], path)
        if fault is not None:
            if fault.kind == "latency":
                await asyncio.sleep(fault.latency_seconds)
            elif fault.kind == "drop":
                await _drop(send)
                return
            elif fault.kind == "drop_after":
                pass  # handled below: the app runs (the write happens), then the response is lost
            elif fault.kind == "429":
                with state.lock:
                    gate.throttled += 1
                await respond(
                    error_response(
                        ApiError(
                            THROTTLED,
                            "Server throttling limit exceeded. Retry later.",
                            429,
                            {"Retry-After": str(fault.retry_after)},
                        )
                    )
                )
                return
            else:
                hdrs = {"Retry-After": str(fault.retry_after)} if fault.status == 503 else {}
                await respond(
                    error_response(
                        ApiError(INJECTED_FAULT, "An unexpected error occurred.", fault.status, hdrs)
                    )
                )
                return

        if kind in ("uem", "reports"):
            err = self._authenticate(headers)
            if err is not None:
                await respond(error_response(err))
                return
            with state.lock:
                state.settle()
                now = state.epoch()
                window = gate.quota(TENANT_KEY, now)
                wait = gate.throttle.check(TENANT_KEY, now)
                if wait is not None:
                    gate.throttled += 1
                    rejection: ApiError | None = ApiError(
                        THROTTLED,
                        "Server throttling limit exceeded. Retry later.",
                        429,
                        {"Retry-After": retry_after_header(wait)},
                    )
                elif window.remaining <= 0:
                    gate.quota_rejected += 1
                    rejection = ApiError(
                        QUOTA_EXHAUSTED,
                        "Daily API quota exceeded for this organization group.",
                        429,
                        {"Retry-After": retry_after_header(window.reset_at - now)},
                    )
                else:
                    window.used += 1
                    rejection = None
            if rejection is not None:
                await respond(error_response(rejection))
                return

        if fault is not None and fault.kind == "drop_after":

            async def swallow(message: Message) -> None:
                return None

            await self.app(scope, receive, swallow)
            await _drop(send)
            return
        await self.app(scope, receive, send_with_headers)
        route = scope.get("route")
        label = f"{scope['method']} {getattr(route, 'path', None) or '<unmatched>'}"
        with state.lock:
            gate.requests[label] += 1

    def _authenticate(self, headers: dict[str, str]) -> ApiError | None:
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            with self.state.lock:
                client = self.state.gate.token_client(auth[7:].strip(), self.state.epoch())
            if client is None:
                return ApiError(TOKEN_INVALID, "The access token is invalid or has expired.", 401)
            return None  # OAuth calls do not need aw-tenant-code (docs/uem-api.md#oauth-client-credentials)
        tenant = headers.get("aw-tenant-code", "")
        if tenant != self.creds.tenant_code:
            return ApiError(
                BAD_TENANT_CODE, f"Tenant code {tenant} does not identify an Organization Group.", 403
            )
        pair = basic_auth(auth)
        if pair is None or pair != (self.creds.username, self.creds.password):
            user = pair[0] if pair else ""
            return ApiError(
                BAD_CREDENTIALS,
                "An error occurred while validating remote service client credentials "
                f"or user not found : {user}",
                401,
            )
        return None


def _kind(path: str) -> str:
    if path.startswith("/_sandbox"):
        return "control"
    if (
        path.startswith("/api/now/")
        or path.startswith("/hris")
        or path.startswith("/connect/")
        or path.startswith("/oauth/")
    ):
        return "other"  # own auth in their routers; not counted against the UEM quota
    if path.startswith("/v1/reports"):
        return "reports"
    if path.startswith("/api/"):
        return "uem"
    return "other"


async def _drop(send: Send) -> None:
    """Close the connection without a response, as a crashed proxy would."""
    cycle: Any = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is not None:
        transport.abort()
        await asyncio.sleep(0)  # let uvicorn see the disconnect so it does not try to write a 500
        return
    # In-process (TestClient/ASGITransport) there is no socket: surface what a client would see.
    raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
