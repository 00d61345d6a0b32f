"""System module: organization groups (search v1/v2, get, children, tags, create) and service info."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ws1ai.sandbox.errors import ApiError, json_response
from ws1ai.sandbox.identifiers import stable_uuid
from ws1ai.sandbox.routes.common import body_json, ctx, no_content, page_slice, paging, q, st, version
from ws1ai.sandbox.state import SandboxState

__all__ = ["router"]

router = APIRouter()


# --- organization groups --------------------------------------------------------------------------------
def _created_on(value: datetime) -> str:
    # The console's US format, e.g. "2/9/2026 7:59:49 PM" (docs/uem-api.md#users-and-organization-groups).
    hour = value.hour % 12 or 12
    return f"{value.month}/{value.day}/{value.year} {hour}:{value.minute:02d}:{value.second:02d} " + (
        "AM" if value.hour < 12 else "PM"
    )


def _og_v1(state: SandboxState, og: dict[str, Any], v2: bool = False) -> dict[str, Any]:
    parent = state.org_groups.get(og["parent"]) if og["parent"] else None
    devices = sum(1 for r in state.devices.values() if og["level"] < 2 or r.lgid == og["id"])
    out: dict[str, Any] = {
        "Name": og["name"],
        "GroupId": og["group_id"],
        "LocationGroupType": og["type"],
        "Country": og["country"],
        "Locale": og["locale"],
        "ParentLocationGroup": {"Id": {"Value": parent["id"]}, "Uuid": parent["uuid"]} if parent else None,
    }
    if not v2:
        out["AddDefaultLocation"] = "No"
    out.update(
        {
            "CreatedOn": _created_on(og["created"]),
            "LgLevel": og["level"],
            "Users": str(len(state.users)),
            "Admins": "1",
            "Devices": str(devices),
            "Id": og["id"] if v2 else {"Value": og["id"]},
            "Uuid": og["uuid"],
        }
    )
    return out


def _og(state: SandboxState, og_id: int) -> dict[str, Any]:
    og = state.org_groups.get(og_id)
    if og is None:
        raise ApiError.not_found("Organization group")
    return og


@router.get("/api/system/groups/search")
def search_groups(request: Request) -> Response:
    state, v = st(request), version(request)
    page, size = paging(request)
    name = (q(request, "name") or "").lower()
    kind = (q(request, "type") or "").lower()
    group_id = (q(request, "groupid") or "").lower()
    with state.lock:
        found = [
            og
            for og in sorted(state.org_groups.values(), key=lambda o: (o["level"], o["id"]))
            if name in og["name"].lower()
            and (not kind or og["type"].lower() == kind)
            and (not group_id or og["group_id"].lower() == group_id)
        ]
        chunk = page_slice(found, page, size)
        if not chunk:
            return no_content()
        if v >= 2:
            return json_response(
                {
                    "OrganizationGroups": [_og_v1(state, og, True) for og in chunk],
                    "AdditionalInfo": {"Links": []},
                    "TotalResults": len(found),
                }
            )
        items = [_og_v1(state, og) for og in chunk]
    return json_response({"LocationGroups": items, "Page": page, "PageSize": size, "Total": len(found)})


@router.get("/api/system/groups/{og_id}")
def get_group(og_id: int, request: Request) -> Response:
    state = st(request)
    with state.lock:
        return json_response(_og_v1(state, _og(state, og_id)))


@router.get("/api/system/groups/{og_id}/children")
def group_children(og_id: int, request: Request) -> Response:
    state = st(request)
    with state.lock:
        _og(state, og_id)
        return json_response([_og_v1(state, og) for og in state.org_groups.values() if og["parent"] == og_id])


@router.get("/api/system/groups/{og_id}/tags")
def group_tags(og_id: int, request: Request) -> Response:
    state = st(request)
    with state.lock:
        _og(state, og_id)
        tags = [
            {
                "TagName": t["name"],
                "TagType": t["type"],
                "TagAvatar": t["avatar"],
                "Id": {"Value": t["id"]},
                "Uuid": t["uuid"],
            }
            for t in state.tags.values()
        ]
    return json_response({"Tags": tags})


@router.post("/api/system/groups/{parent_id}")
async def create_group(parent_id: int, request: Request) -> Response:
    body = await body_json(request)
    if not isinstance(body, dict) or not body.get("Name") or not body.get("GroupId"):
        raise ApiError.bad_request("Name and GroupId are required.")
    state = st(request)
    with state.lock:
        parent = _og(state, parent_id)
        if any(og["group_id"].lower() == str(body["GroupId"]).lower() for og in state.org_groups.values()):
            raise ApiError.bad_request(f"Group ID '{body['GroupId']}' is already in use.")
        og_id = state.new_id()
        state.org_groups[og_id] = {
            "id": og_id,
            "uuid": stable_uuid("og", og_id),
            "name": str(body["Name"]),
            "group_id": str(body["GroupId"]),
            "type": str(body.get("LocationGroupType") or "Container"),
            "parent": parent_id,
            "created": state.now(),
            "level": parent["level"] + 1,
            "country": str(body.get("Country") or parent["country"]),
            "locale": str(body.get("Locale") or parent["locale"]),
        }
        state.record(ctx(request), "OrganizationGroup.Create", [], body, og_id=og_id)
    return json_response({"Value": og_id})


@router.get("/api/system/info")
def system_info(request: Request) -> Response:
    return json_response(
        {
            "ProductName": "Workspace ONE UEM (ws1ai sandbox)",
            "ProductVersion": "25.6.0.0",
            "Version": "25.6.0.0",
            "Resources": {
                "Workspaces": [
                    {"Location": "/API/mdm"},
                    {"Location": "/API/mam"},
                    {"Location": "/API/system"},
                ]
            },
        }
    )
