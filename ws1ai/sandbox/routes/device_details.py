"""Per-device sub-resources: apps, profiles, compliance, security, network."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from ws1ai.sandbox.errors import json_response
from ws1ai.sandbox.identifiers import mac_address, phone_number
from ws1ai.sandbox.routes.common import (
    device_ref,
    page_slice,
    paging,
    resolve_device,
    st,
)
from ws1ai.sandbox.views import compliance_policies

__all__ = ["router"]

router = APIRouter()


@router.get("/api/mdm/devices/{ident}/apps")
def device_apps(ident: str, request: Request) -> Response:
    state = st(request)
    page, size = paging(request)
    with state.lock:
        rec = resolve_device(state, ident)
        installed = state.app_installs.items(rec.id)
        items = []
        for app_id in sorted(installed):
            app = state.apps.get(app_id)
            if app is None:
                continue
            items.append(
                {
                    "ApplicationName": app["name"],
                    "Version": app["version"],
                    "BuildVersion": app["version"],
                    "Status": 2,
                    "DeviceId": device_ref(rec),
                    "Size": str(20_000 + app_id * 317 % 90_000),
                    "ApplicationIdentifier": app["bundle_id"],
                    "Type": app["kind"],
                    "IsManaged": True,
                    "AppVersion": app["version"],
                    "AppStoreVendable": app["kind"] == "Purchased",
                    "DeviceBasedVPP": app["kind"] == "Purchased",
                    "BetaApp": False,
                    "AdHocCodeSigned": False,
                    "HasUpdateAvailable": False,
                    "Id": {"Value": app_id},
                    "Uuid": app["uuid"],
                }
            )
    return json_response(
        {"DeviceApps": page_slice(items, page, size), "Page": page, "PageSize": size, "Total": len(items)}
    )


@router.get("/api/mdm/devices/{ident}/apps/search")
def device_apps_v2(ident: str, request: Request) -> Response:
    state = st(request)
    page, size = paging(request, snake=True)
    with state.lock:
        rec = resolve_device(state, ident)
        items = [
            {
                "name": state.apps[a]["name"],
                "installed_status": "Installed",
                "installed_version": state.apps[a]["version"],
                "bundle_id": state.apps[a]["bundle_id"],
                "app_uuid": state.apps[a]["uuid"],
                "application_id": a,
            }
            for a in sorted(state.app_installs.items(rec.id))
            if a in state.apps
        ]
    return json_response({"app_items": page_slice(items, page, size), "TotalResults": len(items)})


@router.get("/api/mdm/devices/{ident}/profiles")
def device_profiles(ident: str, request: Request) -> Response:
    state = st(request)
    page, size = paging(request)
    with state.lock:
        rec = resolve_device(state, ident)
        og = state.org_groups.get(rec.lgid, {"name": "", "uuid": ""})
        items = [
            {
                "Status": 3,
                "Name": state.profiles[p]["name"],
                "Description": f"{state.profiles[p]['kind']} profile",
                "LocationGroupId": {"Id": {"Value": rec.lgid}, "Name": og["name"], "Uuid": og["uuid"]},
                "CurrentVersion": 1,
                "AssignmentType": 1,
                "InstalledProfileVersion": 1,
                "Id": {"Value": p},
                "Uuid": state.profiles[p]["uuid"],
            }
            for p in sorted(state.device_profiles.items(rec.id))
            if p in state.profiles
        ]
    return json_response(
        {
            "DeviceId": {"Id": {"Value": rec.id}, "Uuid": rec.uuid},
            "DeviceProfiles": page_slice(items, page, size),
            "Page": page,
            "PageSize": size,
            "Total": len(items),
        }
    )


@router.get("/api/mdm/devices/{ident}/compliance")
def device_compliance(ident: str, request: Request) -> Response:
    state = st(request)
    page, size = paging(request)
    with state.lock:
        rec = resolve_device(state, ident)
        items = [
            {
                "Id": p["Id"],
                "Uuid": p["Uuid"],
                "CompliantStatus": p["CompliantStatus"],
                "CompliancePending": False,
                "PolicyName": p["PolicyName"],
                "PolicyDetail": p["PolicyDetail"],
                "LastComplianceCheck": p["LastComplianceCheck"],
                "NextComplianceCheck": p["NextComplianceCheck"],
                "ActionTaken": p["ActionTaken"],
            }
            for p in compliance_policies(rec)
        ]
        overall = rec.compliance == "Compliant"
    return json_response(
        {
            "DeviceCompliance": page_slice(items, page, size),
            "OverallCompliantStatus": overall,
            "Page": page,
            "PageSize": size,
            "Total": len(items),
        }
    )


@router.get("/api/mdm/devices/{ident}/security")
def device_security(ident: str, request: Request) -> Response:
    state = st(request)
    with state.lock:
        rec = resolve_device(state, ident)
        body = {
            "IsCompromised": rec.compromised,
            "DataProtectionEnabled": rec.encrypted,
            "BlockLevelEncryption": rec.encrypted,
            "FileLevelEncryption": rec.encrypted,
            "IsPasscodePresent": True,
            "IsPasscodeCompliant": rec.compliance != "NonCompliant",
            "PasscodeLockGracePeriod": 0,
            "EncryptionStatus": "Encrypted" if rec.encrypted else "NotEncrypted",
            "IsEncrypted": rec.encrypted,
            "EnrolledViaDEP": rec.ownership == "C",
            "UserApprovedEnrollment": rec.platform == "AppleOsX",
            "SystemIntegrityProtectionEnabled": rec.platform == "AppleOsX",
            "SecureBoot": rec.platform in ("WinRT", "AppleOsX"),
            "IsRecoveryLockEnabled": False,
        }
    return json_response(body)


@router.get("/api/mdm/devices/{ident}/network")
def device_network(ident: str, request: Request) -> Response:
    state = st(request)
    with state.lock:
        rec = resolve_device(state, ident)
        phone = phone_number(rec.id, rec.platform)
        body = {
            "PhoneNumber": phone,
            "RoamingStatus": False,
            "DataRoamingEnabled": False,
            "VoiceRoamingEnabled": False,
            "IPAddress": {"WifiIPAddress": f"10.{(rec.id >> 16) & 255}.{(rec.id >> 8) & 255}.{rec.id & 255}"},
            "CellularNetworkInfo": {
                "CellularTechnology": "LTE" if phone else "",
                "CurrentOperator": "",
                "SubscriberCarrierNetwork": "",
                "CurrentSIM": "",
                "ApprovedSims": "",
                "CarrierVersion": "",
                "SignalStrength": "",
                "DeviceMCC": "",
                "DeviceMNC": "",
            },
            "WifiInfo": {"WifiMacAddress": mac_address(rec.id), "SignalStrength": "-55"},
            "PublicIPAddress": "203.0.113.10",
            "DeviceNetworkInfo": [],
            "ServiceSubscription": [],
        }
    return json_response(body)
