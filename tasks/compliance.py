"""Risk for compliance triage, in bulk: two report exports and the compliance events already in Prefect.

- The `Device Inventory` export gives every device's platform and OS version (the fleet's newest OS per
  platform is the patch-lag reference) and the asset facts the device API lacks (department, role, purchase
  date). The `Threat Signals Daily` export gives the EDR scores. One export each, never a call per device.
- How long a violation has lasted is not in any UEM API. The webhook receiver turns each Workspace ONE
  "Compliance Status Changed" notification into a `ws1.device.compliance-changed` Prefect event, so the
  history is read back from Prefect's event store (retention bounds it: 90 days in the local stack). A
  device with no such event has an unknown duration, which scores no points rather than a guess.
- Every age is measured on the tenant's clock (`tenant_today`: the newest check-in or compliance change
  the tenant reported), never the local calendar: a sandbox or a tenant whose clock differs from this
  machine's must not turn a violation minutes old into one "35 days" old.
- Reminders are facts of the audit trail (`count_reminders`): only a compliance reminder actually executed
  for the device during its current violation counts.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from typing import Any

import polars as pl
from prefect import task
from prefect.cache_policies import NO_CACHE

from models.registry import load_model
from models.risk import fit_risk, score_risk
from tasks.telemetry import INVENTORY_REPORT, report_frame
from ws1ai.connectors.intelligence import IntelligenceSettings, ReportExporter
from ws1ai.governance.actions import ActionKind
from ws1ai.governance.audit import AuditStatus, AuditStore, PrefectAuditStore
from ws1ai.policies.compliance import REMINDER_PURPOSE, DeviceFacts
from ws1ai.prefect_events import iter_events
from ws1ai.settings import UEMSettings

__all__ = [
    "COMPLIANCE_EVENT",
    "count_reminders",
    "prioritise_by_risk",
    "read_compliance_history",
    "read_risk_inputs",
    "tenant_today",
]

THREAT_REPORT = "Threat Signals Daily"
COMPLIANCE_EVENT = "ws1.device.compliance-changed"
ASSETS: dict[str, pl.DataType] = {
    "device_id": pl.Int64(),
    "platform": pl.String(),
    "os_version": pl.String(),
    "department": pl.String(),
    "role": pl.String(),
    "purchase_date": pl.Date(),
    "last_seen": pl.Datetime("us"),  # the tenant's own clock: its newest check-in dates "now"
}
THREATS: dict[str, pl.DataType] = {
    "device_id": pl.Int64(),
    "date": pl.Date(),
    "edr_risk_score": pl.Float64(),
    "source": pl.String(),
}
HISTORY: dict[str, pl.DataType] = {
    "device_id": pl.Int64(),
    "date": pl.Date(),
    "compliance_status": pl.String(),
}


def _risk_inputs_key(_context: Any, parameters: dict[str, Any]) -> str:
    """One export per tenant per clock hour: event-triggered runs (one device each, possibly many an hour)
    share it instead of exporting the whole fleet's inventory and threat signals every time."""
    tenant = IntelligenceSettings().base_url or UEMSettings().base_url
    hour = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H")
    digest = hashlib.sha256(f"{tenant}|{parameters.get('threat_days')}".encode()).hexdigest()[:16]
    return f"ws1ai-risk-inputs-v2-{digest}-{hour}"  # v2: with last_seen and the tenant's time


@task(
    name="read-risk-inputs",
    cache_key_fn=_risk_inputs_key,
    cache_expiration=dt.timedelta(hours=1),
    persist_result=True,
)
def read_risk_inputs(threat_days: int = 30) -> tuple[pl.DataFrame, pl.DataFrame, dt.datetime | None]:
    """(fleet assets: device_id, platform, os_version, department, role, purchase_date, last_seen;
    threat_signals; the tenant's time when it finished the inventory export, if it said).

    Cached for the clock hour (see `_risk_inputs_key`); live device facts come from the device API anyway.
    """
    with ReportExporter() as reports:
        assets = report_frame(reports.export(INVENTORY_REPORT), ASSETS)
        reported_at = reports.completed_at
        # The window ends at the tenant's today, not this machine's (their clocks may differ by weeks).
        today = tenant_today(assets, pl.DataFrame(schema=HISTORY), reported_at)
        start = today - dt.timedelta(days=threat_days)
        threats = report_frame(reports.export(THREAT_REPORT, start_date=start), THREATS)
    return assets, threats, reported_at


def tenant_today(
    assets: pl.DataFrame, history: pl.DataFrame, reported_at: dt.datetime | None = None
) -> dt.date:
    """The tenant's today: when it finished our export (`reported_at`), else its newest device check-in
    (inventory `last_seen`) or compliance change, whichever is latest.

    Ages computed against it come from the same clock as the violation starts they are measured from. A
    tenant that reported no time at all falls back to this machine's UTC date (with no tenant time there
    is no violation start either, so no age is computed from it).
    """
    stamps: list[dt.date] = [reported_at.date()] if reported_at is not None else []
    if "last_seen" in assets.columns and isinstance(seen := assets["last_seen"].max(), dt.datetime):
        stamps.append(seen.date())
    if history.height and isinstance(changed := history["date"].max(), dt.date):
        stamps.append(changed)
    return max(stamps) if stamps else dt.datetime.now(dt.UTC).date()


