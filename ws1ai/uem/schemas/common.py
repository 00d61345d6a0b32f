"""Shapes shared across modules (docs/uem-api.md#endpoints)."""

from __future__ import annotations

from pydantic import Field

from ws1ai.uem.schemas._base import PascalModel

__all__ = [
    "BulkFault",
    "BulkFaults",
    "BulkResponse",
    "BulkValues",
    "CreatedId",
    "EntityId",
    "EntityRef",
    "Link",
]


class EntityId(PascalModel):
    """`{"Value": 123}` — how v1 wraps ids."""

    value: int | None = None


class EntityRef(PascalModel):
    """`{"Id": {"Value": n}, "Name": "...", "Uuid": "..."}`."""

    id: EntityId | None = None
    name: str | None = None
    uuid: str | None = None


class Link(PascalModel):
    rel: str | None = None
    href: str | None = None


class BulkValues(PascalModel):
    """Request body of bulk operations: `{"BulkValues": {"Value": [...]}}`."""

    value: list[str] = Field(default_factory=list)


class BulkFault(PascalModel):
    error_code: int | None = None
    item_value: str | None = None
    message: str | None = None


class BulkFaults(PascalModel):
    fault: list[BulkFault] = Field(default_factory=list)


class BulkResponse(PascalModel):
    """`{"TotalItems","AcceptedItems","FailedItems","Faults":{"Fault":[...]}}`."""

    total_items: int | None = None
    accepted_items: int | None = None
    failed_items: int | None = None
    faults: BulkFaults | None = None


class CreatedId(PascalModel):
    """Create responses: `{"Value": 12346, "uuid": "..."}` (note lower-case `uuid`)."""

    value: int | None = None
    uuid: str | None = Field(None, alias="uuid")
