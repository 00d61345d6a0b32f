"""Sensors and scripts: snake_case bodies; list, create, update, assign.

Shapes: docs/uem-api.md#scripts-and-sensors.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ws1ai.sandbox.catalog import CUSTOMER_OG_ID
from ws1ai.sandbox.errors import ApiError, json_response
from ws1ai.sandbox.identifiers import fmt_ts, stable_uuid
from ws1ai.sandbox.routes.common import body_json, ctx, no_content, page_slice, paging, q, resolve_device, st
from ws1ai.sandbox.routes.groups import smart_group_member
from ws1ai.sandbox.state import SandboxState

__all__ = ["router"]

router = APIRouter()
_SENSOR_ENUMS = {  # the request model uses ints (docs/uem-api.md#scripts-and-sensors); lists show names
    "platform": {0: "WIN_RT", 1: "APPLE_OSX", 2: "APPLE", 3: "ANDROID", 4: "LINUX"},
    "query_type": {0: "POWERSHELL", 1: "BASH", 2: "ZSH", 3: "PYTHON"},
    "query_response_type": {0: "STRING", 1: "INTEGER", 2: "BOOLEAN", 3: "DATETIME"},
}


def _og_by_uuid(state: SandboxState, og_uuid: str) -> dict[str, Any]:
    og = next((o for o in state.org_groups.values() if o["uuid"] == og_uuid.lower()), None)
    if og is None:
        raise ApiError.not_found("Organization group")
    return og


@router.get("/api/mdm/devicesensors/list/{og_uuid}")
def list_sensors(og_uuid: str, request: Request) -> Response:
    state = st(request)
    with state.lock:
        _og_by_uuid(state, og_uuid)
        items = [dict(s) for s in state.sensors.values()]
    return json_response({"total_results": len(items), "result_set": items})


@router.post("/api/mdm/devicesensors")
async def create_sensor(request: Request) -> Response:
    body = await body_json(request)
    if not isinstance(body, dict) or not body.get("name"):
        raise ApiError.bad_request("name is required.")
    state = st(request)
    with state.lock:
        if any(s["name"] == body["name"] for s in state.sensors.values()):
            raise ApiError.bad_request(f"A sensor named '{body['name']}' already exists.")
        uuid = stable_uuid("sensor", f"api:{state.new_id()}")
        sensor = {
            "uuid": uuid,
            "name": str(body["name"]),
            "description": str(body.get("description") or ""),
            "organization_group_name": "ws1ai Sandbox",
            "is_read_only": False,
            "organization_group_uuid": body.get("organization_group_uuid")
            or state.org_groups[CUSTOMER_OG_ID]["uuid"],
            "script_data": str(body.get("script_data") or ""),
            "timeout": int(body.get("timeout") or 30),
            "trigger_type": "SCHEDULE",
            "execution_context": "SYSTEM",
            "execution_architecture": "EITHER64OR32BIT",
            "event_trigger": list(body.get("event_trigger") or []),
            "schedule_trigger": str(body.get("schedule_trigger") or "FOUR_HOURS"),
            "assigned_smart_groups": [],
        }
        for key, names in _SENSOR_ENUMS.items():
            raw = body.get(key, 0)
            sensor[key] = names.get(raw, str(raw)) if isinstance(raw, int) else str(raw)
        state.sensors[uuid] = sensor
        state.record(ctx(request), "Sensor.Create", [], body, sensor_uuid=uuid)
    return Response(status_code=201)


@router.post("/api/mdm/devicesensors/assign")
async def assign_sensors(request: Request) -> Response:
    body = await body_json(request)
    if not isinstance(body, dict) or not body.get("sensor_uuids"):
        raise ApiError.bad_request("sensor_uuids is required.")
    state = st(request)
    with state.lock:
        groups = [
            sg
            for sg in state.smart_groups.values()
            if sg["uuid"] in {str(u).lower() for u in body.get("smart_group_uuids") or []}
        ]
        for raw in body["sensor_uuids"]:
            sensor = state.sensors.get(str(raw).lower())
            if sensor is None:
                raise ApiError.not_found("Sensor")
            sensor["assigned_smart_groups"] = [{"name": sg["name"], "uuid": sg["uuid"]} for sg in groups]
        state.record(ctx(request), "Sensor.Assign", [], body)
    return no_content()


@router.post("/api/mdm/devicesensors/bulkdelete")
async def delete_sensors(request: Request) -> Response:
    body = await body_json(request)
    uuids = body.get("sensor_uuids") if isinstance(body, dict) else body
    if not isinstance(uuids, list):
        raise ApiError.bad_request("sensor_uuids is required.")
    state = st(request)
    with state.lock:
        for raw in uuids:
            state.sensors.pop(str(raw).lower(), None)
        state.record(ctx(request), "Sensor.Delete", [], body)
    return no_content()


@router.put("/api/mdm/devicesensors/{uuid}")
async def update_sensor(uuid: str, request: Request) -> Response:
    body = await body_json(request)
    state = st(request)
    with state.lock:
        sensor = state.sensors.get(uuid)
        if sensor is None:
            raise ApiError.not_found("Sensor")
        if isinstance(body, dict):
            sensor.update(
                {
                    k: v
                    for k, v in body.items()
                    if k in ("description", "script_data", "timeout", "schedule_trigger", "event_trigger")
                }
            )
        state.record(ctx(request), "Sensor.Update", [], body, sensor_uuid=uuid)
    return no_content()


# --- scripts --------------------------------------------------------------------------------------------
def _script_item(s: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "script_uuid",
        "version",
        "name",
        "description",
        "platform",
        "script_type",
        "organization_group_uuid",
        "organization_group_name",
        "created_or_modified_by",
        "created_or_modified_on",
        "assignment_count",
    )
    return {k: s.get(k) for k in keys}


def _list(items: list[dict[str, Any]], request: Request) -> Response:
    page, size = paging(request, snake=True)
    name = (q(request, "name") or "").lower()
    found = [_script_item(s) for s in items if name in str(s["name"]).lower()]
    chunk = page_slice(found, page, size)
    return json_response({"SearchResults": chunk, "RecordCount": len(found)})


@router.get("/api/mdm/groups/{og_uuid}/scripts")
def list_scripts(og_uuid: str, request: Request) -> Response:
    state = st(request)
    with state.lock:
        _og_by_uuid(state, og_uuid)
        items = list(state.scripts.values())
    return _list(items, request)


@router.post("/api/mdm/groups/{og_uuid}/scripts")
async def create_script(og_uuid: str, request: Request) -> Response:
    body = await body_json(request)
    if not isinstance(body, dict) or not body.get("name"):
        raise ApiError.bad_request("name is required.")
    state = st(request)
    with state.lock:
        og = _og_by_uuid(state, og_uuid)
        uuid = stable_uuid("script", f"api:{state.new_id()}")
        state.scripts[uuid] = {
            "script_uuid": uuid,
            "version": 1,
            "name": str(body["name"]),
            "description": str(body.get("description") or ""),
            "platform": body.get("platform", 1),
            "script_type": body.get("script_type", 1),
            "organization_group_uuid": og["uuid"],
            "organization_group_name": og["name"],
            "created_or_modified_by": "sandbox-admin",
            "created_or_modified_on": fmt_ts(state.now()),
            "assignment_count": 0,
            "script_data": str(body.get("script_data") or ""),
            "assignments": [],
        }
        state.record(ctx(request), "Script.Create", [], body, script_uuid=uuid)
    return json_response({"uuid": uuid}, 201)


def _script(state: SandboxState, uuid: str) -> dict[str, Any]:
    script = state.scripts.get(uuid)
    if script is None:
        raise ApiError.not_found("Script")
    return script


@router.get("/api/mdm/scripts/{uuid}")
def get_script(uuid: str, request: Request) -> Response:
    state = st(request)
    with state.lock:
        return json_response(_script_item(_script(state, uuid)))


@router.put("/api/mdm/scripts/{uuid}")
async def update_script(uuid: str, request: Request) -> Response:
    body = await body_json(request)
    state = st(request)
    with state.lock:
        script = _script(state, uuid)
        if isinstance(body, dict):
            script.update({k: v for k, v in body.items() if k in ("name", "description", "script_data")})
            script["version"] += 1
            script["created_or_modified_on"] = fmt_ts(state.now())
        state.record(ctx(request), "Script.Update", [], body, script_uuid=uuid)
    return no_content()


@router.post("/api/mdm/scripts/{uuid}/assignments")
async def assign_script(uuid: str, request: Request) -> Response:
    body = await body_json(request)
    if not isinstance(body, dict) or not body.get("name"):
        raise ApiError.bad_request("name is required.")
    state = st(request)
    with state.lock:
        script = _script(state, uuid)
        groups = [
            str(m.get("smart_group_uuid") or m.get("uuid") or "").lower()
            for m in body.get("memberships") or []
            if isinstance(m, dict)
        ]
        script["assignments"].append({"name": body["name"], "smart_group_uuids": groups})
        script["assignment_count"] = len(script["assignments"])
        state.record(ctx(request), "Script.Assign", [], body, script_uuid=uuid)
    return no_content()


@router.get("/api/mdm/devices/{ident}/scripts")
def device_scripts(ident: str, request: Request) -> Response:
    state = st(request)
    with state.lock:
        rec = resolve_device(state, ident)
        member_of = {sg["uuid"] for sg in state.smart_groups.values() if smart_group_member(state, sg, rec)}
        items = [
            s
            for s in state.scripts.values()
            if any(set(a["smart_group_uuids"]) & member_of for a in s["assignments"])
        ]
    return _list(items, request)