@task(name="count-reminders", cache_policy=NO_CACHE)
def count_reminders(devices: list[DeviceFacts], store: AuditStore | None = None) -> dict[int, int]:
    """Compliance reminders executed per device during its current violation, from the audit trail.

    A reminder counts when an executed `message_send` action marked `REMINDER_PURPOSE` targeted the device
    no longer ago than the violation has lasted. Both are durations, each measured on its own clock (audit
    records on this machine's, the violation on the tenant's), so clock skew cannot create a reminder. A
    device whose violation start is unknown has no reminders "during" it.
    """
    ages = {d.device_id: d.days_non_compliant for d in devices if d.days_non_compliant is not None}
    if not ages:
        return {}
    now = dt.datetime.now(dt.UTC)
    store = store or PrefectAuditStore()
    since = now - dt.timedelta(days=max(ages.values()))
    seen: dict[int, set[str]] = {}
    for r in store.read(since=since):
        a = r.action
        if (
            r.status is not AuditStatus.EXECUTED
            or a.kind is not ActionKind.MESSAGE_SEND
            or a.payload.get("purpose") != REMINDER_PURPOSE
        ):
            continue
        for target in a.targets:
            device = int(target) if target.isdigit() else None
            if device in ages and r.occurred >= now - dt.timedelta(days=ages[device]):
                seen.setdefault(device, set()).add(a.correlation_id)
    return {device: len(ids) for device, ids in seen.items()}


@task(name="read-compliance-history", cache_policy=NO_CACHE)
def read_compliance_history(device_ids: list[int], lookback_days: int = 90) -> pl.DataFrame:
    """compliance_history(device_id, date, compliance_status) for `device_ids`, from the receiver's events."""
    from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter, EventResourceFilter

    if not device_ids:
        return pl.DataFrame(schema=HISTORY)
    now = dt.datetime.now(dt.UTC)
    rows: list[dict[str, Any]] = []
    # Batches of resource ids keep the filter (a JSON body) bounded.
    for i in range(0, len(device_ids), 200):
        flt = EventFilter(
            event=EventNameFilter(name=[COMPLIANCE_EVENT]),
            occurred=EventOccurredFilter(since=now - dt.timedelta(days=lookback_days), until=now),
            resource=EventResourceFilter(id=[f"ws1.device.{d}" for d in device_ids[i : i + 200]]),
        )
        rows += [row for ev in iter_events(flt) if (row := _history_row(ev)) is not None]
    return pl.DataFrame(rows, schema=HISTORY).unique().sort("device_id", "date")


def _history_row(event: Any) -> dict[str, Any] | None:
    status = event.resource.get("ws1.device.compliance-status") or event.payload.get("compliance_status")
    name = event.resource.get("prefect.resource.name")
    if not status or not name or not str(name).isdigit():
        return None
    # UEM's own time of the change travels in the payload; `occurred` is when the receiver got it.
    when = event.occurred
    if isinstance(stamp := event.payload.get("event_time"), str):
        with contextlib.suppress(ValueError):  # a malformed stamp: fall back to when we received it
            when = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return {"device_id": int(name), "date": when.date(), "compliance_status": str(status)}


@task(name="prioritise-by-risk", cache_policy=NO_CACHE)
def prioritise_by_risk(
    devices: list[DeviceFacts],
    assets: pl.DataFrame,
    threats: pl.DataFrame,
    history: pl.DataFrame,
    risk_model_path: str | None = None,
    as_of: dt.date | None = None,
) -> tuple[list[DeviceFacts], str]:
    """The devices, riskiest first, with risk score, reasons, role sensitivity and violation age filled in.

    References (the newest OS per platform) come from a registry model (`ws1ai models train risk`) when one is
    given, otherwise from this tenant's inventory. Ages are measured to `as_of`, the tenant's today
    (`tenant_today`), never this machine's calendar. Returns (devices, model version).
    """
    if risk_model_path:
        _, card = load_model(risk_model_path, "risk")
        params, version = card.params, card.model_version
    else:
        params, version = fit_risk(assets), "risk:in-run"
    as_of = as_of or tenant_today(assets, history)
    live = pl.DataFrame(
        [
            d.model_dump(
                include={
                    "device_id",
                    "platform",
                    "os_version",
                    "compliance_status",
                    "compromised",
                    "encrypted",
                }
            )
            for d in devices
        ],
        schema={
            "device_id": pl.Int64(),
            "platform": pl.String(),
            "os_version": pl.String(),
            "compliance_status": pl.String(),
            "compromised": pl.Boolean(),
            "encrypted": pl.Boolean(),
        },
    )
    # Live facts from the device API win; the inventory adds only what the API lacks.
    frame = live.join(
        assets.select("device_id", "department", "role", "purchase_date"), on="device_id", how="left"
    )
    shown = ("sensitivity", "violation_days")
    scored = score_risk(frame, threats, history, params, as_of, only_noncompliant=False, keep=shown)
    by_id = {d.device_id: d for d in devices}
    ranked = [
        by_id[row["device_id"]].model_copy(
            update={
                "risk_score": round(float(row["risk_score"]), 4),
                "risk_reasons": list(row["reasons"]),
                "data_sensitivity": row["sensitivity"] or "medium",
                "days_non_compliant": row["violation_days"],
            }
        )
        for row in scored.iter_rows(named=True)
    ]
    return ranked, version
