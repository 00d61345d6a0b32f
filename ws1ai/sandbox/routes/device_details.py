"""Per-device sub-resources: apps, profiles, compliance, security, network, event log, notes, sensors."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ws1ai.sandbox.catalog import SENSOR_COLUMNS
from ws1ai.sandbox.errors import ApiError, json_response
from ws1ai.sandbox.identifiers import fmt_ts, mac_address, phone_number, stable_uuid
from ws1ai.sandbox.routes.common import (
    body_json,
    ctx,
    device_ref,
    page_slice,
    paging,
    q,
    q_int,
    resolve_device,
    st,
)
from ws1ai.sandbox.views import compliance_policies

__all__ = ["router"]

router = APIRouter()
_SEVERITY = {
    "emergency": 0,
    "alert": 1,
    "critical": 2,
    "error": 3,
    "warning": 4,
    "notice": 5,
    "info": 6,
    "debug": 7,
}


def _ts(d: Any) -> str:
    if isinstance(d, datetime):
        return fmt_ts(d)
    if isinstance(d, date):
        return fmt_ts(datetime.combine(d, datetime.min.time()))
    return fmt_ts(None)


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


@router.get("/api/mdm/devices/{ident}/eventlog")
def device_eventlog(ident: str, request: Request) -> Response:
    """Telemetry incidents (crashes, panics, thermal events) plus everything done to the device here."""
    state = st(request)
    page, size = paging(request)
    sev_raw = q(request, "severity")
    day_range = q_int(request, "dayrange")
    with state.lock:
        rec = resolve_device(state, ident)
        entries: list[tuple[datetime, dict[str, Any]]] = []
        for row in state.telemetry.rows(rec.id):
            stamp = datetime.combine(row["date"], datetime.min.time()) + timedelta(hours=12)
            for col, sev, text in (
                ("kernel_panic_count", "Critical", "Kernel panic"),
                ("crash_count", "Error", "Application crash"),
                ("thermal_event_count", "Warning", "Thermal pressure event"),
            ):
                if row.get(col):
                    entries.append(
                        (
                            stamp,
                            {
                                "Severity": sev,
                                "TimeStamp": fmt_ts(stamp),
                                "Source": "Device",
                                "Event": f"{text} x{row[col]}",
                                "AdminAccount": "",
                                "EventDataList": [{"Name": col, "Value": str(row[col])}],
                            },
                        )
                    )
        for ev in rec.events or []:
            entries.append((ev["_time"], {k: v for k, v in ev.items() if not k.startswith("_")}))
        now = state.now()
    if day_range:
        entries = [e for e in entries if e[0] >= now - timedelta(days=day_range)]
    if sev_raw:
        limit = _SEVERITY.get(sev_raw.lower())
        if limit is None:
            raise ApiError.bad_request(f"Invalid severity '{sev_raw}'.")
        entries = [e for e in entries if _SEVERITY.get(e[1]["Severity"].lower(), 6) <= limit]
    entries.sort(key=lambda e: e[0], reverse=True)
    items = [
        {
            **body,
            "Id": {"Value": rec.id * 100_000 + i},
            "Uuid": stable_uuid("event", (rec.id, i, body["TimeStamp"])),
        }
        for i, (_, body) in enumerate(entries)
    ]
    return json_response(
        {
            "DeviceEventLogEntries": page_slice(items, page, size),
            "Page": page,
            "PageSize": size,
            "Total": len(items),
        }
    )


@router.get("/api/mdm/devices/{ident}/notes")
def get_notes(ident: str, request: Request) -> Response:
    state = st(request)
    page, size = paging(request)
    with state.lock:
        rec = resolve_device(state, ident)
        notes = list(rec.notes or [])
    return json_response(
        {
            "DeviceId": rec.id,
            "DeviceNotes": page_slice(notes, page, size),
            "Page": page,
            "PageSize": size,
            "Total": len(notes),
        }
    )


@router.post("/api/mdm/devices/{ident}/notes")
async def add_note(ident: str, request: Request) -> Response:
    body = await body_json(request)
    if not isinstance(body, dict) or not str(body.get("Note") or "").strip():
        raise ApiError.bad_request("Note is required.")
    state = st(request)
    with state.lock:
        rec = resolve_device(state, ident)
        note_id = state.new_id()
        stamp = fmt_ts(state.now())
        if rec.notes is None:
            rec.notes = []
        rec.notes.append(
            {
                "Id": note_id,
                "DeviceId": rec.id,
                "Note": str(body["Note"]),
                "CreatedOn": stamp,
                "ModifiedOn": stamp,
            }
        )
        state.record(ctx(request), "AddNote", [rec.id], body)
    return json_response({"Value": note_id})


@router.get("/api/mdm/devices/{ident}/sensors")
def device_sensors(ident: str, request: Request) -> Response:
    """Per-device sensor values: the latest day of the simulator's telemetry (battery, storage, crashes)."""
    state = st(request)
    limit = q_int(request, "limit", default=50) or 50
    if not 1 <= limit <= 2000:
        raise ApiError.bad_request("limit must be between 1 and 2000.")
    offset = q_int(request, "offset", default=0) or 0
    text = (q(request, "search_text") or "").lower()
    with state.lock:
        rec = resolve_device(state, ident)
        rows = state.telemetry.rows(rec.id)
        latest = rows[-1] if rows else {}
        seen = fmt_ts(rec.last_seen)
        results = []
        for sensor in state.sensors.values():
            col = SENSOR_COLUMNS.get(sensor["name"])
            if col is None or latest.get(col) is None or text not in sensor["name"]:
                continue
            value = latest[col]
            results.append(
                {
                    "uuid": sensor["uuid"],
                    "name": sensor["name"],
                    "value": f"{value:.1f}" if isinstance(value, float) else str(value),
                    "last_executed_at": seen,
                }
            )
    results.sort(key=lambda r: r["name"], reverse=(q(request, "sort_order") or "").upper() == "DESC")
    return json_response({"total_results": len(results), "results": results[offset : offset + limit]})


@router.get("/api/mdm/devices/{ident}/tags")
def device_tags(ident: str, request: Request) -> Response:
    state = st(request)
    with state.lock:
        rec = resolve_device(state, ident)
        tags = [
            {"uuid": t["uuid"], "name": t["name"], "date_tagged": fmt_ts(t["devices"][rec.id])}
            for t in state.tags.values()
            if rec.id in t["devices"]
        ]
    return json_response({"tags": tags})


@router.get("/api/mdm/devices/{ident}/smartgroups")
def device_smart_groups(ident: str, request: Request) -> Response:
    from ws1ai.sandbox.routes.groups import smart_group_member

    state = st(request)
    with state.lock:
        rec = resolve_device(state, ident)
        groups = [
            {"SmartGroupId": sg["id"], "SmartGroupName": sg["name"], "SmartGroupUuid": sg["uuid"]}
            for sg in state.smart_groups.values()
            if smart_group_member(state, sg, rec)
        ]
    return json_response({"SmartGroup": groups})
