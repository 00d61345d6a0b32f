"""Device commands (v1 single / alternate id / bulk, v2 by UUID) and messages (push, email, SMS)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ws1ai.sandbox.errors import DEVICE_NOT_FOUND, ApiError
from ws1ai.sandbox.ops import (
    BULK_COMMANDS,
    COMMANDS,
    V2_COMMANDS,
    apply_command,
    canonical_command,
    log_event,
)
from ws1ai.sandbox.records import DeviceRecord
from ws1ai.sandbox.routes.common import accepted, body_json, bulk_response, ctx, q, resolve_device, st
from ws1ai.sandbox.state import SandboxState

__all__ = ["router"]

router = APIRouter()
_BULK_SEARCHBY = {"macaddress", "udid", "serialnumber", "imeinumber", "deviceid", "assetnumber"}


def bulk_values(body: Any) -> list[str]:
    try:
        values = body["BulkValues"]["Value"]
    except (TypeError, KeyError) as exc:
        raise ApiError.bad_request('Body must be {"BulkValues":{"Value":[...]}}.') from exc
    if not isinstance(values, list) or not values:
        raise ApiError.bad_request("BulkValues.Value must be a non-empty list.")
    return [str(v) for v in values]


def resolve_many(
    state: SandboxState, searchby: str | None, values: list[str]
) -> tuple[list[DeviceRecord], list[dict[str, Any]]]:
    """Devices for bulk values; each miss becomes a BulkResponse fault instead of failing the call."""
    kind = (searchby or "DeviceId").lower()
    if kind not in _BULK_SEARCHBY:
        raise ApiError.bad_request(f"Invalid searchby value '{searchby}'.")
    recs: list[DeviceRecord] = []
    faults: list[dict[str, Any]] = []
    for value in values:
        try:
            recs.append(state.device_by_alt(kind, value))
        except ApiError:
            faults.append(
                {
                    "ErrorCode": DEVICE_NOT_FOUND,
                    "ItemValue": value,
                    "Message": "Device not found for this request.",
                }
            )
    return recs, faults


@router.post("/api/mdm/devices/commands/bulk")
async def bulk_command(request: Request) -> Response:
    command = canonical_command(q(request, "command"), [*BULK_COMMANDS, *COMMANDS])
    values = bulk_values(await body_json(request))
    state = st(request)
    with state.lock:
        recs, faults = resolve_many(state, q(request, "searchby"), values)
        for rec in recs:
            apply_command(state, rec, command)
        state.record(
            ctx(request),
            f"Command.{command}",
            [r.id for r in recs],
            {"BulkValues": {"Value": values}},
            failed=[f["ItemValue"] for f in faults],
        )
    return bulk_response(len(values), faults)


@router.post("/api/mdm/devices/commands")
async def command_by_alternate_id(request: Request) -> Response:
    command = canonical_command(q(request, "command"))
    searchby, value = q(request, "searchby"), q(request, "id")
    if not searchby or value is None:
        raise ApiError.bad_request("Parameters searchby and id are required.")
    body = await body_json(request)
    state = st(request)
    with state.lock:
        rec = state.device_by_alt(searchby, value)
        apply_command(state, rec, command)
        state.record(ctx(request), f"Command.{command}", [rec.id], body)
    return accepted()


@router.post("/api/mdm/devices/commands/{command_name}")
async def bulk_command_v2(command_name: str, request: Request) -> Response:
    command = canonical_command(command_name, V2_COMMANDS)
    body = await body_json(request)
    uuids = body.get("device_uuids") if isinstance(body, dict) else None
    if not isinstance(uuids, list) or not uuids:
        raise ApiError.bad_request("device_uuids must be a non-empty list.")
    state = st(request)
    with state.lock:
        recs = [state.device_by_uuid(str(u)) for u in uuids]
        for rec in recs:
            apply_command(state, rec, command, {k: v for k, v in body.items() if k != "device_uuids"})
        state.record(ctx(request), f"Command.{command}", [r.id for r in recs], body)
    return accepted()


@router.post("/api/mdm/devices/{ident}/commands")
async def device_command(ident: str, request: Request) -> Response:
    command = canonical_command(q(request, "command"))
    body = await body_json(request)
    if command == "CustomMdmCommand" and not (isinstance(body, dict) and body.get("CommandXml")):
        raise ApiError.bad_request("CommandXml is required for CustomMdmCommand.")
    state = st(request)
    extra = {k: v for k, v in request.query_params.items() if k.lower() != "command"}
    with state.lock:
        rec = state.device(int(ident)) if ident.isdigit() else state.device_by_uuid(ident)
        apply_command(state, rec, command, extra)
        state.record(ctx(request), f"Command.{command}", [rec.id], body)
    return accepted()


@router.post("/api/mdm/devices/{ident}/commands/{command_name}")
async def device_command_v2(ident: str, command_name: str, request: Request) -> Response:
    command = canonical_command(command_name, V2_COMMANDS)
    body = await body_json(request)
    state = st(request)
    with state.lock:
        rec = resolve_device(state, ident)
        if (
            command in ("Lock", "DeviceWipe")
            and rec.platform == "AppleOsX"
            and not (isinstance(body, dict) and body.get("unlock_pin"))
        ):
            raise ApiError.bad_request("unlock_pin is required to lock or wipe a macOS device.")
        apply_command(state, rec, command, body if isinstance(body, dict) else None)
        state.record(ctx(request), f"Command.{command}", [rec.id], body)
    return accepted()


# --- messages -------------------------------------------------------------------------------------------
_REQUIRED = {
    "push": ("MessageBody", "Application"),
    "email": ("MessageBody", "ToAddress", "Subject"),
    "sms": ("MessageBody",),
}


def _check_message(kind: str, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError.bad_request("A JSON message body is required.")
    missing = [f for f in _REQUIRED[kind] if not body.get(f)]
    if missing:
        raise ApiError.bad_request(f"Missing required field(s): {', '.join(missing)}.")
    return body


def _deliver(state: SandboxState, rec: DeviceRecord, kind: str, body: dict[str, Any]) -> None:
    log_event(
        state, rec, f"{kind.upper()} message sent", "Info", {"MessageBody": str(body["MessageBody"])[:200]}
    )


@router.post("/api/mdm/devices/messages/{bulk_kind}")
async def messages_non_device(bulk_kind: str, request: Request) -> Response:
    """`/messages/push|email|sms?searchby=&id=` (alternate id) and `/messages/bulkpush|bulkemail|bulksms`."""
    kind = bulk_kind.removeprefix("bulk")
    if kind not in _REQUIRED:
        raise ApiError.not_found("Message type")
    body = _check_message(kind, await body_json(request))
    state = st(request)
    with state.lock:
        if bulk_kind.startswith("bulk"):
            values = bulk_values(body)
            recs, faults = resolve_many(state, q(request, "searchby"), values)
            for rec in recs:
                _deliver(state, rec, kind, body)
            state.record(
                ctx(request),
                f"Message.{kind}",
                [r.id for r in recs],
                body,
                failed=[f["ItemValue"] for f in faults],
            )
            return bulk_response(len(values), faults)
        searchby, value = q(request, "searchby"), q(request, "id")
        if not searchby or value is None:
            raise ApiError.bad_request("Parameters searchby and id are required.")
        rec = state.device_by_alt(searchby, value)
        _deliver(state, rec, kind, body)
        state.record(ctx(request), f"Message.{kind}", [rec.id], body)
    return accepted()


@router.post("/api/mdm/devices/{ident}/messages/{kind}")
async def device_message(ident: str, kind: str, request: Request) -> Response:
    if kind not in _REQUIRED:
        raise ApiError.not_found("Message type")
    body = _check_message(kind, await body_json(request))
    state = st(request)
    with state.lock:
        rec = resolve_device(state, ident)
        _deliver(state, rec, kind, body)
        state.record(ctx(request), f"Message.{kind}", [rec.id], body)
    return accepted()


@router.put("/api/mdm/devices/{device_id}/commands/changeorganizationgroup/{og_id}")
def change_organization_group(device_id: int, og_id: int, request: Request) -> Response:
    state = st(request)
    with state.lock:
        rec = state.device(device_id)
        if og_id not in state.org_groups:
            raise ApiError.not_found("Organization group")
        rec.lgid = og_id
        state.touch()
        log_event(state, rec, f"Organization group changed to {state.org_groups[og_id]['name']}", "Notice")
        state.emit(rec, "Device Organization Group Changed")
        state.record(
            ctx(request), "Command.ChangeOrganizationGroup", [rec.id], {"OrganizationGroupId": og_id}
        )
    return Response(status_code=204)
