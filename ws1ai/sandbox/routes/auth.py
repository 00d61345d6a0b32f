"""OAuth2 client-credentials token endpoint at the real path `/connect/token` (and `/oauth/token`)."""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from starlette.responses import Response

from ws1ai.sandbox.errors import json_response, oauth_error
from ws1ai.sandbox.middleware import Credentials, basic_auth
from ws1ai.sandbox.routes.common import st

__all__ = ["router"]

router = APIRouter()


async def _token(request: Request) -> Response:
    raw = (await request.body()).decode("utf-8", "replace")
    form = {k: v[0] for k, v in parse_qs(raw).items()}
    for k, v in request.query_params.items():  # Intelligence scripts pass grant_type in the query
        form.setdefault(k, v)
    pair = basic_auth(request.headers.get("authorization", ""))
    client_id = form.get("client_id") or (pair[0] if pair else "")
    secret = form.get("client_secret") or (pair[1] if pair else "")
    if form.get("grant_type") != "client_credentials":
        return oauth_error("unsupported_grant_type")
    creds: Credentials = request.app.state.credentials
    if client_id != creds.client_id or secret != creds.client_secret:
        return oauth_error("invalid_client")
    state = st(request)
    with state.lock:
        token, lifetime = state.gate.issue_token(client_id, state.epoch())
    return json_response(
        {"access_token": token, "token_type": "Bearer", "expires_in": lifetime, "scope": "api"},
        headers={"Cache-Control": "no-store"},
    )


@router.post("/connect/token")
async def connect_token(request: Request) -> Response:
    return await _token(request)


@router.post("/oauth/token")
async def oauth_token(request: Request) -> Response:
    return await _token(request)
