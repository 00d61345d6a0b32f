"""System users: search, get, add, update, activate/deactivate, delete.

Shapes: docs/uem-api.md#users-and-organization-groups.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ws1ai.sandbox.catalog import CUSTOMER_OG_ID, GLOBAL_OG_ID
from ws1ai.sandbox.errors import ApiError, json_response
from ws1ai.sandbox.identifiers import stable_uuid
from ws1ai.sandbox.routes.common import body_json, ctx, no_content, page_slice, paging, q, q_int, st
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
