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

__all__ = ["Incident", "JournalEntry", "ServiceNowClient"]

_TABLE = "/api/now/table/incident"
_JOURNAL = "/api/now/table/sys_journal_field"
# The caller's correlation id rides on every write as a header too, so the instance's request log (and the
# sandbox's ledger) ties the call to the audited action, not to an id the transport made up.
_CORRELATION_HEADER = "X-Correlation-Id"


class Incident(BaseModel):
    """The fields ws1ai reads; ServiceNow returns ~90 more, kept as extras."""

    model_config = ConfigDict(extra="allow")

    sys_id: str
    number: str
    state: str = ""
    short_description: str = ""
    description: str = ""
    correlation_id: str = ""


class JournalEntry(BaseModel):
    """A `work_notes`/`comments` entry (`sys_journal_field`); journal fields read back empty on the record."""

    model_config = ConfigDict(extra="allow")

    sys_id: str = ""
    element: str
    element_id: str
    value: str = ""
    sys_created_on: str = ""


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

    def create_incident(self, fields: Mapping[str, Any], *, correlation_id: str | None = None) -> Incident:
        """POST an incident (201). `correlation_id` (the action's) is stored in the incident's own
        `correlation_id` field, so a retry finds it rather than duplicating, and sent as a header."""
        body = dict(fields)
        if correlation_id is not None:
            if body.get("correlation_id", correlation_id) != correlation_id:
                raise ValueError("fields carry a different correlation_id than the one given")
            body["correlation_id"] = correlation_id
        response = self._http.request("POST", _TABLE, json=body, headers=_correlated(correlation_id))
        return _incident(response.json())

    def get_incident(self, sys_id: str) -> Incident:
        return _incident(self._http.request("GET", f"{_TABLE}/{sys_id}").json())

    def update_incident(
        self, sys_id: str, fields: Mapping[str, Any], *, correlation_id: str | None = None
    ) -> Incident:
        """PATCH an incident (200; 404: unknown sys_id). `work_notes`/`comments` append a journal entry."""
        response = self._http.request(
            "PATCH", f"{_TABLE}/{sys_id}", json=dict(fields), headers=_correlated(correlation_id)
        )
        return _incident(response.json())

    def find_by_number(self, number: str) -> Incident | None:
        found = self.find_incidents(f"number={number}", limit=1)
        return found[0] if found else None

    def journal(self, sys_id: str, element: str = "work_notes") -> list[JournalEntry]:
        """An incident's `work_notes` (or `comments`) entries, oldest first."""
        query = f"element_id={sys_id}^element={element}^ORDERBYsys_created_on"
        body = self._http.request("GET", _JOURNAL, params={"sysparm_query": query}).json()
        return [JournalEntry.model_validate(item) for item in body.get("result", [])]

    def find_incidents(self, query: str, *, limit: int = 100) -> list[Incident]:
        """`sysparm_query` search, e.g. `correlation_id=abc` (used to make ticket creation idempotent)."""
        body = self._http.request(
            "GET", _TABLE, params={"sysparm_query": query, "sysparm_limit": limit}
        ).json()
        return [Incident.model_validate(item) for item in body.get("result", [])]


def _correlated(correlation_id: str | None) -> dict[str, str] | None:
    return None if correlation_id is None else {_CORRELATION_HEADER: correlation_id}


def _incident(body: Any) -> Incident:
    if not isinstance(body, dict) or not isinstance(body.get("result"), dict):
        raise ConnectorError("ServiceNow", "response has no 'result' object", sent=True)
    return Incident.model_validate(body["result"])
