"""Intelligence-style report export: run a report, find its download, fetch the CSV.

See docs/itsm-hris.md#report-exports for the real service and where the sandbox differs from it.

`POST /v1/reports/{id}/run` → `{"data":{"id":<tracking id>,"report_id","status":"SUBMITTED",...}}`;
`POST /v1/reports/{id}/downloads/search` body `{"offset":0,"page_size":200}` → `{"data":{"results":[...]}}`
(newest first; `status` COMPLETED); `GET /v1/reports/tracking/{tracking id}/download` → CSV.
`GET /v1/reports` lists the sandbox's report definitions (ids are stable UUIDs). A run may carry
`{"start_date","end_date"}` (ISO dates) to bound the rows — a sandbox convenience for "as of" scoring.
Auth is the same as the UEM API (Bearer from `/connect/token` or `/oauth/token`, or Basic + tenant code).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
from fastapi import APIRouter, Request
from starlette.responses import Response

from ws1ai.sandbox.errors import ApiError, json_response
from ws1ai.sandbox.identifiers import stable_uuid
from ws1ai.sandbox.routes.common import body_json, st
from ws1ai.sandbox.state import SandboxState

__all__ = ["REPORTS", "router"]

router = APIRouter()

# name → (source, description). The CSV columns are that table's data-contract columns
# (docs/design.md#data-contracts).
REPORTS: dict[str, dict[str, str]] = {
    stable_uuid("report", name): {"name": name, "source": source, "description": text}
    for name, source, text in (
        ("Device Telemetry Daily", "telemetry", "one row per device per day: battery, storage, crashes"),
        ("App Usage Daily", "app_usage", "minutes used per device, app and day"),
        ("Threat Signals Daily", "threat_signals", "EDR risk score per device and day"),
        ("Device Inventory", "devices", "current device inventory"),
        ("App Installs", "app_installs", "installed apps per device"),
    )
}


def _frame(state: SandboxState, source: str) -> pl.DataFrame:
    if source == "telemetry":
        return state.telemetry.frame
    if source == "app_usage":
        return state.app_usage.frame
    if source == "threat_signals":
        return state.threats.frame
    if source == "app_installs":
        return state.app_installs.frame()
    rows = [
        {
            "device_id": r.id,
            "uuid": r.uuid,
            "serial_number": r.serial,
            "platform": r.platform,
            "model": r.model,
            "os_version": r.os_version,
            "ownership": r.ownership,
            "user_name": r.user_name,
            "user_email": r.user_email,
            "department": r.department,
            "role": r.role,
            "location_group_id": r.lgid,
            "enrolled_on": r.enrolled_on,
            "last_seen": r.last_seen,
            "compliance_status": r.compliance,
            "compromised": r.compromised,
            "encrypted": r.encrypted,
            "purchase_date": r.purchase_date,
            "warranty_end": r.warranty_end,
            "enrollment_status": r.enrollment_status,
        }
        for r in state.devices.values()
    ]
    return pl.DataFrame(rows)


def _report(report_id: str) -> dict[str, str]:
    report = REPORTS.get(report_id.lower())
    if report is None:
        raise ApiError.not_found("Report")
    return report


@router.get("/v1/reports")
def list_reports(request: Request) -> Response:
    results = [{"id": rid, **r} for rid, r in REPORTS.items()]
    return json_response({"data": {"results": results, "total_count": len(results)}})


@router.post("/v1/reports/{report_id}/run")
async def run_report(report_id: str, request: Request) -> Response:
    report = _report(report_id)
    body = await body_json(request) or {}
    try:
        start = date.fromisoformat(body["start_date"]) if body.get("start_date") else None
        end = date.fromisoformat(body["end_date"]) if body.get("end_date") else None
    except (TypeError, ValueError) as exc:
        raise ApiError.bad_request("start_date/end_date must be ISO dates.") from exc
    state = st(request)
    with state.lock:
        tracking = stable_uuid("tracking", f"{report_id}:{state.new_id()}")
        now = state.now().strftime("%Y-%m-%dT%H:%M:%S.000Z")
        run = {
            "id": tracking,
            "report_id": report_id.lower(),
            "status": "COMPLETED",
            "start_time": now,
            "completed_at": now,
            "created_by": "sandbox-admin",
            "start_date": start,
            "end_date": end,
            "name": report["name"],
        }
        # Not in the ledger: running an export changes nothing in the tenant (no device, user, app or
        # profile), although it is a POST. `/_sandbox/requests` still counts it by route.
        state.report_runs[tracking] = run
    return json_response({"data": {**_public(run), "status": "SUBMITTED"}})


def _public(run: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in run.items()}


@router.post("/v1/reports/{report_id}/downloads/search")
async def search_downloads(report_id: str, request: Request) -> Response:
    _report(report_id)
    body = await body_json(request) or {}
    offset, size = int(body.get("offset", 0)), int(body.get("page_size", 200))
    state = st(request)
    with state.lock:
        runs = [_public(r) for r in state.report_runs.values() if r["report_id"] == report_id.lower()]
    runs.sort(key=lambda r: r["start_time"], reverse=True)
    return json_response(
        {
            "data": {
                "offset": offset,
                "page_size": size,
                "total_count": len(runs),
                "results": runs[offset : offset + size],
            }
        }
    )


@router.get("/v1/reports/tracking/{tracking_id}/download")
def download(tracking_id: str, request: Request) -> Response:
    state = st(request)
    with state.lock:
        run = state.report_runs.get(tracking_id.lower())
        if run is None:
            raise ApiError.not_found("Report download")
        frame = _frame(state, REPORTS[run["report_id"]]["source"])
    if "date" in frame.columns and frame.height:
        if run["start_date"] is not None:
            frame = frame.filter(pl.col("date") >= run["start_date"])
        if run["end_date"] is not None:
            frame = frame.filter(pl.col("date") <= run["end_date"])
    data = frame.write_csv()
    name = REPORTS[run["report_id"]]["name"].replace(" ", "_")
    return Response(
        data.encode(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}_{tracking_id}.csv"'},
    )
