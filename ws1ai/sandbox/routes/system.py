"""System module: users, organization groups, event-notification configuration, service info."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ws1ai.sandbox.catalog import CUSTOMER_OG_ID, GLOBAL_OG_ID
from ws1ai.sandbox.errors import ApiError, json_response
from ws1ai.sandbox.identifiers import stable_uuid
from ws1ai.sandbox.routes.common import body_json, ctx, no_content, page_slice, paging, q, q_int, st, version
from ws1ai.sandbox.state import SandboxState

__all__ = ["router"]

router = APIRouter()


# --- users ----------------------------------------------------------------------------------------------
def _uem_view(state: SandboxState, u: dict[str, Any]) -> tuple[str, str]:
    """Department and role as UEM knows them (from the user's devices; they lag the HRIS for movers)."""
    devices = state.devices_of_user(str(u["email"]))
    if devices:
        return devices[0].department, devices[0].role
    return str(u.get("department") or ""), str(u.get("job_role") or "")


def _user_v1(state: SandboxState, u: dict[str, Any], counts: Counter[str]) -> dict[str, Any]:
    og = state.org_groups.get(u["lgid"], state.org_groups[CUSTOMER_OG_ID])
    department, job_role = _uem_view(state, u)
    return {
        "UserName": u["username"],
        "FirstName": u["first"],
        "LastName": u["last"],
        "Status": u["active"],
        "Email": u["email"],
        "SecurityType": u["security_type"],
        "ContactNumber": "",
        "DisplayName": f"{u['first']} {u['last']}".strip(),
        "MobileNumber": "",
        "MessageType": 0,
        "EmailUserName": u["email"],
        "Group": department,
        "LocationGroupId": str(og["id"]),
        "OrganizationGroupUuid": og["uuid"],
        "Role": u["role"],
        "EnrolledDevicesCount": str(counts.get(str(u["email"]).lower(), 0)),
        "MessageTemplateId": 0,
        "CustomAttribute1": department,  # sandbox convention: UEM's department and job role of the user
        "CustomAttribute2": job_role,
        "CustomAttribute3": "",
        "CustomAttribute4": "",
        "CustomAttribute5": "",
        "ExternalId": u.get("external_id") or "",
        "StagingMode": 0,
        "DeviceStagingEnabled": False,
        "DeviceStagingType": 0,
        "ProvisioningSku": "",
        "Id": {"Value": u["id"]},
        "Uuid": u["uuid"],
    }


def _device_counts(state: SandboxState) -> Counter[str]:
    return Counter(r.user_email.lower() for r in state.devices.values())


def _user(state: SandboxState, user_id: int) -> dict[str, Any]:
    u = state.users.get(user_id)
    if u is None:
        raise ApiError.not_found("User")
    return u


@router.get("/api/system/users/search")
def search_users(request: Request) -> Response:
    state = st(request)
    page, size = paging(request)
    filters = {
        k: (q(request, k) or "").lower() for k in ("firstname", "lastname", "email", "username", "role")
    }
    status = (q(request, "status") or "").lower()
    lgid = q_int(request, "locationgroupid", "organizationgroupid")
    with state.lock:
        found = [
            u
            for u in state.users.values()
            if filters["firstname"] in str(u["first"]).lower()
            and filters["lastname"] in str(u["last"]).lower()
            and filters["email"] in str(u["email"]).lower()
            and filters["username"] in u["username"].lower()
            and filters["role"] in str(u["role"]).lower()
            and (not status or (status == "active") == u["active"])
            and (lgid is None or lgid in (GLOBAL_OG_ID, CUSTOMER_OG_ID, u["lgid"]))
        ]
        chunk = page_slice(found, page, size)
        if not chunk:
            return no_content()
        counts = _device_counts(state)
        items = [_user_v1(state, u, counts) for u in chunk]
    return json_response({"Users": items, "Page": page, "PageSize": size, "Total": len(found)})


@router.get("/api/system/users/{user_id}")
def get_user(user_id: int, request: Request) -> Response:
    state = st(request)
    with state.lock:
        return json_response(_user_v1(state, _user(state, user_id), _device_counts(state)))


def _apply_user(state: SandboxState, u: dict[str, Any], body: dict[str, Any]) -> None:
    for field, key in (
        ("UserName", "username"),
        ("FirstName", "first"),
        ("LastName", "last"),
        ("Email", "email"),
        ("Role", "role"),
        ("ExternalId", "external_id"),
        ("Group", "department"),
        ("CustomAttribute1", "department"),
        ("CustomAttribute2", "job_role"),
    ):
        if body.get(field) is not None:
            u[key] = str(body[field])
    moved = [body.get(f) is not None for f in ("Group", "CustomAttribute1", "CustomAttribute2")]
    if any(moved):
        # A mover fixed in UEM: the user's devices take the new department/role (smart groups follow).
        for rec in state.devices_of_user(str(u["email"])):
            if moved[0] or moved[1]:
                rec.department = str(u["department"])
            if moved[2]:
                rec.role = str(u["job_role"])
        state.touch()
    if body.get("SecurityType") is not None:
        u["security_type"] = int(body["SecurityType"])
    if body.get("Status") is not None:
        u["active"] = bool(body["Status"])
    if body.get("LocationGroupId"):
        u["lgid"] = int(body["LocationGroupId"])


@router.post("/api/system/users/adduser")
async def add_user(request: Request) -> Response:
    body = await body_json(request)
    if not isinstance(body, dict) or not body.get("UserName"):
        raise ApiError.bad_request("UserName is required.")
    if int(body.get("SecurityType") or 2) == 1 and not body.get("Password"):
        raise ApiError.bad_request("Password is required for Basic (SecurityType 1) users.")
    state = st(request)
    with state.lock:
        if any(u["username"].lower() == str(body["UserName"]).lower() for u in state.users.values()):
            raise ApiError.bad_request(f"User name '{body['UserName']}' already exists.")
        user_id = state.new_id()
        u: dict[str, Any] = {
            "id": user_id,
            "uuid": stable_uuid("user", f"api:{user_id}"),
            "username": "",
            "first": "",
            "last": "",
            "email": "",
            "active": True,
            "department": None,
            "role": "Full Access",
            "lgid": CUSTOMER_OG_ID,
            "security_type": 2,
            "external_id": None,
        }
        _apply_user(state, u, body)
        state.users[user_id] = u
        state.record(
            ctx(request),
            "User.Create",
            [],
            {k: v for k, v in body.items() if k != "Password"},
            user_id=user_id,
        )
    return json_response({"Value": user_id, "uuid": u["uuid"]})


@router.post("/api/system/users/{user_id}/update")
async def update_user(user_id: int, request: Request) -> Response:
    body = await body_json(request)
    if not isinstance(body, dict):
        raise ApiError.bad_request("A User body is required.")
    state = st(request)
    with state.lock:
        _apply_user(state, _user(state, user_id), body)
        state.record(
            ctx(request),
            "User.Update",
            [],
            {k: v for k, v in body.items() if k != "Password"},
            user_id=user_id,
        )
    return no_content()


async def _set_active(user_id: int, request: Request, active: bool) -> Response:
    state = st(request)
    with state.lock:
        _user(state, user_id)["active"] = active
        state.record(
            ctx(request), "User.Activate" if active else "User.Deactivate", [], None, user_id=user_id
        )
    return no_content()


@router.post("/api/system/users/{user_id}/activate")
async def activate_user(user_id: int, request: Request) -> Response:
    return await _set_active(user_id, request, True)


@router.post("/api/system/users/{user_id}/deactivate")
async def deactivate_user(user_id: int, request: Request) -> Response:
    return await _set_active(user_id, request, False)


@router.delete("/api/system/users/{user_id}/delete")
def delete_user(user_id: int, request: Request) -> Response:
    state = st(request)
    with state.lock:
        _user(state, user_id)
        del state.users[user_id]
        state.record(ctx(request), "User.Delete", [], None, user_id=user_id)
    return no_content()


# --- organization groups --------------------------------------------------------------------------------
def _created_on(value: datetime) -> str:
    # The console's US format, e.g. "2/9/2026 7:59:49 PM" (ref §10).
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
