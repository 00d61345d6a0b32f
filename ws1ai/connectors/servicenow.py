"""ServiceNow Table API client for incidents (`/api/now/table/incident`), Basic auth.

Incidents are how a blueprint hands work to humans (e.g. a laptop predicted to fail gets a replacement
ticket with the full context). Field values are strings on the wire, as ServiceNow sends them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict

from ws1ai.connectors.http import ConnectorError, ConnectorHTTP
from ws1ai.settings import ServiceNowSettings

__all__ = ["Incident", "ServiceNowClient"]

_TABLE = "/api/now/table/incident"


class Incident(BaseModel):
    """The fields ws1ai reads; ServiceNow returns ~90 more, kept as extras."""

    model_config = ConfigDict(extra="allow")

    sys_id: str
    number: str
    state: str = ""
    short_description: str = ""
    description: str = ""
    correlation_id: str = ""


class ServiceNowClient:
    def __init__(
        self,
        settings: ServiceNowSettings | None = None,
        *,
        http: httpx.Client | None = None,
        read_only: bool = False,
    ) -> None:
        self.settings = settings or ServiceNowSettings()
        self._http = ConnectorHTTP(
            "ServiceNow",
            self.settings.base_url,
            basic_auth=(self.settings.username, self.settings.password.get_secret_value()),
            headers={"Content-Type": "application/json"},
            http=http,
            read_only=read_only,
        )

    def __enter__(self) -> ServiceNowClient:
        return self

    def __exit__(self, *_: object) -> None:
        self._http.close()

    def create_incident(self, fields: Mapping[str, Any]) -> Incident:
        """POST an incident (201). Set `correlation_id` so a retry finds it rather than duplicating."""
        return _incident(self._http.request("POST", _TABLE, json=dict(fields)).json())

    def get_incident(self, sys_id: str) -> Incident:
        return _incident(self._http.request("GET", f"{_TABLE}/{sys_id}").json())

    def update_incident(self, sys_id: str, fields: Mapping[str, Any]) -> Incident:
        return _incident(self._http.request("PATCH", f"{_TABLE}/{sys_id}", json=dict(fields)).json())

    def find_incidents(self, query: str, *, limit: int = 100) -> list[Incident]:
        """`sysparm_query` search, e.g. `correlation_id=abc` (used to make ticket creation idempotent)."""
        body = self._http.request(
            "GET", _TABLE, params={"sysparm_query": query, "sysparm_limit": limit}
        ).json()
        return [Incident.model_validate(item) for item in body.get("result", [])]


def _incident(body: Any) -> Incident:
    if not isinstance(body, dict) or not isinstance(body.get("result"), dict):
        raise ConnectorError("ServiceNow", "response has no 'result' object", sent=True)
    return Incident.model_validate(body["result"])
