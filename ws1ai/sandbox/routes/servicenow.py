"""ServiceNow Table API: `incident` create/get/update/list, a read-only `sys_user` table built from the
fleet's employees and a read-only `sys_journal_field` table. Basic auth with the `SERVICENOW_*` credentials;
values are strings or `{"link","value"}` references, as the real instance returns them
(docs/itsm-hris.md#servicenow-table-api).

Journal fields (`work_notes`, `comments`) are append-only, as on a real instance: each write adds an entry and
the record itself reads them back empty. The entries are listed in `sys_journal_field` (`element_id` = the
incident's sys_id, `element` = the field); where a real instance exposes them is unverified (sandbox choice).
"""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ws1ai.sandbox.errors import json_response, servicenow_error
from ws1ai.sandbox.middleware import basic_auth
from ws1ai.sandbox.routes.common import body_json, ctx, q, st
from ws1ai.sandbox.state import SandboxState

__all__ = ["router"]

router = APIRouter()
_REF_FIELDS = {"caller_id", "opened_by", "assigned_to", "assignment_group", "cmdb_ci", "company", "location"}
_JOURNAL_FIELDS = ("work_notes", "comments")
_JOURNAL = "_journal"  # the incident's journal entries, kept on the record but never rendered as a field
_PRIORITY = {
    ("1", "1"): "1",
    ("1", "2"): "2",
    ("2", "1"): "2",
    ("2", "2"): "3",
    ("1", "3"): "3",
    ("3", "1"): "3",
    ("2", "3"): "4",
    ("3", "2"): "4",
    ("3", "3"): "5",
}


def _denied(request: Request) -> Response | None:
    creds = request.app.state.credentials
    pair = basic_auth(request.headers.get("authorization", ""))
    if pair != (creds.sn_username, creds.sn_password):
        return servicenow_error("User Not Authenticated", "Required to provide Auth information", 401)
    return None


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _ref(base: str, table: str, value: str) -> dict[str, str]:
    return {"link": f"{base}/api/now/table/{table}/{value}", "value": value}


