"""A small HRIS REST API over the fleet's `employees` frame, with `X-API-Key` auth.

`GET /hris/employees?page=1&page_size=100` (1-based pages, max 1000) →
`{"employees":[...],"page","page_size","total","has_more"}`; `GET /hris/employees/changes?since=<ISO>` →
`{"changes":[{"employee":{...},"change_type":"hire|termination|move","changed_on"}],"since","count"}`;
`GET /hris/employees/{employee_id}`. Errors: `{"error":{"code","message"}}` with 401/400/404.
"""

from __future__ import annotations

import zlib
from datetime import date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ws1ai.sandbox.errors import json_response
from ws1ai.sandbox.routes.common import q, st
from ws1ai.sandbox.state import SandboxState

__all__ = ["router"]

router = APIRouter()
MAX_PAGE_SIZE = 1000


def _error(status: int, code: str, message: str) -> Response:
    return json_response({"error": {"code": code, "message": message}}, status)


def _denied(request: Request) -> Response | None:
    key = request.headers.get("x-api-key", "")
    if key != request.app.state.credentials.hris_api_key:
        return _error(401, "unauthorized", "Missing or invalid X-API-Key.")
    return None


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def _employees(state: SandboxState) -> list[dict[str, Any]]:
    frame = state.employees
    if frame.height == 0:
        return []
    return [{k: _iso(v) for k, v in row.items()} for row in frame.sort("employee_id").iter_rows(named=True)]


def _move_date(state: SandboxState, employee_id: str) -> date:
    # The fleet marks movers only by their lagging UEM values; the move date is derived, stable per employee.
    days = max(1, (state.end - state.start).days)
    return state.start + timedelta(days=zlib.crc32(employee_id.encode()) % days)


def _changes(state: SandboxState, since: date) -> list[dict[str, Any]]:
    uem_view = {r.user_email.lower(): (r.department, r.role) for r in state.devices.values()}
    out: list[tuple[str, dict[str, Any]]] = []
    for emp in _employees(state):
        start, end = emp.get("start_date"), emp.get("end_date")
        if start and start >= since.isoformat():
            out.append((start, {"employee": emp, "change_type": "hire", "changed_on": start}))
        if end and end >= since.isoformat():
            out.append((end, {"employee": emp, "change_type": "termination", "changed_on": end}))
        seen = uem_view.get(str(emp.get("email", "")).lower())
        if (
            seen is not None
            and emp.get("status") == "active"
            and seen != (emp.get("department"), emp.get("role"))
        ):
            moved = _move_date(state, str(emp["employee_id"])).isoformat()
            if moved >= since.isoformat():
                out.append(
                    (
                        moved,
                        {
                            "employee": emp,
                            "change_type": "move",
                            "changed_on": moved,
                            "previous": {"department": seen[0], "role": seen[1]},
                        },
                    )
                )
    out.sort(key=lambda pair: (pair[0], pair[1]["employee"]["employee_id"]))
    return [c for _, c in out]


@router.get("/hris/employees")
def list_employees(request: Request) -> Response:
    if (denied := _denied(request)) is not None:
        return denied
    try:
        page = int(q(request, "page") or 1)
        size = min(int(q(request, "page_size") or 100), MAX_PAGE_SIZE)
    except ValueError:
        return _error(400, "bad_request", "page and page_size must be integers.")
    if page < 1 or size < 1:
        return _error(400, "bad_request", "page and page_size start at 1.")
    status = q(request, "status")
    state = st(request)
    with state.lock:
        rows = _employees(state)
    if status:
        rows = [r for r in rows if r.get("status") == status]
    chunk = rows[(page - 1) * size : page * size]
    return json_response(
        {
            "employees": chunk,
            "page": page,
            "page_size": size,
            "total": len(rows),
            "has_more": page * size < len(rows),
        }
    )


@router.get("/hris/employees/changes")
def employee_changes(request: Request) -> Response:
    if (denied := _denied(request)) is not None:
        return denied
    raw = q(request, "since")
    if not raw:
        return _error(400, "bad_request", "since (ISO date or datetime) is required.")
    try:
        since = datetime.fromisoformat(raw.replace("Z", "+00:00")).date()
    except ValueError:
        return _error(400, "bad_request", f"since is not an ISO date: {raw!r}.")
    state = st(request)
    with state.lock:
        changes = _changes(state, since)
    return json_response({"changes": changes, "since": since.isoformat(), "count": len(changes)})


@router.get("/hris/employees/{employee_id}")
def get_employee(employee_id: str, request: Request) -> Response:
    if (denied := _denied(request)) is not None:
        return denied
    state = st(request)
    with state.lock:
        match = [e for e in _employees(state) if str(e["employee_id"]).lower() == employee_id.lower()]
    if not match:
        return _error(404, "not_found", f"No employee {employee_id}.")
    return json_response(match[0])
