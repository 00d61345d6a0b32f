"""Profiles (search v1/v2, install, remove) and applications (search v1/v2, get, install, uninstall, devices).

App install routes accept any catalogue app under `internal`, `public` or `purchased` (the sandbox does not
reject a kind mismatch); `AppType` in search results says what each app is.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ws1ai.sandbox.catalog import CUSTOMER_OG_ID
from ws1ai.sandbox.errors import ApiError, json_response
from ws1ai.sandbox.records import DeviceRecord
from ws1ai.sandbox.routes.common import body_json, ctx, no_content, page_slice, paging, q, st, version
from ws1ai.sandbox.state import SandboxState
from ws1ai.sandbox.views import PLATFORM_IDS

__all__ = ["router"]

router = APIRouter()
_KINDS = {"internal", "public", "purchased"}


def target_device(state: SandboxState, body: Any) -> DeviceRecord:
    """`DeviceInfo` (v1: DeviceId | SerialNumber | Udid | MacAddress) or the v2 snake form."""
    if not isinstance(body, dict):
        raise ApiError.bad_request("A DeviceInfo body is required.")
    for key, searchby in (
        ("DeviceId", "DeviceId"),
        ("SerialNumber", "Serialnumber"),
        ("Udid", "Udid"),
        ("MacAddress", "Macaddress"),
        ("device_uuid", "Uuid"),
        ("device_udid", "Udid"),
        ("serial_number", "Serialnumber"),
        ("mac_address", "Macaddress"),
    ):
        if body.get(key) not in (None, ""):
            return state.device_by_alt(searchby, str(body[key]))
    raise ApiError.bad_request("One of DeviceId, SerialNumber, Udid or MacAddress is required.")


# --- profiles -------------------------------------------------------------------------------------------
def _profile(state: SandboxState, ident: str) -> dict[str, Any]:
    if ident.isdigit():
        prof = state.profiles.get(int(ident))
    else:
        prof = next((p for p in state.profiles.values() if p["uuid"] == ident.lower()), None)
    if prof is None:
        raise ApiError.not_found("Profile")
    return prof


@router.get("/api/mdm/profiles/search")
def search_profiles(request: Request) -> Response:
    state, v = st(request), version(request)
    page, size = paging(request)
    name = (q(request, "profilename") or "").lower()
    platform = (q(request, "platform") or "").lower()
    kind = (q(request, "type") or "").lower()
    status = (q(request, "status") or "").lower()
    with state.lock:
        found = [
            p
            for p in sorted(state.profiles.values(), key=lambda p: p["id"])
            if name in p["name"].lower()
            and (not platform or p["platform"].lower() == platform)
            and (not kind or p["kind"].lower() == kind)
            and (not status or p["status"].lower() == status)
        ]
    chunk = page_slice(found, page, size)
    if not chunk:
        return no_content()
    if v >= 2:
        return json_response(
            {
                "ProfileList": [
                    {
                        "ProfileId": p["id"],
                        "ProfileUuid": p["uuid"],
                        "Platform": p["platform"],
                        "ProfileType": p["kind"],
                        "ProfileStatus": p["status"],
                    }
                    for p in chunk
                ],
                "TotalResults": len(found),
            }
        )
    items = [
        {
            "ProfileName": p["name"],
            "OrganizationGroupId": CUSTOMER_OG_ID,
            "ProfileStatus": p["status"],
            "Platform": p["platform"],
            "ProfileScope": "Production",
            "OperatingSystem": "Any",
            "Model": "Any",
            "Ownership": "Any",
            "ManagedBy": "MDM",
            "Type": p["kind"],
            "AssignedOrganizationGroups": [],
            "Id": {"Value": p["id"]},
            "Uuid": p["uuid"],
        }
        for p in chunk
    ]
    return json_response({"Profiles": items, "Page": page, "PageSize": size, "Total": len(found)})


async def _profile_op(ident: str, request: Request, install: bool) -> Response:
    body = await body_json(request)
    state = st(request)
    with state.lock:
        prof = _profile(state, ident)
        rec = target_device(state, body)
        if install:
            state.device_profiles.add(rec.id, prof["id"])
        else:
            state.device_profiles.remove(rec.id, prof["id"])
        state.record(
            ctx(request),
            "Profile.Install" if install else "Profile.Remove",
            [rec.id],
            body,
            profile_id=prof["id"],
        )
    return Response(status_code=200)


@router.post("/api/mdm/profiles/{ident}/install")
async def install_profile(ident: str, request: Request) -> Response:
    return await _profile_op(ident, request, install=True)


@router.post("/api/mdm/profiles/{ident}/remove")
async def remove_profile(ident: str, request: Request) -> Response:
    return await _profile_op(ident, request, install=False)


# --- apps -----------------------------------------------------------------------------------------------
def _app_v1(state: SandboxState, app: dict[str, Any]) -> dict[str, Any]:
    installed = state.app_installs.count(app["id"])
    return {
        "ApplicationName": app["name"],
        "BundleId": app["bundle_id"],
        "AppVersion": app["version"],
        "ActualFileVersion": app["version"],
        "BuildVersion": app["version"],
        "Status": app["status"],
        "Platform": PLATFORM_IDS.get(app["platform"], 0),
        "SupportedModels": {"Model": []},
        "AssignmentStatus": "Assigned",
        "ApplicationSize": str(20_000 + app["id"] * 317 % 90_000),
        "CategoryList": {"Category": []},
        "SmartGroups": [],
        "IsReimbursable": False,
        "ApplicationUrl": "",
        "LocationGroupId": CUSTOMER_OG_ID,
        "RootLocationGroupName": "ws1ai Sandbox",
        "OrganizationGroupUuid": state.org_groups[CUSTOMER_OG_ID]["uuid"],
        "LargeIconUri": "",
        "MediumIconUri": "",
        "SmallIconUri": "",
        "PushMode": "Auto",
        "AppRank": 0,
        "AssignedDeviceCount": installed,
        "InstalledDeviceCount": installed,
        "NotInstalledDeviceCount": 0,
        "AppType": app["kind"],
        "ApplicationSource": {"Internal": 0, "Public": 1, "Purchased": 2}[app["kind"]],
        "Price": app["cost"],
        "IsPaid": app["cost"] > 0,
        "Id": {"Value": app["id"]},
        "Uuid": app["uuid"],
    }


@router.get("/api/mam/apps/search")
def search_apps(request: Request) -> Response:
    state, v = st(request), version(request)
    snake = v >= 2
    page, size = paging(request, snake=snake)
    name = (q(request, "name" if snake else "applicationname") or "").lower()
    kind = (q(request, "application_type" if snake else "applicationtype") or "").lower()
    bundle = (q(request, "bundle_id" if snake else "bundleid") or "").lower()
    platform = (q(request, "platform") or "").lower()
    with state.lock:
        found = [
            a
            for a in sorted(state.apps.values(), key=lambda a: a["id"])
            if name in a["name"].lower()
            and (not kind or a["kind"].lower() == kind)
            and (not bundle or a["bundle_id"].lower() == bundle)
            and (not platform or a["platform"].lower() == platform)
        ]
        chunk = page_slice(found, page, size)
        if not chunk:
            return no_content()
        if snake:
            og_uuid = state.org_groups[CUSTOMER_OG_ID]["uuid"]
            return json_response(
                {
                    "applications": [
                        {
                            "name": a["name"],
                            "bundle_id": a["bundle_id"],
                            "app_version": a["version"],
                            "platform": a["platform"],
                            "application_type": a["kind"],
                            "status": a["status"],
                            "organization_group_uuid": og_uuid,
                            "uuid": a["uuid"],
                            "id": a["id"],
                        }
                        for a in chunk
                    ],
                    "page": page,
                    "page_size": size,
                    "total": len(found),
                }
            )
        items = [_app_v1(state, a) for a in chunk]
    return json_response({"Application": items, "Page": page, "PageSize": size, "Total": len(found)})


def _app(state: SandboxState, kind: str, ident: str) -> dict[str, Any]:
    if kind not in _KINDS:
        raise ApiError.not_found("Application type")
    if ident.isdigit():
        app = state.apps.get(int(ident))
    else:
        app = next((a for a in state.apps.values() if a["uuid"] == ident.lower()), None)
    if app is None:
        raise ApiError.not_found("Application")
    return app


@router.get("/api/mam/apps/{kind}/{ident}")
def get_app(kind: str, ident: str, request: Request) -> Response:
    state = st(request)
    with state.lock:
        return json_response(_app_v1(state, _app(state, kind, ident)))


async def _app_op(kind: str, ident: str, request: Request, install: bool) -> Response:
    body = await body_json(request)
    state = st(request)
    with state.lock:
        app = _app(state, kind, ident)
        rec = target_device(state, body)
        if install:
            state.app_installs.add(rec.id, app["id"], state.today())
        else:
            state.app_installs.remove(rec.id, app["id"])  # the install is gone from the device
        state.record(
            ctx(request),
            "App.Install" if install else "App.Uninstall",
            [rec.id],
            body,
            app_id=app["id"],
            app_kind=app["kind"],
        )
    return Response(status_code=200)


@router.post("/api/mam/apps/{kind}/{ident}/install")
async def install_app(kind: str, ident: str, request: Request) -> Response:
    return await _app_op(kind, ident, request, install=True)


@router.post("/api/mam/apps/{kind}/{ident}/uninstall")
async def uninstall_app(kind: str, ident: str, request: Request) -> Response:
    return await _app_op(kind, ident, request, install=False)


@router.get("/api/mam/apps/{app_uuid}/devices")
def app_devices(app_uuid: str, request: Request) -> Response:
    state = st(request)
    page, size = paging(request)
    with state.lock:
        app = _app(state, "public", app_uuid)
        ids = state.app_installs.devices_of(app["id"])
        items = [
            {
                "device_uuid": state.devices[i].uuid,
                "installed_status": "Installed",
                "installed_version": app["version"],
            }
            for i in page_slice(ids, page, size)
            if i in state.devices
        ]
    return json_response({"devices": items, "TotalResults": len(ids)})
