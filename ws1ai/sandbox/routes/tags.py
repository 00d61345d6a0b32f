"""Tags: search, create, update, delete, add/remove devices (BulkResponse), devices of a tag."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ws1ai.sandbox.bulk import bulk_values, resolve_bulk
from ws1ai.sandbox.catalog import CUSTOMER_OG_ID
from ws1ai.sandbox.errors import ApiError, json_response
from ws1ai.sandbox.identifiers import fmt_ts, stable_uuid
from ws1ai.sandbox.routes.common import (
    body_json,
    bulk_response,
    ctx,
    no_content,
    page_slice,
    paging,
    q,
    st,
)
from ws1ai.sandbox.state import SandboxState
from ws1ai.sandbox.views import friendly_name

__all__ = ["router"]

router = APIRouter()


# --- tags -----------------------------------------------------------------------------------------------
def _tag(state: SandboxState, tag_id: int) -> dict[str, Any]:
    tag = state.tags.get(tag_id)
    if tag is None:
        raise ApiError.not_found("Tag")
    return tag


@router.get("/api/mdm/tags/search")
def search_tags(request: Request) -> Response:
    state = st(request)
    page, size = paging(request)
    name = (q(request, "name") or "").lower()
    with state.lock:
        tags = sorted((t for t in state.tags.values() if name in t["name"].lower()), key=lambda t: t["id"])
        items = [
            {
                "TagName": t["name"],
                "DateTagged": fmt_ts(t["created"]),
                "TagAvatar": t["avatar"],
                "Id": {"Value": t["id"]},
                "Uuid": t["uuid"],
            }
            for t in page_slice(tags, page, size)
        ]
    if not items:
        return no_content()
    return json_response({"Tags": items, "Page": page, "PageSize": size, "Total": len(tags)})


@router.post("/api/mdm/tags/addtag")
async def add_tag(request: Request) -> Response:
    body = await body_json(request)
    if not isinstance(body, dict) or not str(body.get("TagName") or "").strip():
        raise ApiError.bad_request("TagName is required.")
    state = st(request)
    with state.lock:
        tag_id = state.new_id()
        name = str(body["TagName"])
        state.tags[tag_id] = {
            "id": tag_id,
            "uuid": stable_uuid("tag", f"{name}:{tag_id}"),
            "name": name,
            "type": int(body.get("TagType") or 1),
            "avatar": str(body.get("TagAvatar") or name[:2]),
            "lgid": int(body.get("LocationGroupId") or CUSTOMER_OG_ID),
            "created": state.now(),
            "devices": {},
        }
        state.record(ctx(request), "Tag.Create", [], body, tag_id=tag_id)
    return json_response({"Value": tag_id})


@router.post("/api/mdm/tags/{tag_id}/update")
async def update_tag(tag_id: int, request: Request) -> Response:
    body = await body_json(request) or {}
    state = st(request)
    with state.lock:
        tag = _tag(state, tag_id)
        if body.get("TagName"):
            tag["name"] = str(body["TagName"])
        if body.get("TagAvatar"):
            tag["avatar"] = str(body["TagAvatar"])
        state.record(ctx(request), "Tag.Update", [], body, tag_id=tag_id)
    return no_content()


@router.delete("/api/mdm/tags/{tag_id}")
def delete_tag(tag_id: int, request: Request) -> Response:
    state = st(request)
    with state.lock:
        _tag(state, tag_id)
        del state.tags[tag_id]
        state.touch()
        state.record(ctx(request), "Tag.Delete", [], None, tag_id=tag_id)
    return no_content()


async def _tag_devices(tag_id: int, request: Request, add: bool) -> Response:
    values = bulk_values(await body_json(request))
    state = st(request)
    with state.lock:
        tag = _tag(state, tag_id)
        # Values are device ids (docs/uem-api.md#tags); unknown ids and injected item faults are Faults.
        recs, faults = resolve_bulk(state, request.url.path, "DeviceId", values)
        now = state.now()
        for rec in recs:
            if add:
                tag["devices"].setdefault(rec.id, now)
            else:
                tag["devices"].pop(rec.id, None)
        state.touch()
        state.record(
            ctx(request),
            "Tag.AddDevices" if add else "Tag.RemoveDevices",
            [r.id for r in recs],
            {"BulkValues": {"Value": values}},
            tag_id=tag_id,
            failed=[f["ItemValue"] for f in faults],
        )
    return bulk_response(len(values), faults)


@router.post("/api/mdm/tags/{tag_id}/adddevices")
async def add_devices(tag_id: int, request: Request) -> Response:
    return await _tag_devices(tag_id, request, add=True)


@router.post("/api/mdm/tags/{tag_id}/removedevices")
async def remove_devices(tag_id: int, request: Request) -> Response:
    return await _tag_devices(tag_id, request, add=False)


@router.get("/api/mdm/tags/{tag_id}/devices")
def tag_devices(tag_id: int, request: Request) -> Response:
    state = st(request)
    with state.lock:
        tag = _tag(state, tag_id)
        items = [
            {
                "DeviceId": i,
                "FriendlyName": friendly_name(state.devices[i]),
                "DateTagged": fmt_ts(when),
                "DeviceUuid": state.devices[i].uuid,
            }
            for i, when in sorted(tag["devices"].items())
            if i in state.devices
        ]
    return json_response({"Device": items})
