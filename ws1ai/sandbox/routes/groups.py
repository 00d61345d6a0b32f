"""Smart groups (search, get, create, update, delete, devices) and tags (search, add/remove devices)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ws1ai.sandbox.catalog import CUSTOMER_OG_ID, GLOBAL_OG_ID
from ws1ai.sandbox.errors import ApiError, json_response
from ws1ai.sandbox.identifiers import fmt_ts, stable_uuid
from ws1ai.sandbox.records import DeviceRecord
from ws1ai.sandbox.routes.commands import bulk_values, resolve_many
from ws1ai.sandbox.routes.common import (
    body_json,
    bulk_response,
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
    """No paging on this route (ref §7)."""
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
        recs, faults = resolve_many(state, q(request, "searchby") or "DeviceId", values)
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
