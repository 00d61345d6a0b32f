"""Fleet + telemetry reads for predictive health, in bulk: device search pages and report exports.

Devices come from the UEM bulk search (live facts: user, ownership, enrolment); the asset facts the API
lacks (purchase date, warranty, department, role) and the daily telemetry come from the Intelligence-style
report export — one run, one CSV download per report, no call per device (docs/design.md rule 4). Both are
rebuilt as the data-contract frames of docs/design.md, which is what `models/` consumes.
"""

from __future__ import annotations

import datetime as dt
import io
from itertools import islice
from typing import Any

import polars as pl
from prefect import task
from prefect.cache_policies import NO_CACHE

from ws1ai.connectors.intelligence import ReportExporter
from ws1ai.uem import UEMClient
from ws1ai.uem.schemas.devices import DeviceV1

__all__ = [
    "DEVICE_SCHEMA",
    "TELEMETRY_SCHEMA",
    "devices_frame",
    "infer_failures",
    "read_fleet",
    "read_status_attributes",
    "report_frame",
    "resolve_cleanup_scripts",
]

TELEMETRY_REPORT = "Device Telemetry Daily"
INVENTORY_REPORT = "Device Inventory"

DEVICE_SCHEMA: dict[str, pl.DataType] = {
    "device_id": pl.Int64(),
    "uuid": pl.String(),
    "serial_number": pl.String(),
    "platform": pl.String(),
    "model": pl.String(),
    "os_version": pl.String(),
    "ownership": pl.String(),
    "user_name": pl.String(),
    "user_email": pl.String(),
    "department": pl.String(),
    "role": pl.String(),
    "location_group_id": pl.Int64(),
    "enrolled_on": pl.Datetime("us"),
    "last_seen": pl.Datetime("us"),
    "compliance_status": pl.String(),
    "compromised": pl.Boolean(),
    "encrypted": pl.Boolean(),
    "purchase_date": pl.Date(),
    "warranty_end": pl.Date(),
}
TELEMETRY_SCHEMA: dict[str, pl.DataType] = {
    "device_id": pl.Int64(),
    "date": pl.Date(),
    "battery_health_pct": pl.Float64(),
    "battery_cycles": pl.Int64(),
    "storage_used_pct": pl.Float64(),
    "crash_count": pl.Int64(),
    "kernel_panic_count": pl.Int64(),
    "thermal_event_count": pl.Int64(),
}
_ASSET_COLUMNS = ("department", "role", "purchase_date", "warranty_end")


def _ts(value: str | None) -> dt.datetime | None:
    if not value or value.startswith("0001-01-01"):
        return None  # UEM's "never set"
    try:
        return dt.datetime.fromisoformat(value.rstrip("Z"))
    except ValueError:
        return None


def devices_frame(devices: list[DeviceV1]) -> pl.DataFrame:
    """Search results as the `devices` contract (asset columns null: the API has no such fields)."""
    rows: list[dict[str, Any]] = []
    for d in devices:
        if d.device_id is None:
            continue
        rows.append(
            {
                "device_id": d.device_id,
                "uuid": d.uuid,
                "serial_number": d.serial_number,
                "platform": d.platform or "",
                "model": d.model,
                "os_version": d.operating_system,
                "ownership": d.ownership,
                "user_name": d.user_name,
                "user_email": d.user_email_address,
                "department": None,
                "role": None,
                "location_group_id": d.location_group_id.id.value
                if d.location_group_id and d.location_group_id.id
                else None,
                "enrolled_on": _ts(d.last_enrolled_on),
                "last_seen": _ts(d.last_seen),
                "compliance_status": d.compliance_status,
                "compromised": d.compromised_status,
                "encrypted": (d.data_encryption_yn or "").upper() in {"Y", "YES", "TRUE"},
                "purchase_date": None,
                "warranty_end": None,
            }
        )
    return pl.DataFrame(rows, schema=DEVICE_SCHEMA)


