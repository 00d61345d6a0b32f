"""`client.messages` — push / email to devices; 202 on single sends, BulkResponse on bulk.

Bodies: docs/uem-api.md#messages. The bulk forms go in batches with a per-value outcome
(`ws1ai.uem.bulk`, docs/uem-api.md#bulk-operations).
"""

from __future__ import annotations

from collections.abc import Iterable

from ws1ai.uem.bulk import BULK_BATCH_SIZE, BulkResult, run_bulk
from ws1ai.uem.resources._base import Resource
from ws1ai.uem.resources.commands import BulkSearchBy, check_search_by
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

    def bulk_push(
        self,
        search_by: BulkSearchBy,
        values: Iterable[str],
        message: PushMessage,
        *,
        batch_size: int = BULK_BATCH_SIZE,
    ) -> BulkResult:
        """`POST /mdm/devices/messages/bulkpush?searchBy=` (capital B, as in the spec), in batches.

        Raises `UEMBulkError` (values in doubt / not sent) if a batch fails after an earlier one went through
        or its response is lost; a lost batch is never re-sent."""
        check_search_by(search_by)

        def send(batch: list[str]) -> BulkResponse:
            body = message.model_copy(update={"bulk_values": BulkValues(value=batch)}).to_wire()
            return self._model(
                "POST",
                "/mdm/devices/messages/bulkpush",
                BulkResponse,
                params={"searchBy": search_by},
                json=body,
            )

        return run_bulk("bulkpush", values, send, batch_size=batch_size)

    def bulk_email(
        self,
        search_by: BulkSearchBy,
        values: Iterable[str],
        message: EmailMessage,
        *,
        batch_size: int = BULK_BATCH_SIZE,
    ) -> BulkResult:
        """`POST /mdm/devices/messages/bulkemail?searchby=` (lower-case b here), in batches."""
        check_search_by(search_by)

        def send(batch: list[str]) -> BulkResponse:
            body = message.model_copy(update={"bulk_values": BulkValues(value=batch)}).to_wire()
            return self._model(
                "POST",
                "/mdm/devices/messages/bulkemail",
                BulkResponse,
                params={"searchby": search_by},
                json=body,
            )

        return run_bulk("bulkemail", values, send, batch_size=batch_size)
