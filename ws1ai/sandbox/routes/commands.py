"""Device commands (v1 single / alternate id / bulk, v2 by UUID) and messages (push, email, SMS)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ws1ai.sandbox.bulk import (
    add_item_fault,
    bulk_values,
    clear_item_faults,
    item_faults,
    resolve_bulk,
    spec_searchby,
)
from ws1ai.sandbox.errors import ApiError, json_response
from ws1ai.sandbox.ops import (
    BULK_COMMANDS,
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
# Where a device must be for a bulk command/push to be queued; anything else is a per-item Fault.
_APPLE = ("Apple", "AppleOsX")


def _command_applies(command: str) -> Callable[[DeviceRecord], str | None]:
    def check(rec: DeviceRecord) -> str | None:
        if rec.enrollment_status != "Enrolled":
            status = rec.enrollment_status
            return f"Device is not enrolled (EnrollmentStatus {status}); {command} was not queued."
        # OS updates are scheduled on Apple devices only (iOS supervised, macOS DEP): docs/uem-api.md.
        if command == "ScheduleOsUpdate" and rec.platform not in _APPLE:
            return f"ScheduleOsUpdate is not supported on platform {rec.platform}."
        return None

    return check


def _push_applies(rec: DeviceRecord) -> str | None:
    if rec.enrollment_status != "Enrolled":
        return f"Device is not enrolled (EnrollmentStatus {rec.enrollment_status}); no push was sent."
    return None


@router.post("/api/mdm/devices/commands/bulk")
async def bulk_command(request: Request) -> Response:
    """Only the bulk enum (`LockDevice`, not `Lock`) and the spec's `searchby` values; faults per item."""
    command = canonical_command(q(request, "command"), BULK_COMMANDS)
    searchby = spec_searchby(q(request, "searchby"))
    values = bulk_values(await body_json(request))
    state = st(request)
    with state.lock:
        recs, faults = resolve_bulk(
            state, request.url.path, searchby, values, _command_applies(command)
        )
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


async def _bulk_message(kind: str, request: Request) -> Response:
    body = _check_message(kind, await body_json(request))
    # The spec spells it `searchBy` on bulkpush and `searchby` on bulkemail/bulksms; either is read.
    searchby = spec_searchby(q(request, "searchby"))
    values = bulk_values(body)
    state = st(request)
    with state.lock:
        recs, faults = resolve_bulk(
            state, request.url.path, searchby, values, _push_applies if kind == "push" else None
        )
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


@router.post("/api/mdm/devices/messages/bulkpush")
async def bulk_push(request: Request) -> Response:
    return await _bulk_message("push", request)


@router.post("/api/mdm/devices/messages/bulkemail")
async def bulk_email(request: Request) -> Response:
    return await _bulk_message("email", request)


@router.post("/api/mdm/devices/messages/bulksms")
async def bulk_sms(request: Request) -> Response:
    return await _bulk_message("sms", request)


@router.post("/api/mdm/devices/messages/{kind}")
async def message_by_alternate_id(kind: str, request: Request) -> Response:
    """`/messages/push|email|sms?searchby=&id=` (alternate id)."""
    if kind not in _REQUIRED:
        raise ApiError.not_found("Message type")
    body = _check_message(kind, await body_json(request))
    searchby, value = q(request, "searchby"), q(request, "id")
    if not searchby or value is None:
        raise ApiError.bad_request("Parameters searchby and id are required.")
    state = st(request)
    with state.lock:
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


# --- control plane: per-item faults of bulk calls (no real equivalent; see ws1ai/sandbox/bulk.py) ---------
@router.post("/_sandbox/bulk-faults")
async def add_bulk_item_fault(request: Request) -> Response:
    """Body {value, route?: regex, error_code?, message?, count?}: that value fails in matching bulk calls."""
    body = await body_json(request)
    if not isinstance(body, dict):
        raise ApiError.bad_request("A JSON item-fault spec is required.")
    state = st(request)
    with state.lock:
        try:
            item = add_item_fault(state, body)
        except (ValueError, TypeError) as exc:
            raise ApiError.bad_request(str(exc)) from exc
    return json_response(item.to_json(), 201)


@router.get("/_sandbox/bulk-faults")
def list_bulk_item_faults(request: Request) -> Response:
    state = st(request)
    with state.lock:
        return json_response([f.to_json() for f in item_faults(state)])


@router.delete("/_sandbox/bulk-faults")
def clear_bulk_item_faults(request: Request) -> Response:
    state = st(request)
    with state.lock:
        clear_item_faults(state)
    return Response(status_code=204)