def _render(rec: dict[str, Any], base: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in rec.items():
        if key == _JOURNAL:
            continue
        if key in _REF_FIELDS and value:
            out[key] = _ref(
                base, "sys_user" if key in ("caller_id", "opened_by", "assigned_to") else key, value
            )
        else:
            out[key] = "" if value is None else str(value)
    return out


def _fields(request: Request, rec: dict[str, Any]) -> dict[str, Any]:
    """`sysparm_fields=a,b,c` limits the returned fields, as on a real instance."""
    wanted = q(request, "sysparm_fields")
    if not wanted:
        return rec
    keep = {f.strip() for f in wanted.split(",") if f.strip()}
    return {k: v for k, v in rec.items() if k in keep}


def _apply(state: SandboxState, rec: dict[str, Any], body: dict[str, Any]) -> None:
    stamp = state.now().strftime("%Y-%m-%d %H:%M:%S")
    for key, value in body.items():
        if key.startswith("sys_") or key == "number" or key.startswith("_"):
            continue  # system fields are read-only, as on a real instance
        if key in _JOURNAL_FIELDS:
            if value not in (None, ""):  # an empty journal write adds nothing
                _journal_add(rec, key, str(value), stamp)
            continue
        rec[key] = value["value"] if isinstance(value, dict) and "value" in value else value
    rec["priority"] = _PRIORITY.get((str(rec.get("impact", "3")), str(rec.get("urgency", "3"))), "5")
    rec["sys_updated_on"] = stamp
    rec["sys_mod_count"] = str(int(rec.get("sys_mod_count", "0")) + 1)
    if str(rec.get("state")) in ("6", "7") and not rec.get("resolved_at"):
        rec["resolved_at"] = stamp


@router.post("/api/now/table/incident")
async def create_incident(request: Request) -> Response:
    if (denied := _denied(request)) is not None:
        return denied
    body = await body_json(request)
    if not isinstance(body, dict):
        return servicenow_error("Invalid request", "A JSON object body is required", 400)
    state = st(request)
    with state.lock:
        seq = len(state.incidents) + 1
        sys_id = hashlib.md5(f"incident:{seq}:{state.epoch()}".encode(), usedforsecurity=False).hexdigest()
        stamp = state.now().strftime("%Y-%m-%d %H:%M:%S")
        rec: dict[str, Any] = {
            "sys_id": sys_id,
            "number": f"INC{20_000 + seq:07d}",
            "state": "1",
            "impact": "3",
            "urgency": "3",
            "priority": "5",
            "short_description": "",
            "description": "",
            "category": "inquiry",
            "caller_id": "",
            "opened_by": "6816f79cc0a8016401c5a33be04be441",
            "assignment_group": "",
            "correlation_id": "",
            "active": "true",
            "sys_created_on": stamp,
            "sys_created_by": "sandbox-itsm",
            "opened_at": stamp,
            "sys_mod_count": "-1",
            "resolved_at": "",
            "close_notes": "",
            "work_notes": "",
            "comments": "",
        }
        _apply(state, rec, body)
        state.incidents[sys_id] = rec
        state.record(ctx(request), "ServiceNow.CreateIncident", [], body, sys_id=sys_id, number=rec["number"])
        result = _render(rec, _base(request))
    return json_response(
        {"result": result},
        201,
        headers={"Location": f"{_base(request)}/api/now/table/incident/{sys_id}", "X-Is-Logged-In": "true"},
    )


def _not_found() -> Response:
    return servicenow_error(
        "No Record found", "Record doesn't exist or ACL restricts the record retrieval", 404
    )


@router.get("/api/now/table/incident/{sys_id}")
def get_incident(sys_id: str, request: Request) -> Response:
    if (denied := _denied(request)) is not None:
        return denied
    state = st(request)
    with state.lock:
        rec = state.incidents.get(sys_id)
        if rec is None:
            return _not_found()
        return json_response({"result": _fields(request, _render(rec, _base(request)))})


async def _update(sys_id: str, request: Request) -> Response:
    if (denied := _denied(request)) is not None:
        return denied
    body = await body_json(request)
    if not isinstance(body, dict):
        return servicenow_error("Invalid request", "A JSON object body is required", 400)
    state = st(request)
    with state.lock:
        rec = state.incidents.get(sys_id)
        if rec is None:
            return _not_found()
        _apply(state, rec, body)
        state.record(ctx(request), "ServiceNow.UpdateIncident", [], body, sys_id=sys_id)
        return json_response({"result": _fields(request, _render(rec, _base(request)))})


@router.patch("/api/now/table/incident/{sys_id}")
async def patch_incident(sys_id: str, request: Request) -> Response:
    return await _update(sys_id, request)


@router.put("/api/now/table/incident/{sys_id}")
async def put_incident(sys_id: str, request: Request) -> Response:
    return await _update(sys_id, request)


def _matches(rec: dict[str, Any], clause: str) -> bool:
    for op in ("!=", "STARTSWITH", "LIKE", "="):
        if op in clause:
            field, _, value = clause.partition(op)
            actual = str(rec.get(field.strip(), "") or "")
            if op == "!=":
                return actual != value
            if op == "STARTSWITH":
                return actual.lower().startswith(value.lower())
            if op == "LIKE":
                return value.lower() in actual.lower()
            return actual == value
    return True


def query_records(records: list[dict[str, Any]], query: str) -> list[dict[str, Any]]:
    """`sysparm_query` basics: `a=b^c!=d^eLIKEx^fSTARTSWITHy^ORDERBYg^ORDERBYDESCh` (AND only)."""
    order: list[tuple[str, bool]] = []
    clauses = []
    for part in filter(None, query.split("^")):
        if part.startswith("ORDERBYDESC"):
            order.append((part[11:], True))
        elif part.startswith("ORDERBY"):
            order.append((part[7:], False))
        else:
            clauses.append(part)
    out = [r for r in records if all(_matches(r, c) for c in clauses)]
    for field, desc in reversed(order):
        out.sort(key=lambda r, f=field: str(r.get(f, "")), reverse=desc)  # type: ignore[misc]
    return out


@router.get("/api/now/table/{table}")
def list_table(table: str, request: Request) -> Response:
    if (denied := _denied(request)) is not None:
        return denied
    state = st(request)
    try:
        limit = int(q(request, "sysparm_limit") or 10_000)
        offset = int(q(request, "sysparm_offset") or 0)
    except ValueError:
        return servicenow_error("Invalid request", "sysparm_limit/sysparm_offset must be integers", 400)
    with state.lock:
        if table == "incident":
            records = list(state.incidents.values())
        elif table == "sys_user":
            records = _users(state)
        elif table == "sys_journal_field":
            records = [entry for rec in state.incidents.values() for entry in rec.get(_JOURNAL, [])]
        else:
            return servicenow_error("Invalid table " + table, "", 400)
        found = query_records(records, q(request, "sysparm_query") or "")
        base = _base(request)
        page = [
            _fields(request, _render(r, base) if table == "incident" else r)
            for r in found[offset : offset + limit]
        ]
    return json_response({"result": page}, headers={"X-Total-Count": str(len(found))})


def _users(state: SandboxState) -> list[dict[str, Any]]:
    if state.employees.height == 0:
        return []
    return [
        {
            "sys_id": hashlib.md5(str(e["email"]).encode(), usedforsecurity=False).hexdigest(),
            "user_name": str(e["email"]).split("@")[0],
            "name": e["name"],
            "email": e["email"],
            "department": e["department"],
            "title": e["role"],
            "location": e["location"],
            "employee_number": e["employee_id"],
            "active": "true" if e["status"] != "terminated" else "false",
        }
        for e in state.employees.iter_rows(named=True)
    ]


def _journal_add(rec: dict[str, Any], element: str, value: str, stamp: str) -> None:
    journal: list[dict[str, str]] = rec.setdefault(_JOURNAL, [])
    seq = len(journal) + 1
    journal.append(
        {
            "sys_id": hashlib.md5(
                f"{rec['sys_id']}:journal:{seq}".encode(), usedforsecurity=False
            ).hexdigest(),
            "name": "incident",
            "element": element,
            "element_id": str(rec["sys_id"]),
            "value": value,
            "sys_created_on": stamp,
            "sys_created_by": "sandbox-itsm",
        }
    )
