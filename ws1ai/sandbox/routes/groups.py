"""Smart groups: search, get, create 201, update/delete 204, devices; membership rules.

Shapes and status codes: docs/uem-api.md#smart-groups.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ws1ai.sandbox.catalog import CUSTOMER_OG_ID, GLOBAL_OG_ID
from ws1ai.sandbox.errors import ApiError, json_response
from ws1ai.sandbox.identifiers import stable_uuid
from ws1ai.sandbox.records import DeviceRecord
from ws1ai.sandbox.routes.common import (
    body_json,
    ctx,
    no_content,
    page_slice,
    paging,
    parse_date,
    q,
    q_int,
    st,
)
from ws1ai.sandbox.state import SandboxState
from ws1ai.sandbox.views import friendly_name, ownership_word

__all__ = ["router", "smart_group_member"]

router = APIRouter()


def member_predicate(state: SandboxState, sg: dict[str, Any]) -> Callable[[DeviceRecord], bool]:
    """Compile a group's criteria once: membership over 100k devices is then one cheap call per device."""
    additions, exclusions = set(sg["additions"]), set(sg["exclusions"])
    if not any(sg[c] for c in ("departments", "roles", "platforms", "ownerships", "og_ids", "tag_ids")):
        return lambda r: r.id in additions and r.id not in exclusions  # a group of explicit additions only
    departments, roles, platforms = set(sg["departments"]), set(sg["roles"]), set(sg["platforms"])
    ownerships = set(sg["ownerships"])
    og_ids = {o for o in sg["og_ids"] if o not in (GLOBAL_OG_ID, CUSTOMER_OG_ID)}
    tagged: set[int] | None = None
    if sg["tag_ids"]:
        tagged = {d for t in sg["tag_ids"] if t in state.tags for d in state.tags[t]["devices"]}

    def member(r: DeviceRecord) -> bool:
        if r.id in exclusions:
            return False
        if r.id in additions:
            return True
        return (
            (not departments or r.department in departments)
            and (not roles or r.role in roles)
            and (not platforms or r.platform in platforms)
            and (not ownerships or r.ownership in ownerships or ownership_word(r.ownership) in ownerships)
            and (not og_ids or r.lgid in og_ids)
            and (tagged is None or r.id in tagged)
        )

    return member


def smart_group_member(state: SandboxState, sg: dict[str, Any], rec: DeviceRecord) -> bool:
    return member_predicate(state, sg)(rec)


def _members(state: SandboxState, sg: dict[str, Any]) -> list[DeviceRecord]:
    key = ("sg", sg["id"], sg.get("rev", 0))

    def build() -> list[int]:
        member = member_predicate(state, sg)
        return [r.id for r in state.devices.values() if member(r)]

    ids = state.cached_order(key, build)
    return [state.devices[i] for i in ids if i in state.devices]


def _og_ref(state: SandboxState, og_id: int) -> dict[str, Any]:
    og = state.org_groups.get(og_id, {"name": "", "uuid": ""})
    return {"Id": og_id, "Name": og["name"], "Uuid": og["uuid"]}


def _summary(state: SandboxState, sg: dict[str, Any]) -> dict[str, Any]:
    managed = state.org_groups.get(sg["managed_by"], {"name": "", "uuid": ""})
    return {
        "Assignments": sg["assignments"],
        "Devices": len(_members(state, sg)),
        "Exclusions": len(sg["exclusions"]),
        "ManagedByOrganizationGroupId": str(sg["managed_by"]),
        "ManagedByOrganizationGroupName": managed["name"],
        "ManagedByOrganizationGroupUuid": managed["uuid"],
        "Name": sg["name"],
        "SmartGroupID": sg["id"],
        "SmartGroupUuid": sg["uuid"],
    }


def _detail(state: SandboxState, sg: dict[str, Any]) -> dict[str, Any]:
    def dev(i: int) -> dict[str, Any]:
        rec = state.devices.get(i)
        return {
            "Id": str(i),
            "Name": friendly_name(rec) if rec else "",
            "Model": rec.model if rec else "",
            "Username": rec.user_name if rec else "",
        }

    return {
        **_summary(state, sg),
        "CriteriaType": sg["criteria"],
        "OrganizationGroups": [_og_ref(state, o) for o in sg["og_ids"]],
        "UserGroups": [],
        "Tags": [{"Id": str(t), "Name": state.tags[t]["name"]} for t in sg["tag_ids"] if t in state.tags],
        "Ownerships": sg["ownerships"],
        "Platforms": sg["platforms"],
        "Models": [],
        "OperatingSystems": [],
        "UserAdditions": [],
        "DeviceAdditions": [dev(i) for i in sg["additions"]],
        "UserExclusions": [],
        "DeviceExclusions": [dev(i) for i in sg["exclusions"]],
        "UserGroupExclusions": [],
        "ManagementTypes": [],
        "EnrollmentCategories": [],
        "OEMAndModels": [],
        "CpuArchitectures": [],
    }


def _ids(items: Any, key: str = "Id") -> list[int]:
    out = []
    for item in items or []:
        raw: Any = item.get(key) if isinstance(item, dict) else item
        if isinstance(raw, dict):
            raw = raw.get("Value")
        try:
            out.append(int(raw))
        except (TypeError, ValueError) as exc:
            raise ApiError.bad_request(f"Invalid id {raw!r}.") from exc
    return out


