"""Helpers shared by the thin routers: state/version/context access, query parsing, paging, bodies."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fastapi import Request
from starlette.responses import Response

from ws1ai.sandbox.errors import ApiError, json_response
from ws1ai.sandbox.records import DeviceRecord
from ws1ai.sandbox.state import Ctx, SandboxState

__all__ = [
    "MAX_PAGE_SIZE",
    "accepted",
    "body_json",
    "bulk_response",
    "ctx",
    "device_ref",
    "no_content",
    "page_slice",
    "paging",
    "parse_bool",
    "parse_date",
    "q",
    "q_int",
    "resolve_device",
    "st",
    "version",
]

MAX_PAGE_SIZE = 500
_DATE_FORMATS = (
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M:%S",
    "%m-%d-%Y",
    "%d %b %Y",
)


def st(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


def version(request: Request) -> int:
    return int(request.scope.get("ws1_version", 1))


def ctx(request: Request) -> Ctx:
    path = request.scope.get("ws1_original_path", request.url.path)
    if request.url.query:
        path = f"{path}?{request.url.query}"
    return Ctx(request.method, path, str(request.scope.get("ws1_correlation_id", "")))


def q(request: Request, *names: str) -> str | None:
    """Query parameter by any of `names`, case-insensitively (the spec mixes `searchBy` and `searchby`)."""
    wanted = {n.lower() for n in names}
    for key, value in request.query_params.multi_items():
        if key.lower() in wanted:
            return value
    return None


def q_int(request: Request, *names: str, default: int | None = None) -> int | None:
    raw = q(request, *names)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ApiError.bad_request(f"Invalid value '{raw}' for parameter {names[0]}.") from exc


def parse_bool(raw: str | None) -> bool | None:
    if raw is None or raw == "":
        return None
    low = raw.strip().lower()
    if low in ("true", "1", "yes"):
        return True
    if low in ("false", "0", "no"):
        return False
    raise ApiError.bad_request(f"Invalid boolean value '{raw}'.")


def parse_date(raw: str | None) -> datetime | None:
    """UEM accepts many date formats on search filters (docs/uem-api.md#devices)."""
    if raw is None or raw == "":
        return None
    text = raw.strip().rstrip("Z")
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ApiError.bad_request(f"Invalid date value '{raw}'.")


def paging(
    request: Request, *, snake: bool = False, default_size: int = MAX_PAGE_SIZE, max_size: int = MAX_PAGE_SIZE
) -> tuple[int, int]:
    """0-based page; page size defaults to 500 and anything larger is clamped (docs/uem-api.md#paging)."""
    page = q_int(request, "page", default=0) or 0
    size = q_int(
        request, *(("page_size", "pagesize") if snake else ("pagesize", "page_size")), default=default_size
    )
    if page < 0:
        raise ApiError.bad_request("Page numbering is 0 based; page must not be negative.")
    if size is None or size <= 0:
        size = default_size
    return page, min(size, max_size)


def page_slice(items: list[Any], page: int, size: int) -> list[Any]:
    return items[page * size : (page + 1) * size]


def no_content() -> Response:
    return Response(status_code=204)


def accepted() -> Response:
    return Response(status_code=202)


async def body_json(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ApiError.bad_request("The request body is not valid JSON.") from exc


def resolve_device(state: SandboxState, ident: str) -> DeviceRecord:
    """Numeric id, or a device UUID (v2+ routes address devices by UUID at the same path)."""
    return state.device(int(ident)) if ident.isdigit() else state.device_by_uuid(ident)


def device_ref(rec: DeviceRecord) -> dict[str, Any]:
    return {"Id": {"Value": rec.id}, "Name": rec.user_name, "Uuid": rec.uuid}


def bulk_response(total: int, faults: list[dict[str, Any]], status: int = 200) -> Response:
    return json_response(
        {
            "TotalItems": total,
            "AcceptedItems": total - len(faults),
            "FailedItems": len(faults),
            "Faults": {"Fault": faults},
        },
        status,
    )
