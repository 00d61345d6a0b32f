"""The data contracts (docs/design.md#data-contracts: exact column names and dtypes) plus the simulator's
extra tables.

The simulator writes exactly these dtypes, so `validate_contract` is strict: a missing column or a dtype that
differs (Int32 for Int64, a zoned datetime) raises a `ValueError` that names the table and the column. Extra
columns are an error too, because other tools and held-out evaluations produce frames of exactly this shape.
"""

from __future__ import annotations

import polars as pl

__all__ = ["CONTRACT", "TABLES", "validate_contract"]

_I = pl.Int64()
_F = pl.Float64()
_S = pl.String()
_B = pl.Boolean()
_D = pl.Date()
_T = pl.Datetime("us")

CONTRACT: dict[str, dict[str, pl.DataType]] = {
    "devices": {
        "device_id": _I,
        "uuid": _S,
        "serial_number": _S,
        "platform": _S,
        "model": _S,
        "os_version": _S,
        "ownership": _S,
        "user_name": _S,
        "user_email": _S,
        "department": _S,
        "role": _S,
        "location_group_id": _I,
        "enrolled_on": _T,
        "last_seen": _T,
        "compliance_status": _S,
        "compromised": _B,
        "encrypted": _B,
        "purchase_date": _D,
        "warranty_end": _D,
    },
    "telemetry": {
        "device_id": _I,
        "date": _D,
        "battery_health_pct": _F,
        "battery_cycles": _I,
        "storage_used_pct": _F,
        "crash_count": _I,
        "kernel_panic_count": _I,
        "thermal_event_count": _I,
    },
    "failures": {"device_id": _I, "failed_on": _D, "component": _S},
    "apps": {"app_id": _I, "name": _S, "bundle_id": _S, "platform": _S, "license_cost_usd": _F},
    "app_installs": {"device_id": _I, "app_id": _I, "installed_on": _D},
    "app_usage": {"device_id": _I, "app_id": _I, "date": _D, "minutes_used": _F},
    "employees": {
        "employee_id": _S,
        "name": _S,
        "email": _S,
        "department": _S,
        "role": _S,
        "location": _S,
        "manager_email": _S,
        "start_date": _D,
        "end_date": _D,
        "status": _S,
    },
    "threat_signals": {"device_id": _I, "date": _D, "edr_risk_score": _F, "source": _S},
    # Optional in the models' contract: one row per device at its first window day and per status change.
    "compliance_history": {"device_id": _I, "date": _D, "compliance_status": _S},
    # Not in docs/design.md#data-contracts: what the sandbox and the role-bundle model need besides the
    # contract tables.
    "profiles": {"profile_id": _I, "name": _S, "platform": _S, "kind": _S},
    "device_profiles": {"device_id": _I, "profile_id": _I},
    "smart_groups": {"smart_group_id": _I, "name": _S, "department": _S, "role": _S},
}

TABLES: tuple[str, ...] = tuple(CONTRACT)


def validate_contract(name: str, frame: pl.DataFrame) -> None:
    """Raise `ValueError` naming the first column that is missing, unexpected or of the wrong dtype."""
    if name not in CONTRACT:
        raise ValueError(f"unknown table {name!r}; expected one of {', '.join(TABLES)}")
    expected = CONTRACT[name]
    schema = frame.schema
    for column, dtype in expected.items():
        if column not in schema:
            raise ValueError(f"{name}.{column}: column missing")
        if schema[column] != dtype:
            raise ValueError(f"{name}.{column}: dtype {schema[column]} but the contract says {dtype}")
    extra = [c for c in schema if c not in expected]
    if extra:
        raise ValueError(f"{name}.{extra[0]}: column not in the contract")