def _apply_body(sg: dict[str, Any], body: dict[str, Any]) -> None:
    if "Name" in body:
        sg["name"] = str(body["Name"])
    sg["criteria"] = str(body.get("CriteriaType") or sg.get("criteria") or "All")
    if body.get("ManagedByOrganizationGroupId"):
        sg["managed_by"] = int(body["ManagedByOrganizationGroupId"])
    for field, key in (
        ("OrganizationGroups", "og_ids"),
        ("Tags", "tag_ids"),
        ("DeviceAdditions", "additions"),
        ("DeviceExclusions", "exclusions"),
    ):
        if field in body:
            sg[key] = _ids(body[field])
    for field, key in (
        ("Platforms", "platforms"),
        ("Ownerships", "ownerships"),
        ("Departments", "departments"),
        ("Roles", "roles"),
    ):
        if field in body:
            sg[key] = [str(v) for v in body[field] or []]
    sg["rev"] = sg.get("rev", 0) + 1


@router.get("/api/mdm/smartgroups/search")
def search_smart_groups(request: Request) -> Response:
    state = st(request)
    page, size = paging(request)
    name = (q(request, "name") or "").lower()
    og = q_int(request, "organizationgroupid", "managedbyorganizationgroupid")
    with state.lock:
        groups = [
            sg
            for sg in state.smart_groups.values()
            if name in sg["name"].lower() and (og is None or og in (sg["managed_by"], GLOBAL_OG_ID))
        ]
        groups.sort(key=lambda g: g["id"])
        chunk = page_slice(groups, page, size)
        if not chunk:
            return no_content()
        items = [_summary(state, sg) for sg in chunk]
    return json_response({"Page": page, "PageSize": size, "Total": len(groups), "SmartGroups": items})


def _sg(state: SandboxState, sg_id: int) -> dict[str, Any]:
    sg = state.smart_groups.get(sg_id)
    if sg is None:
        raise ApiError.not_found("Smart group")
    return sg


@router.get("/api/mdm/smartgroups/{sg_id}")
def get_smart_group(sg_id: int, request: Request) -> Response:
    state = st(request)
    with state.lock:
        return json_response(_detail(state, _sg(state, sg_id)))


@router.post("/api/mdm/smartgroups")
async def create_smart_group(request: Request) -> Response:
    body = await body_json(request)
    if not isinstance(body, dict) or not str(body.get("Name") or "").strip():
        raise ApiError.bad_request("Name is required.")
    state = st(request)
    with state.lock:
        if any(sg["name"].lower() == str(body["Name"]).lower() for sg in state.smart_groups.values()):
            raise ApiError.bad_request(f"A smart group named '{body['Name']}' already exists.")
        sg_id = state.new_id()
        sg: dict[str, Any] = {
            "id": sg_id,
            "uuid": stable_uuid("sg", sg_id),
            "name": "",
            "criteria": "All",
            "departments": [],
            "roles": [],
            "platforms": [],
            "ownerships": [],
            "og_ids": [],
            "tag_ids": [],
            "additions": [],
            "exclusions": [],
            "managed_by": CUSTOMER_OG_ID,
            "assignments": 0,
        }
        _apply_body(sg, body)
        state.smart_groups[sg_id] = sg
        state.record(ctx(request), "SmartGroup.Create", sg["additions"], body, smart_group_id=sg_id)
    return json_response({"Value": sg_id, "uuid": sg["uuid"]}, 201)


@router.put("/api/mdm/smartgroups/{sg_id}")
async def update_smart_group(sg_id: int, request: Request) -> Response:
    body = await body_json(request)
    if not isinstance(body, dict):
        raise ApiError.bad_request("A SmartGroupEditV1Model body is required.")
    state = st(request)
    with state.lock:
        sg = _sg(state, sg_id)
        _apply_body(sg, body)
        state.record(ctx(request), "SmartGroup.Update", sg["additions"], body, smart_group_id=sg_id)
    return no_content()


@router.delete("/api/mdm/smartgroups/{sg_id}")
def delete_smart_group(sg_id: int, request: Request) -> Response:
    state = st(request)
    with state.lock:
        _sg(state, sg_id)
        del state.smart_groups[sg_id]
        state.record(ctx(request), "SmartGroup.Delete", [], None, smart_group_id=sg_id)
    return no_content()


@router.get("/api/mdm/smartgroups/{sg_id}/devices")
def smart_group_devices(sg_id: int, request: Request) -> Response:
    """No paging on this route (docs/uem-api.md#smart-groups)."""
    state = st(request)
    since, till = parse_date(q(request, "seensince")), parse_date(q(request, "seentill"))
    with state.lock:
        recs = _members(state, _sg(state, sg_id))
        items = [
            {
                "Id": str(r.id),
                "Name": friendly_name(r),
                "Model": r.model,
                "OSVersion": r.os_version,
                "Username": r.user_name,
                "Platform": r.platform,
                "Ownership": ownership_word(r.ownership),
            }
            for r in recs
            if (since is None or r.last_seen >= since) and (till is None or r.last_seen <= till)
        ]
    return json_response({"Devices": items})
