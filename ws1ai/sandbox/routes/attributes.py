"""Device custom attributes: per device (by id, serial, asset number), bulk PUT, and search."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ws1ai.sandbox.errors import DEVICE_NOT_FOUND, ApiError, json_response, new_activity_id
from ws1ai.sandbox.identifiers import asset_number, fmt_ts, udid
from ws1ai.sandbox.records import DeviceRecord
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
from ws1ai.sandbox.search import DeviceFilter, search_device_ids
from ws1ai.sandbox.state import SandboxState

__all__ = ["router"]

router = APIRouter()


def _attributes(body: Any, *, need_value: bool) -> list[dict[str, Any]]:
    items = body.get("CustomAttributes") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise ApiError.bad_request('Body must be {"CustomAttributes":[{"Name","Value","ApplicationGroup"}]}.')
    for item in items:
        if not isinstance(item, dict) or not item.get("Name") or (need_value and "Value" not in item):
            raise ApiError.bad_request(
                "Each custom attribute needs Name" + (" and Value." if need_value else ".")
            )
    return items


def _set(state: SandboxState, rec: DeviceRecord, items: list[dict[str, Any]]) -> None:
    if rec.custom_attributes is None:
        rec.custom_attributes = {}
    now = state.now()
    for item in items:
        rec.custom_attributes[str(item["Name"])] = (
            str(item.get("Value", "")),
            str(item.get("ApplicationGroup") or "com.ws1ai.sandbox"),
            now,
        )


async def _put(state: SandboxState, request: Request, rec_of: Any) -> Response:
    items = _attributes(await body_json(request), need_value=True)
    with state.lock:
        rec = rec_of()
        _set(state, rec, items)
        state.record(ctx(request), "SetCustomAttributes", [rec.id], {"CustomAttributes": items})
    return bulk_response(len(items), [])


@router.put("/api/mdm/devices/customattributes")
async def bulk_put(request: Request) -> Response:
    body = await body_json(request)
    if isinstance(body, dict):
        body = body.get("devices") or body.get("Devices") or [body]
    if not isinstance(body, list) or not body:
        raise ApiError.bad_request("Body must be a list of {serialNumber, deviceCustomAttributes}.")
    state = st(request)
    failed: list[dict[str, Any]] = []
    accepted_ids: list[int] = []
    with state.lock:
        for entry in body:
            serial = str(entry.get("serialNumber") or "") if isinstance(entry, dict) else ""
            attrs = entry.get("deviceCustomAttributes") if isinstance(entry, dict) else None
            try:
                rec = state.device_by_alt("Serialnumber", serial)
            except ApiError:
                failed.append(
                    {
                        "serialNumber": serial,
                        "errorCode": DEVICE_NOT_FOUND,
                        "message": "Device not found for this request.",
                    }
                )
                continue
            if not isinstance(attrs, list):
                failed.append(
                    {"serialNumber": serial, "errorCode": 1002, "message": "deviceCustomAttributes missing."}
                )
                continue
            _set(
                state,
                rec,
                [
                    {
                        "Name": a.get("name"),
                        "Value": a.get("value", ""),
                        "ApplicationGroup": a.get("applicationGroup"),
                    }
                    for a in attrs
                    if a.get("name")
                ],
            )
            accepted_ids.append(rec.id)
        state.record(ctx(request), "SetCustomAttributes", accepted_ids, body)
    return json_response(
        {
            "totalItems": len(body),
            "acceptedItems": len(body) - len(failed),
            "failedItems": len(failed),
            "activityId": new_activity_id(),
            "failedDevices": failed,
        }
    )


@router.get("/api/mdm/devices/customattribute/search")
def search(request: Request) -> Response:
    state = st(request)
    page, size = paging(request)
    name = (q(request, "customattributename") or "").lower()
    app_group = (q(request, "applicationgroup") or "").lower()
    since, till = parse_date(q(request, "modifiedfrom")), parse_date(q(request, "modifiedtill"))
    dev_id, serial = q_int(request, "deviceid"), q(request, "serialnumber")
    with state.lock:
        if dev_id is not None:
            ids = [dev_id] if dev_id in state.devices else []
        elif serial:
            ids = [state.device_by_alt("Serialnumber", serial).id]
        else:
            ids = search_device_ids(state, DeviceFilter(lgid=q_int(request, "organizationgroupid")))
        rows = []
        for i in ids:
            rec = state.devices[i]
            attrs = [
                {"Name": n, "Value": v, "Source": "API", "Application": g}
                for n, (v, g, when) in (rec.custom_attributes or {}).items()
                if (not name or n.lower() == name)
                and (not app_group or g.lower() == app_group)
                and (since is None or when >= since)
                and (till is None or when <= till)
            ]
            if attrs:
                rows.append(
                    {
                        "DeviceId": rec.id,
                        "Udid": udid(rec.id),
                        "SerialNumber": rec.serial,
                        "EnrollmentUserName": rec.user_name,
                        "AssetNumber": asset_number(rec.id),
                        "CustomAttributes": attrs,
                    }
                )
    chunk = page_slice(rows, page, size)
    if not chunk:
        return no_content()
    return json_response({"Devices": chunk, "Page": page, "PageSize": size, "Total": len(rows)})


@router.put("/api/mdm/devices/serialnumber/{serial}/customattributes")
async def put_by_serial(serial: str, request: Request) -> Response:
    state = st(request)
    return await _put(state, request, lambda: state.device_by_alt("Serialnumber", serial))


@router.put("/api/mdm/devices/assetnumber/{asset}/customattributes")
async def put_by_asset(asset: str, request: Request) -> Response:
    state = st(request)
    return await _put(state, request, lambda: state.device_by_alt("AssetNumber", asset))


@router.put("/api/mdm/devices/{device_id}/customattributes")
async def put_by_id(device_id: int, request: Request) -> Response:
    state = st(request)
    return await _put(state, request, lambda: state.device(device_id))


@router.get("/api/mdm/devices/{device_id}/customattributes")
def get_by_id(device_id: int, request: Request) -> Response:
    state = st(request)
    with state.lock:
        rec = state.device(device_id)
        attrs = [
            {"Name": n, "Value": v, "ApplicationGroup": g, "ModifiedOn": fmt_ts(when)}
            for n, (v, g, when) in (rec.custom_attributes or {}).items()
        ]
    return json_response({"DeviceId": rec.id, "CustomAttributes": attrs})


@router.delete("/api/mdm/devices/{device_id}/customattributes")
async def delete_by_id(device_id: int, request: Request) -> Response:
    items = _attributes(await body_json(request), need_value=False)
    state = st(request)
    with state.lock:
        rec = state.device(device_id)
        for item in items:
            (rec.custom_attributes or {}).pop(str(item["Name"]), None)
        state.record(ctx(request), "DeleteCustomAttributes", [rec.id], {"CustomAttributes": items})
    return no_content()
