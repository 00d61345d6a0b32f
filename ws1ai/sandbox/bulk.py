"""What the bulk routes share: `BulkValues` parsing, per-item outcomes, and injected per-item faults.

A bulk call (`/mdm/devices/commands/bulk`, `/mdm/devices/messages/bulkpush`, `/mdm/tags/{id}/adddevices`)
answers 200 with a `BulkResponse` even when some values fail: each failed value is one `Fault`
(`ErrorCode`, `ItemValue` = the value as sent, `Message`) and the others go through
(docs/uem-api.md#bulk-operations).
An item fails when the device is not found (5061, real), when its state does not allow the operation
(`NOT_APPLICABLE`, sandbox choice), or when a test injected a fault for that value through
`POST /_sandbox/bulk-faults` (the request-level faults of `/_sandbox/faults` apply to bulk routes as to any).

Injected item faults live beside the state, keyed by its instance id, so a reset or re-seed (new instance id)
clears them like every other fault.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ws1ai.sandbox.errors import DEVICE_NOT_FOUND, INJECTED_FAULT, NOT_APPLICABLE, ApiError
from ws1ai.sandbox.records import DeviceRecord
from ws1ai.sandbox.state import SandboxState

__all__ = [
    "SPEC_SEARCHBY",
    "ItemFault",
    "add_item_fault",
    "bulk_values",
    "clear_item_faults",
    "fault",
    "item_faults",
    "resolve_bulk",
    "spec_searchby",
]

# `searchby` of the bulk command/message routes, as the spec lists it (docs/uem-api.md#commands). DeviceId is
# not in it (scripts in the wild send it; unverified), so the sandbox refuses it on these routes.
SPEC_SEARCHBY = {v.lower(): v for v in ("Macaddress", "Udid", "Serialnumber", "ImeiNumber")}
# Returns why this device cannot take the operation (the Fault's Message), or None when it can.
Applicable = Callable[[DeviceRecord], str | None]


def bulk_values(body: Any) -> list[str]:
    try:
        values = body["BulkValues"]["Value"]
    except (TypeError, KeyError) as exc:
        raise ApiError.bad_request('Body must be {"BulkValues":{"Value":[...]}}.') from exc
    if not isinstance(values, list) or not values:
        raise ApiError.bad_request("BulkValues.Value must be a non-empty list.")
    return [str(v) for v in values]


def fault(error_code: int, value: str, message: str) -> dict[str, Any]:
    return {"ErrorCode": error_code, "ItemValue": value, "Message": message}


# --- injected per-item faults ---------------------------------------------------------------------------
@dataclass
class ItemFault:
    """Fail `value` (case-insensitive) in bulk calls whose path matches `route`, `count` times."""

    id: int
    value: str
    route: str = ".*"
    error_code: int = INJECTED_FAULT
    message: str = "Injected item fault."
    count: int = 1
    fired: int = 0
    pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.pattern = re.compile(self.route, re.IGNORECASE)

    def matches(self, path: str, value: str) -> bool:
        return (
            self.fired < self.count
            and self.value.lower() == value.lower()
            and self.pattern.search(path) is not None
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "value": self.value,
            "route": self.route,
            "error_code": self.error_code,
            "message": self.message,
            "count": self.count,
            "fired": self.fired,
            "remaining": self.count - self.fired,
        }


@dataclass
class _Book:
    instance: str
    faults: list[ItemFault] = field(default_factory=list)
    seq: int = 0


_BOOKS: weakref.WeakKeyDictionary[SandboxState, _Book] = weakref.WeakKeyDictionary()


def item_faults(state: SandboxState) -> list[ItemFault]:
    """This tenant's injected item faults (callers hold the lock); empty again after a reset or re-seed."""
    book = _BOOKS.get(state)
    if book is None or book.instance != state.instance_id:
        book = _BOOKS[state] = _Book(state.instance_id)
    return book.faults


def add_item_fault(state: SandboxState, spec: dict[str, Any]) -> ItemFault:
    value = spec.get("value")
    if not isinstance(value, str | int) or not str(value).strip():
        raise ValueError("value (the BulkValues item to fail) is required")
    faults = item_faults(state)
    book = _BOOKS[state]
    book.seq += 1
    try:
        item = ItemFault(
            id=book.seq,
            value=str(value),
            route=str(spec.get("route", ".*")),
            error_code=int(spec.get("error_code", INJECTED_FAULT)),
            message=str(spec.get("message", "Injected item fault.")),
            count=int(spec.get("count", 1)),
        )
    except re.error as exc:
        raise ValueError(f"route is not a valid regular expression: {exc}") from exc
    faults.append(item)
    return item


def clear_item_faults(state: SandboxState) -> None:
    item_faults(state).clear()


def _take_item_fault(state: SandboxState, path: str, value: str) -> ItemFault | None:
    for item in item_faults(state):
        if item.matches(path, value):
            item.fired += 1
            return item
    return None


# --- resolution -----------------------------------------------------------------------------------------
def resolve_bulk(
    state: SandboxState,
    path: str,
    searchby: str,
    values: list[str],
    applicable: Applicable | None = None,
) -> tuple[list[DeviceRecord], list[dict[str, Any]]]:
    """The devices the operation goes to, and one Fault per value that does not go through (callers hold
    the lock). `path` is the request path, matched against injected item faults."""
    recs: list[DeviceRecord] = []
    faults: list[dict[str, Any]] = []
    for value in values:
        injected = _take_item_fault(state, path, value)
        if injected is not None:
            faults.append(fault(injected.error_code, value, injected.message))
            continue
        try:
            rec = state.device_by_alt(searchby, value)
        except ApiError:
            faults.append(fault(DEVICE_NOT_FOUND, value, "Device not found for this request."))
            continue
        reason = applicable(rec) if applicable is not None else None
        if reason is not None:
            faults.append(fault(NOT_APPLICABLE, value, reason))
            continue
        recs.append(rec)
    return recs, faults


def spec_searchby(raw: str | None) -> str:
    """The bulk command/message routes' `searchby`/`searchBy`, checked against the spec's list."""
    if not raw:
        raise ApiError.bad_request("Parameter searchby is required.")
    kind = SPEC_SEARCHBY.get(raw.strip().lower())
    if kind is None:
        raise ApiError.bad_request(
            f"Invalid searchby value '{raw}' (one of {', '.join(SPEC_SEARCHBY.values())})."
        )
    return kind
