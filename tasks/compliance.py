"""Risk for compliance triage, in bulk: two report exports and the compliance events already in Prefect.

- The `Device Inventory` export gives every device's platform and OS version (the fleet's newest OS per
  platform is the patch-lag reference) and the asset facts the device API lacks (department, role, purchase
  date). The `Threat Signals Daily` export gives the EDR scores. One export each, never a call per device.
- How long a violation has lasted is not in any UEM API. The webhook receiver turns each Workspace ONE
  "Compliance Status Changed" notification into a `ws1.device.compliance-changed` Prefect event, so the
  history is read back from Prefect's event store (retention bounds it: 90 days in the local stack). A
  device with no such event has an unknown duration, which scores no points rather than a guess.
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
from ws1ai.policies.compliance import DeviceFacts
from ws1ai.prefect_events import iter_events
from ws1ai.settings import UEMSettings

__all__ = ["COMPLIANCE_EVENT", "prioritise_by_risk", "read_compliance_history", "read_risk_inputs"]

THREAT_REPORT = "Threat Signals Daily"
COMPLIANCE_EVENT = "ws1.device.compliance-changed"
ASSETS: dict[str, pl.DataType] = {
    "device_id": pl.Int64(),
    "platform": pl.String(),
    "os_version": pl.String(),
    "department": pl.String(),
    "role": pl.String(),
    "purchase_date": pl.Date(),
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
    return f"ws1ai-risk-inputs-{digest}-{hour}"


@task(
    name="read-risk-inputs",
    cache_key_fn=_risk_inputs_key,
    cache_expiration=dt.timedelta(hours=1),
    persist_result=True,
)
def read_risk_inputs(threat_days: int = 30) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(fleet assets: device_id, platform, os_version, department, role, purchase_date; threat_signals).

    Cached for the clock hour (see `_risk_inputs_key`); live device facts come from the device API anyway.
    """
    with ReportExporter() as reports:
        assets = report_frame(reports.export(INVENTORY_REPORT), ASSETS)
        start = dt.date.today() - dt.timedelta(days=threat_days)
        threats = report_frame(reports.export(THREAT_REPORT, start_date=start), THREATS)
    return assets, threats


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
    given, otherwise from this tenant's inventory as of today. Returns (devices, model version).
    """
    if risk_model_path:
        _, card = load_model(risk_model_path, "risk")
        params, version = card.params, card.model_version
    else:
        params, version = fit_risk(assets), "risk:in-run"
    as_of = as_of or dt.date.today()
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
