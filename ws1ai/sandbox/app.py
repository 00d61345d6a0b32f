"""`create_app`: the sandbox tenant as one FastAPI app (thin routers over one `SandboxState`)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp

from ws1ai.sandbox.errors import (
    ApiError,
    error_body,
    error_response,
    html_not_found,
    json_response,
    method_not_allowed,
)
from ws1ai.sandbox.middleware import Credentials, TenantMiddleware
from ws1ai.sandbox.state import SandboxState
from ws1ai.settings import HRISSettings, SandboxSettings, ServiceNowSettings, UEMSettings

__all__ = ["SandboxApp", "create_app"]


class SandboxApp(FastAPI):
    """FastAPI with the tenant middleware *outermost*: it needs uvicorn's own `send` to drop sockets."""

    tenant_state: SandboxState
    credentials: Credentials

    def build_middleware_stack(self) -> ASGIApp:
        return TenantMiddleware(super().build_middleware_stack(), self.tenant_state, self.credentials)


def read_credentials() -> Credentials:
    uem, sn, hris = UEMSettings(), ServiceNowSettings(), HRISSettings()
    return Credentials(
        username=uem.username,
        password=uem.password.get_secret_value(),
        tenant_code=uem.tenant_code.get_secret_value(),
        client_id=uem.client_id,
        client_secret=uem.client_secret.get_secret_value(),
        sn_username=sn.username,
        sn_password=sn.password.get_secret_value(),
        hris_api_key=hris.api_key.get_secret_value(),
    )


def create_app(state: SandboxState | None = None, *, settings: SandboxSettings | None = None) -> FastAPI:
    """Build the tenant. Without a state, seeds one from `settings` (devices/seed/days).

    Credentials are read here from the same env the clients read (`WS1_*`, `SERVICENOW_*`, `HRIS_*`).
    The throttle and quota come from `settings` when given, else the state's own values stand.
    """
    from ws1ai.sandbox.routes import ROUTERS
    from ws1ai.sandbox.webhooks import WebhookDispatcher

    if state is None:
        cfg = settings or SandboxSettings()
        state = SandboxState.seeded(
            cfg.devices,
            cfg.seed,
            cfg.days,
            rate_limit_per_minute=cfg.rate_limit_per_minute,
            daily_quota=cfg.daily_quota,
        )
    elif settings is not None:
        state.gate.throttle.limit = settings.rate_limit_per_minute
        state.gate.daily_quota = settings.daily_quota
    app = SandboxApp(
        title="ws1ai sandbox tenant (emulated Workspace ONE UEM)",
        docs_url="/_sandbox/docs",
        redoc_url=None,
        openapi_url="/_sandbox/openapi.json",
    )
    app.tenant_state = state
    app.credentials = read_credentials()
    app.state.sandbox = state
    app.state.credentials = app.credentials
    if state.webhooks is None:
        state.webhooks = WebhookDispatcher(state)
        state.on_device_event = state.webhooks.enqueue
    app.state.webhooks = state.webhooks
    for router in ROUTERS:
        app.include_router(router)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return error_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return html_not_found(request.scope.get("ws1_original_path", request.url.path))
        if exc.status_code == 405:
            return method_not_allowed(request.method)
        return json_response(error_body(exc.status_code, str(exc.detail)), exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        first: dict[str, Any] = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return error_response(
            ApiError.bad_request(f"Invalid value for {where}: {first.get('msg', 'invalid')}")
        )

    return app
