"""Glue for the local stack: run the webhook receiver and point the tenant's event notifications at it.

Against a real tenant the same registration is one API call (`POST /system/eventnotifications`), made with
the receiver's public URL; here both ends are on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from deployments.webhook import create_receiver, notification_model
from deployments.webhook_config import WebhookSettings
from ws1ai.sandbox.server import serve_in_background
from ws1ai.uem import UEMClient
from ws1ai.uem.schemas.system import EventNotification

__all__ = ["register_webhook", "start_receiver"]


@contextmanager
def start_receiver(port: int, prefect_api: str) -> Iterator[str]:
    """The receiver on 127.0.0.1:`port`, emitting events to `prefect_api`."""
    app = create_receiver(WebhookSettings(prefect_api_url=prefect_api))
    try:
        with serve_in_background(app, port=port) as url:
            yield url
    finally:
        app.state.receiver.close()  # serve_in_background runs without lifespan: stop its forwarder here


def register_webhook(receiver_url: str) -> None:
    """Create (once) the tenant's event notification that POSTs device events to the receiver."""
    body = notification_model(receiver_url)
    with UEMClient() as client:
        existing = [n for n in client.event_notifications.search().items if n.target_url == body["TargetUrl"]]
        if not existing:
            client.event_notifications.create(EventNotification.model_validate(body))
