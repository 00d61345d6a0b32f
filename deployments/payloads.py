"""Inbound wire models: the JSON Workspace ONE UEM POSTs to an event-notification target, and HRIS changes.

Field names are the real ones (docs/uem-api.md#webhook-payload). The models are lenient about
extra fields (UEM adds attributes per event type and per release) and strict about what the receiver relies
on: the de-duplication key (EventId, DeviceId, EventType, EventTime) and the status of the change.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ws1ai.governance.redaction import Redactor

__all__ = ["HRISChangeEvent", "UEMEvent", "describe_errors", "parse_event_time", "replay_fields"]

# UEM writes EventTime as .NET round-trip UTC: 7 fractional digits ("…59.5720125Z"); 5 digits appear too
# (trailing zeros trimmed). We accept 1-7 digits, or none, so a real event is never dead-lettered over
# precision — but the "Z" (UTC) is required: a zone-less time would silently shift by the server's offset.
_EVENT_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,7}))?Z$")


def parse_event_time(value: str) -> datetime:
    match = _EVENT_TIME.match(value)
    if not match:
        raise ValueError("expected UTC like 2022-01-16T09:13:59.5720125Z (up to 7 fractional digits and a Z)")
    whole, frac = match.groups()
    micro = int((frac or "0").ljust(6, "0")[:6])  # Python keeps microseconds: drop the 7th digit
    return datetime.fromisoformat(whole).replace(microsecond=micro, tzinfo=UTC)


class UEMEvent(BaseModel):
    """One UEM event notification (JSON format, `Format: 1`)."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    # What deployments.events maps to a Prefect event: all a re-sent dead letter needs, and no personal data.
    REPLAY_FIELDS: ClassVar[tuple[str, ...]] = (
        "EventId", "EventType", "DeviceId", "EventTime", "DeviceUUID", "ComplianceStatus",
        "CompromisedStatus", "EnrollmentStatus", "Platform", "OperatingSystem", "Ownership",
    )  # fmt: skip

    EventId: int = Field(ge=0)
    EventType: str = Field(min_length=1)
    DeviceId: int = Field(gt=0)
    EventTime: str
    ComplianceStatus: str | None = None
    # "" when not compromised in recorded payloads; accept a bool too (other UEM versions/serialisers).
    CompromisedStatus: str | bool | None = None
    CompromisedTimeStamp: str | None = None
    EnrollmentStatus: str | None = None
    Udid: str | None = None
    SerialNumber: str | None = None
    Platform: str | None = None
    OperatingSystem: str | None = None
    Ownership: str | None = None
    DeviceUUID: str | None = None
    OrganizationGroupName: str | None = None
    # Personal data UEM includes; modelled so it is recognised, never forwarded (see events.py).
    DeviceFriendlyName: str | None = None
    EnrollmentEmailAddress: str | None = None
    EnrollmentUserName: str | None = None
    PhoneNumber: str | None = None
    MACAddress: str | None = None
    DeviceIMEI: str | None = None
    AssetNumber: str | None = None
    EnrollmentUserId: int | None = None
    EnrollmentUserUUID: str | None = None

    @field_validator("EventTime")
    @classmethod
    def _event_time(cls, value: str) -> str:
        parse_event_time(value)
        return value

    @model_validator(mode="after")
    def _status_present(self) -> UEMEvent:
        # A compliance change without the new status cannot drive triage: reject it rather than guess.
        if self.EventType == "Compliance Status Changed" and not self.ComplianceStatus:
            raise ValueError("ComplianceStatus is required for a 'Compliance Status Changed' event")
        return self

    @property
    def occurred_at(self) -> datetime:
        return parse_event_time(self.EventTime)

    @property
    def dedup_key(self) -> str:
        """UEM re-sends a delivery it thinks failed: same event id, device, type and time."""
        return f"ws1|{self.EventId}|{self.DeviceId}|{self.EventType}|{self.EventTime}"


_EXACT = frozenset(
    {"EventId", "DeviceId", "DeviceUUID", "EventTime", "event_id", "employee_id", "effective_date"}
)
_HRIS_TYPES = {"hire": "hire", "leave": "leave", "move": "move", "termination": "leave"}


class HRISChangeEvent(BaseModel):
    """A change pushed by the HRIS: `{"event_id","type":"hire|leave|move","employee_id","effective_date"}`."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    REPLAY_FIELDS: ClassVar[tuple[str, ...]] = ("event_id", "type", "employee_id", "effective_date")

    event_id: str = Field(min_length=1)
    type: Literal["hire", "leave", "move"]
    employee_id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9._:-]+$")
    effective_date: date

    @field_validator("event_id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value

    @field_validator("type", mode="before")
    @classmethod
    def _type_alias(cls, value: Any) -> Any:
        # The HRIS API itself says "termination" (ws1ai.connectors.hris); the webhook contract says "leave".
        return _HRIS_TYPES.get(value.strip().lower(), value) if isinstance(value, str) else value

    @property
    def dedup_key(self) -> str:
        return f"hris|{self.event_id}|{self.type}|{self.employee_id}|{self.effective_date.isoformat()}"


def describe_errors(exc: ValidationError) -> str:
    """`DeviceId: Field required; EventTime: …` — names every field at fault, never echoes a secret."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def replay_fields(body: bytes, fields: tuple[str, ...]) -> dict[str, Any] | None:
    """The part of a refused body worth keeping for a re-send: `fields` of its JSON object, nothing else.

    A refused body may carry names, e-mail addresses, serials, IMEIs and phone numbers (UEM sends them all);
    a dead letter must not become a second copy of them. None when the body is no JSON object at all (then
    nothing of it can be replayed: the sender has to send it again).
    """
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(parsed, dict):
        return None
    kept = {k: parsed[k] for k in fields if k in parsed}
    # Ids and times stay exact (replay needs them, and a UUID can look like a serial to the patterns); a
    # sender's free text in the other kept fields (statuses, platform) is redacted like anything else.
    redactor = Redactor()
    return {k: v if k in _EXACT else redactor.redact(v) for k, v in kept.items()}
