"""Event-notification configuration (docs/uem-api.md#configuration): create, search, get, update, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ws1ai.sandbox.errors import ApiError, json_response
from ws1ai.sandbox.identifiers import stable_uuid
from ws1ai.sandbox.routes.common import body_json, ctx, no_content, page_slice, paging, st
from ws1ai.sandbox.state import SandboxState

__all__ = ["router"]

router = APIRouter()


# --- event notifications --------------------------------------------------------------------------------
def _notification_out(cfg: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in cfg.items() if k != "Password"}  # the secret is write-only


@router.post("/api/system/eventnotifications")
async def create_notification(request: Request) -> Response:
    body = await body_json(request)
    if not isinstance(body, dict) or not body.get("TargetUrl") or not body.get("TargetName"):
        raise ApiError.bad_request("TargetName and TargetUrl are required.")
    state = st(request)
    with state.lock:
        cfg_id = state.new_id()
        cfg = {
            **body,
            "Format": int(body.get("Format", 1)),
            "IsActive": bool(body.get("IsActive", True)),
            "Id": {"Value": cfg_id},
            "Uuid": stable_uuid("eventnotification", cfg_id),
        }
        state.event_notifications[cfg_id] = cfg
        state.record(ctx(request), "EventNotification.Create", [], _notification_out(cfg))
    return json_response({"Value": cfg_id, "uuid": cfg["Uuid"]})


@router.get("/api/system/eventnotifications/search")
def search_notifications(request: Request) -> Response:
    state = st(request)
    page, size = paging(request)
    with state.lock:
        found = [_notification_out(c) for _, c in sorted(state.event_notifications.items())]
    chunk = page_slice(found, page, size)
    if not chunk:
        return no_content()
    return json_response({"EventNotifications": chunk, "Page": page, "PageSize": size, "Total": len(found)})


def _cfg(state: SandboxState, cfg_id: int) -> dict[str, Any]:
    cfg = state.event_notifications.get(cfg_id)
    if cfg is None:
        raise ApiError.not_found("Event notification")
    return cfg


@router.get("/api/system/eventnotifications/{cfg_id}")
def get_notification(cfg_id: int, request: Request) -> Response:
    state = st(request)
    with state.lock:
        return json_response(_notification_out(_cfg(state, cfg_id)))


@router.put("/api/system/eventnotifications/{cfg_id}")
async def update_notification(cfg_id: int, request: Request) -> Response:
    body = await body_json(request)
    if not isinstance(body, dict):
        raise ApiError.bad_request("An EventNotificationModel body is required.")
    state = st(request)
    with state.lock:
        cfg = _cfg(state, cfg_id)
        cfg.update({k: v for k, v in body.items() if k not in ("Id", "Uuid")})
        state.record(ctx(request), "EventNotification.Update", [], _notification_out(cfg))
    return no_content()


@router.delete("/api/system/eventnotifications/{cfg_id}")
def delete_notification(cfg_id: int, request: Request) -> Response:
    state = st(request)
    with state.lock:
        _cfg(state, cfg_id)
        del state.event_notifications[cfg_id]
        state.record(ctx(request), "EventNotification.Delete", [], None, notification_id=cfg_id)
    return no_content()
