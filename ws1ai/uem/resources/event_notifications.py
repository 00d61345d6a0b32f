"""`client.event_notifications` — webhook configuration, `/system/eventnotifications`.

Body and payload: docs/uem-api.md#event-notifications.
"""

from __future__ import annotations

from ws1ai.uem.paging import MAX_PAGE_SIZE, Page
from ws1ai.uem.resources._base import Resource
from ws1ai.uem.schemas.common import CreatedId
from ws1ai.uem.schemas.system import EventNotification, EventNotificationSearchResult

__all__ = ["EventNotifications"]


class EventNotifications(Resource):
    def search(self, *, page: int = 0, page_size: int = MAX_PAGE_SIZE) -> Page[EventNotification]:
        return self._page(
            "/system/eventnotifications/search",
            EventNotificationSearchResult,
            lambda r: r.event_notifications,
            page=page,
            page_size=page_size,
        )

    def get(self, notification_id: int) -> EventNotification:
        return self._model("GET", f"/system/eventnotifications/{notification_id}", EventNotification)

    def create(self, notification: EventNotification) -> CreatedId | None:
        return self._optional_model(
            "POST", "/system/eventnotifications", CreatedId, json=notification.to_wire()
        )

    def update(self, notification_id: int, notification: EventNotification) -> None:
        self._send("PUT", f"/system/eventnotifications/{notification_id}", json=notification.to_wire())

    def delete(self, notification_id: int) -> None:
        self._send("DELETE", f"/system/eventnotifications/{notification_id}")
