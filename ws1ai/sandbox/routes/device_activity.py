"""Per-device activity and metadata: event log, notes, sensors, tags, smart groups."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ws1ai.sandbox.catalog import SENSOR_COLUMNS
from ws1ai.sandbox.errors import ApiError, json_response
from ws1ai.sandbox.identifiers import fmt_ts, stable_uuid
from ws1ai.sandbox.routes.common import (
    body_json,
    ctx,
    page_slice,
    paging,
    q,
    q_int,
    resolve_device,
    st,
)

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


_CITIES = {
    "Austin": (30.2672, -97.7431),
    "London": (51.5072, -0.1276),
    "Berlin": (52.52, 13.405),
    "New York": (40.7128, -74.006),
    "Singapore": (1.3521, 103.8198),
    "Tokyo": (35.6762, 139.6503),
}


@router.get("/api/mdm/devices/{ident}/gps")
def device_gps(ident: str, request: Request) -> Response:
    """Bare array of `GpsCoordinate` (all values strings), one sample per day within `dayRange`."""
    state = st(request)
    days = q_int(request, "dayrange", default=1) or 1
    with state.lock:
        rec = resolve_device(state, ident)
        site = state.org_groups.get(rec.lgid, {"name": ""})["name"]
        lat, lon = _CITIES.get(site, (37.3861 + (rec.lgid % 7) * 0.5, -122.0839 + (rec.lgid % 5) * 0.5))
        seen = rec.last_seen
    samples = []
    for n in range(min(days, 30)):
        jitter = ((rec.id * 7919 + n * 104_729) % 1000) / 100_000
        when = seen - timedelta(days=n)
        samples.append(
            {
                "SampleTime": fmt_ts(when),
                "Latitude": f"{lat + jitter:.6f}",
                "Longitude": f"{lon - jitter:.6f}",
                "Elevation": "0",
                "Speed": "0",
                "Note": "",
                "DeviceId": {"Value": rec.id},
                "Id": {"Value": rec.id * 100 + n},
                "Uuid": stable_uuid("gps", (rec.id, n)),
            }
        )
    return json_response(samples)
