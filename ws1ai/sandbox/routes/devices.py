"""Device reads: search (v1/v2/v3), get by id / alternate id / UUID / UDID, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ws1ai.sandbox.errors import ApiError, json_response
from ws1ai.sandbox.routes.common import (
    ctx,
    no_content,
    page_slice,
    paging,
    parse_bool,
    parse_date,
    q,
    q_int,
    resolve_device,
    st,
    version,
)
from ws1ai.sandbox.search import DeviceFilter, search_device_ids
from ws1ai.sandbox.views import device_v1, device_v2, device_v3

__all__ = ["router"]

router = APIRouter()


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _filter(request: Request, v: int) -> DeviceFilter:
    if v >= 3:
        return DeviceFilter(
            user=q(request, "user"),
            model=q(request, "model_identifier", "model"),
            platform=q(request, "device_type", "platform"),
            ownership=q(request, "ownership"),
            og_uuid=q(request, "organization_group_uuid"),
            compliant=_compliance(q(request, "compliance_status")),
            seen_since=parse_date(q(request, "seen_since")),
            seen_till=parse_date(q(request, "last_seen")),
            order_by=q(request, "order_by") or "deviceid",
            descending=(q(request, "sort_order") or "ASC").upper() == "DESC",
        )
    snake = v == 2
    return DeviceFilter(
        user=q(request, "user"),
        model=q(request, "model"),
        platform=q(request, "platform"),
        ownership=q(request, "ownership"),
        lgid=q_int(request, "lgid"),
        compliant=_compliance(q(request, "compliance_status" if snake else "compliantstatus")),
        seen_since=parse_date(q(request, "seen_since" if snake else "seensince")),
        seen_till=parse_date(q(request, "lastseen")),
        order_by=q(request, "orderby") or "deviceid",
        descending=(q(request, "sortorder") or "ASC").upper() == "DESC",
    )


def _compliance(raw: str | None) -> bool | None:
    if raw and raw.strip().lower() in ("compliant", "noncompliant"):
        return raw.strip().lower() == "compliant"
    return parse_bool(raw)


@router.get("/api/mdm/devices/search")
def search_devices(request: Request) -> Response:
    state, v = st(request), version(request)
    page, size = paging(request, snake=v >= 3)
    flt = _filter(request, v)
    with state.lock:
        ids = search_device_ids(state, flt)
        chunk = page_slice(ids, page, size)
        if not chunk:
            return no_content()  # the real API answers an empty search with 204 and no body
        recs = [state.devices[i] for i in chunk]
        if v >= 3:
            base = _base_url(request)
            return json_response(
                {
                    "devices": [device_v3(r, state, base) for r in recs],
                    "page": page,
                    "page_size": size,
                    "total": len(ids),
                }
            )
        items = [device_v1(r, state, extended=True) for r in recs]
    return json_response({"Devices": items, "Page": page, "PageSize": size, "Total": len(ids)})


@router.get("/api/mdm/devices/extensivesearch")
def extensive_search(request: Request) -> Response:
    state = st(request)
    page, size = paging(request)
    flt = DeviceFilter(
        platform=q(request, "platform"),
        lgid=q_int(request, "organizationgroupid"),
        seen_since=parse_date(q(request, "startdatetime")),
        seen_till=parse_date(q(request, "enddatetime")),
        enrollment_status=q(request, "enrollmentstatus"),
    )
    dev_id = q_int(request, "deviceid")
    with state.lock:
        ids = (
            [dev_id]
            if dev_id is not None and dev_id in state.devices
            else ([] if dev_id is not None else search_device_ids(state, flt))
        )
        chunk = page_slice(ids, page, size)
        if not chunk:
            return no_content()
        items = [device_v1(state.devices[i], state, extended=True) for i in chunk]
    return json_response({"Devices": items, "Page": page, "PageSize": size, "Total": len(ids)})


@router.get("/api/mdm/devices/litesearch")
def lite_search(request: Request) -> Response:
    state = st(request)
    page, size = paging(request)
    flt = DeviceFilter(
        platform=q(request, "platform"),
        lgid=q_int(request, "organizationgroupid"),
        seen_since=parse_date(q(request, "seensince")),
        seen_till=parse_date(q(request, "seentill")),
    )
    with state.lock:
        ids = search_device_ids(state, flt)
        chunk = page_slice(ids, page, size)
        if not chunk:
            return no_content()
        items = []
        for i in chunk:
            r = state.devices[i]
            items.append(
                {
                    "DeviceId": r.id,
                    "Uuid": r.uuid,
                    "SerialNumber": r.serial,
                    "Platform": r.platform,
                    "Model": r.model,
                    "OperatingSystem": r.os_version,
                    "UserName": r.user_name,
                    "LastSeen": device_v1(r, state, extended=False)["LastSeen"],
                    "EnrollmentStatus": r.enrollment_status,
                    "ComplianceStatus": r.compliance,
                }
            )
    return json_response({"Devices": items, "Page": page, "PageSize": size, "Total": len(ids)})


@router.get("/api/mdm/devices")
def get_by_alternate_id(request: Request) -> Response:
    searchby, value = q(request, "searchby"), q(request, "id")
    if not searchby or value is None:
        raise ApiError.bad_request("Parameters searchby and id are required.")
    state = st(request)
    with state.lock:
        rec = state.device_by_alt(searchby, value)
        return json_response(device_v1(rec, state, extended=False))


@router.get("/api/mdm/devices/udid/{udid}")
def get_by_udid(udid: str, request: Request) -> Response:
    state = st(request)
    with state.lock:
        return json_response(device_v1(state.device_by_alt("Udid", udid), state, extended=False))


@router.get("/api/mdm/devices/{ident}")
def get_device(ident: str, request: Request) -> Response:
    state, v = st(request), version(request)
    with state.lock:
        if ident.isdigit():
            return json_response(device_v1(state.device(int(ident)), state, extended=False))
        if v < 2:
            raise ApiError.device_not_found()  # v1 addresses devices by numeric id only
        rec = state.device_by_uuid(ident)
        body: dict[str, Any] = (
            device_v2(rec, state, _base_url(request)) if v == 2 else device_v3(rec, state, _base_url(request))
        )
    return json_response(body)


@router.delete("/api/mdm/devices/{ident}")
def delete_device(ident: str, request: Request) -> Response:
    """`DELETE /mdm/devices/{id}` → 204; an unknown (or already deleted) device → 404 errorCode 5061."""
    state = st(request)
    if not ident.isdigit() and version(request) < 2:
        raise ApiError.device_not_found()  # v1 addresses devices by numeric id only, as GET does
    with state.lock:
        rec = resolve_device(state, ident)
        state.record(ctx(request), "DeleteDevice", [rec.id])
        # Sandbox name; the real string is unverified (docs/uem-api.md#webhook-payload).
        state.emit(rec, "Device Delete")
        state.remove_device(rec.id)
    return no_content()