def report_frame(data: bytes, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """A report's CSV as a frame of exactly `schema` (columns the report lacks are null)."""
    if not data.strip():
        return pl.DataFrame(schema=schema)
    frame = pl.read_csv(io.BytesIO(data), schema_overrides=schema, try_parse_dates=False)
    return frame.select(
        [pl.col(c).cast(t) if c in frame.columns else pl.lit(None, t).alias(c) for c, t in schema.items()]
    )


@task(name="read-fleet", cache_policy=NO_CACHE)
def read_fleet(max_devices: int, history_days: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(devices, telemetry) contract frames: the first `max_devices` devices, `history_days` of telemetry."""
    with UEMClient(read_only=True) as uem:
        found = list(islice(uem.devices.iter_search(), max_devices))
    devices = devices_frame(found)
    with ReportExporter() as reports:
        assets = report_frame(
            reports.export(INVENTORY_REPORT),
            {
                "device_id": pl.Int64(),
                "department": pl.String(),
                "role": pl.String(),
                "purchase_date": pl.Date(),
                "warranty_end": pl.Date(),
            },
        )
        # The window ends at the tenant's today (its clock as it finished the inventory export), not this
        # machine's: a tenant whose clock is weeks behind would otherwise lose weeks of history.
        today = (reports.completed_at or dt.datetime.now(dt.UTC)).date()
        start = today - dt.timedelta(days=history_days)
        telemetry = report_frame(reports.export(TELEMETRY_REPORT, start_date=start), TELEMETRY_SCHEMA)
    if telemetry.height:
        # The export's newest day, not the calendar: a tenant whose telemetry lags still gets a full window.
        last = telemetry["date"].max()
        assert isinstance(last, dt.date)
        telemetry = telemetry.filter(pl.col("date") > last - dt.timedelta(days=history_days))
    devices = (
        devices.drop(_ASSET_COLUMNS).join(assets, on="device_id", how="left").select(list(DEVICE_SCHEMA))
    )
    ids = devices["device_id"].implode()
    return devices, telemetry.filter(pl.col("device_id").is_in(ids)).sort("device_id", "date")


@task(name="read-status-attributes")
def read_status_attributes(name: str, device_ids: list[int]) -> dict[int, str]:
    """The current value of one custom attribute, for the given devices (one bulk search, paged)."""
    wanted, out = set(device_ids), {}
    with UEMClient(read_only=True) as uem:
        page_no = 0
        while True:
            page = uem.devices.search_custom_attributes(custom_attribute_name=name, page=page_no)
            for device in page.items:
                if device.device_id in wanted:
                    for attr in device.custom_attributes:
                        if attr.name.lower() == name.lower() and attr.value is not None:
                            out[int(device.device_id)] = attr.value
            if page.is_last:
                return out
            page_no += 1


@task(name="resolve-cleanup-scripts")
def resolve_cleanup_scripts(names: dict[str, str]) -> dict[str, str]:
    """Script uuids by platform, from the tenant's scripts (exact names); missing ones are left out."""
    out: dict[str, str] = {}
    with UEMClient(read_only=True) as uem:
        og_uuid = _customer_og_uuid(uem)
        if og_uuid is None:
            return out
        scripts = uem.scripts.list(og_uuid).search_results
        for platform, wanted in names.items():
            for script in scripts:
                if script.name == wanted and script.script_uuid:
                    out[platform] = script.script_uuid
                    break
    return out


def _customer_og_uuid(uem: UEMClient) -> str | None:
    # Scripts are listed per organization group; the admin's own (customer) group holds the shared ones.
    for group in uem.org_groups.iter_search():
        if (group.location_group_type or "").lower() == "customer" and group.uuid:
            return str(group.uuid)
    return None


def infer_failures(
    devices: pl.DataFrame, telemetry: pl.DataFrame, *, quiet_days: int = 7, replaced_within: int = 14
) -> pl.DataFrame:
    """Failure labels from the tenant's own history: a device went quiet and its user got a new one.

    A real tenant has no "failures" table; what it shows is a device that stopped reporting while its user
    enrolled a device of the same platform shortly after. The component is read off the last fortnight of
    telemetry (battery wear, a full disk, or else the board). A proxy, not the truth: good enough to bootstrap
    a model, and the flow says so in its log.
    """
    schema = {"device_id": pl.Int64(), "failed_on": pl.Date(), "component": pl.String()}
    if telemetry.height == 0 or devices.height == 0:
        return pl.DataFrame(schema=schema)
    end = telemetry["date"].max()
    assert isinstance(end, dt.date)
    span = telemetry.group_by("device_id").agg(
        pl.col("date").min().alias("first"), pl.col("date").max().alias("last")
    )
    who = devices.select("device_id", "user_email", "platform").join(span, on="device_id")
    quiet = who.filter(pl.col("last") < end - dt.timedelta(days=quiet_days))
    pairs = quiet.join(who, on=["user_email", "platform"], suffix="_new").filter(
        (pl.col("device_id_new") != pl.col("device_id"))
        & (pl.col("first_new") > pl.col("last") - dt.timedelta(days=3))
        & (pl.col("first_new") <= pl.col("last") + dt.timedelta(days=replaced_within))
    )
    failed = pairs.select("device_id", "last").unique("device_id")
    tail = telemetry.join(failed, on="device_id").filter(
        pl.col("date") > pl.col("last") - dt.timedelta(days=14)
    )
    signs = tail.group_by("device_id").agg(
        (pl.col("battery_health_pct").max() - pl.col("battery_health_pct").min()).alias("battery_drop"),
        pl.col("battery_health_pct").min().alias("battery_min"),
        pl.col("storage_used_pct").max().alias("storage_max"),
    )
    component = (
        pl.when((pl.col("battery_drop") >= 5) | (pl.col("battery_min") < 70))
        .then(pl.lit("battery"))
        .when(pl.col("storage_max") >= 95)
        .then(pl.lit("storage"))
        .otherwise(pl.lit("logic_board"))
    )
    return (
        failed.join(signs, on="device_id", how="left")
        .select(
            "device_id",
            (pl.col("last") + dt.timedelta(days=1)).alias("failed_on"),
            component.alias("component"),
        )
        .cast(schema)  # type: ignore[arg-type]
        .sort("failed_on", "device_id")
    )
