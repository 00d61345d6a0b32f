"""`client.messages` — push / email to devices; 202 on single sends, BulkResponse on bulk.

Bodies: docs/uem-api.md#messages.
"""

from __future__ import annotations

from collections.abc import Sequence

from ws1ai.uem.resources._base import Resource
from ws1ai.uem.resources.commands import BulkSearchBy
from ws1ai.uem.schemas.common import BulkResponse, BulkValues
from ws1ai.uem.schemas.mdm import EmailMessage, PushMessage

__all__ = ["Messages"]


class Messages(Resource):
    def push(self, device_id: int, message: PushMessage) -> None:
        self._send("POST", f"/mdm/devices/{device_id}/messages/push", json=message.to_wire())

    def email(self, device_id: int, message: EmailMessage) -> None:
        self._send("POST", f"/mdm/devices/{device_id}/messages/email", json=message.to_wire())

    def push_by(self, search_by: BulkSearchBy, value: str, message: PushMessage) -> None:
        params = {"searchby": search_by, "id": value}
        self._send("POST", "/mdm/devices/messages/push", params=params, json=message.to_wire())

    def bulk_push(self, search_by: BulkSearchBy, values: Sequence[str], message: PushMessage) -> BulkResponse:
        """`POST /mdm/devices/messages/bulkpush?searchBy=` (capital B, as in the spec)."""
        body = message.model_copy(
            update={"bulk_values": BulkValues(value=[str(v) for v in values])}
        ).to_wire()
        return self._model(
            "POST", "/mdm/devices/messages/bulkpush", BulkResponse, params={"searchBy": search_by}, json=body
        )

    def bulk_email(
        self, search_by: BulkSearchBy, values: Sequence[str], message: EmailMessage
    ) -> BulkResponse:
        body = message.model_copy(
            update={"bulk_values": BulkValues(value=[str(v) for v in values])}
        ).to_wire()
        return self._model(
            "POST", "/mdm/devices/messages/bulkemail", BulkResponse, params={"searchby": search_by}, json=body
        )
