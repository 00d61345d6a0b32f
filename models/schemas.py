"""The data contracts of docs/design.md as validated polars schemas.

Other tools (and a held-out evaluation) produce frames of exactly this shape, so validation is strict about
what matters (column present, kind of dtype, physically possible values, nothing dated after the as-of date)
and lenient about what does not (Int32 vs Int64, datetime time unit or zone, extra columns are dropped).
Every error names the table and the column.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

__all__ = [
    "CONTRACTS",
    "EVENT_DATE_COLUMNS",
    "Column",
    "ContractError",
    "contract_fingerprint",
    "model_columns",
    "validate_table",
]


class ContractError(ValueError):
    """A frame does not satisfy its data contract; the message names the table and column."""

    def __init__(self, table: str, column: str | None, problem: str) -> None:
        self.table, self.column, self.problem = table, column, problem
        where = f"{table}.{column}" if column else table
        super().__init__(f"contract violation in {where}: {problem}")


@dataclass(frozen=True)
class Column:
    dtype: pl.DataType
    nullable: bool = False
    lo: float | None = None  # inclusive physical bounds, checked on non-null values
    hi: float | None = None
    allowed: tuple[str, ...] | None = None
    # Personal data (names, e-mail addresses, serial numbers): in the docs/design.md table, never read by a
    # model.
    # Not required either, so a fleet exported without personal data is valid input.
    personal: bool = False


_I, _F, _S, _B = pl.Int64(), pl.Float64(), pl.String(), pl.Boolean()
_D, _T = pl.Date(), pl.Datetime("us")

CONTRACTS: dict[str, dict[str, Column]] = {
    "devices": {
        "device_id": Column(_I),
        "uuid": Column(_S, nullable=True),
        "serial_number": Column(_S, nullable=True, personal=True),
        "platform": Column(_S),
        "model": Column(_S, nullable=True),
        "os_version": Column(_S, nullable=True),
        "ownership": Column(_S, nullable=True, allowed=("C", "E", "S")),
        "user_name": Column(_S, nullable=True, personal=True),
        "user_email": Column(_S, nullable=True, personal=True),
        "department": Column(_S, nullable=True),
        "role": Column(_S, nullable=True),
        "location_group_id": Column(_I, nullable=True),
        "enrolled_on": Column(_T, nullable=True),
        "last_seen": Column(_T, nullable=True),
        "compliance_status": Column(_S, nullable=True, allowed=("Compliant", "NonCompliant", "NotAvailable")),
        "compromised": Column(_B, nullable=True),
        "encrypted": Column(_B, nullable=True),
        "purchase_date": Column(_D, nullable=True),
        "warranty_end": Column(_D, nullable=True),
    },
    "telemetry": {
        "device_id": Column(_I),
        "date": Column(_D),
        # A new battery may read slightly above 100 %; 180 % is impossible.
        "battery_health_pct": Column(_F, nullable=True, lo=0.0, hi=110.0),
        "battery_cycles": Column(_I, nullable=True, lo=0),
        "storage_used_pct": Column(_F, nullable=True, lo=0.0, hi=100.0),
        "crash_count": Column(_I, nullable=True, lo=0),
        "kernel_panic_count": Column(_I, nullable=True, lo=0),
        "thermal_event_count": Column(_I, nullable=True, lo=0),
    },
    "failures": {
        "device_id": Column(_I),
        "failed_on": Column(_D),
        "component": Column(_S),
    },
    "apps": {
        "app_id": Column(_I),
        "name": Column(_S, nullable=True),
        "bundle_id": Column(_S, nullable=True),
        "platform": Column(_S, nullable=True),
        "license_cost_usd": Column(_F, lo=0.0),
    },
    "app_installs": {
        "device_id": Column(_I),
        "app_id": Column(_I),
        "installed_on": Column(_D, nullable=True),
    },
    "app_usage": {
        "device_id": Column(_I),
        "app_id": Column(_I),
        "date": Column(_D),
        "minutes_used": Column(_F, lo=0.0, hi=1440.0),
    },
    "employees": {
        "employee_id": Column(_S),
        "name": Column(_S, nullable=True, personal=True),
        "email": Column(_S, nullable=True, personal=True),
        "department": Column(_S, nullable=True),
        "role": Column(_S, nullable=True),
        "location": Column(_S, nullable=True),
        "manager_email": Column(_S, nullable=True, personal=True),
        "start_date": Column(_D, nullable=True),
        "end_date": Column(_D, nullable=True),
        "status": Column(_S, nullable=True, allowed=("active", "pending_start", "terminated")),
    },
    "threat_signals": {
        "device_id": Column(_I),
        "date": Column(_D),
        "edr_risk_score": Column(_F, lo=0.0, hi=1.0),
        "source": Column(_S, nullable=True),
    },
    # Optional: compliance state (daily, or a row per change): how long a violation has lasted (risk model).
    "compliance_history": {
        "device_id": Column(_I),
        "date": Column(_D),
        "compliance_status": Column(_S, allowed=("Compliant", "NonCompliant", "NotAvailable")),
    },
    # Evaluation-only ground truth for compliance risk (simulator): compromised or infected = high risk.
    "security_truth": {
        "device_id": Column(_I),
        "compromised": Column(_B, nullable=True),
        "infected": Column(_B, nullable=True),
    },
    # Simulator extras used by role bundles (not in the docs/design.md table, but same discipline).
    "profiles": {
        "profile_id": Column(_I),
        "name": Column(_S, nullable=True),
        "platform": Column(_S, nullable=True),
        "kind": Column(_S, nullable=True),
    },
    "device_profiles": {"device_id": Column(_I), "profile_id": Column(_I)},
    "smart_groups": {
        "smart_group_id": Column(_I),
        "name": Column(_S, nullable=True),
        "department": Column(_S, nullable=True),
        "role": Column(_S, nullable=True),
    },
}

def model_columns(table: str) -> dict[str, Column]:
    """The contract's columns that models read: all but personal data."""
    return {name: col for name, col in CONTRACTS[table].items() if not col.personal}


# Columns that record when an event happened: none may be later than the as-of date.
EVENT_DATE_COLUMNS: dict[str, str] = {
    "telemetry": "date",
    "app_usage": "date",
    "threat_signals": "date",
    "app_installs": "installed_on",
    "compliance_history": "date",
}


def _coerce(table: str, name: str, series: pl.Series, want: pl.DataType) -> pl.Series:
    """Cast only lossless conversions of the same meaning; anything else is a wrong dtype.

    Accepted beside widenings: what pandas-based tools write for the same values. A day written as a
    timestamp at midnight (datetime64 columns) is that day; an integer count written as a float (pandas
    turns an integer column with gaps into float64 with NaN) is that count; NaN in a float reading means
    "not reported", which is null here. A time of day, or a fraction in a count, is still refused."""
    have = series.dtype
    if have.is_float():
        series = series.fill_nan(None)  # NaN compares above every bound: it would read as impossible
    if have == want:
        return series
    if have == pl.Null():
        return series.cast(want)
    if want == _D and isinstance(have, pl.Datetime):
        return _midnight_to_date(table, name, series)
    if want == _D and have == _S:
        parsed = series.str.to_date("%Y-%m-%d", strict=False)
        if bad := int((parsed.is_null() & series.is_not_null()).sum()):
            raise ContractError(table, name, f"{bad} value(s) are not YYYY-MM-DD dates")
        return parsed
    if want == _I and have.is_float():
        if bad := int((series != series.round(0)).sum()):
            raise ContractError(table, name, f"{bad} non-integer value(s) in {have}, expected {want}")
        return series.cast(want)
    ok = (
        (want == _I and have.is_integer())
        or (want == _F and (have.is_float() or have.is_integer()))
        or (want == _T and isinstance(have, pl.Datetime))
        or (want == _S and have == pl.Categorical())
    )
    if not ok:
        raise ContractError(table, name, f"dtype is {have}, expected {want}")
    if want == _T and isinstance(have, pl.Datetime) and have.time_zone is not None:
        series = series.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    return series.cast(want)


def _midnight_to_date(table: str, name: str, series: pl.Series) -> pl.Series:
    """A date column written as timestamps: accepted when every one is at midnight (UTC if zoned)."""
    dtype = series.dtype
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        series = series.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    days = series.dt.date()
    if bad := int((series != days.cast(series.dtype)).sum()):
        raise ContractError(
            table, name, f"dtype is {dtype} with {bad} value(s) not at midnight, expected a date"
        )
    return days


def validate_table(table: str, df: pl.DataFrame, as_of: dt.date | None = None) -> pl.DataFrame:
    """Return `df` restricted to the contract's columns in contract dtypes, or raise ContractError.

    Personal-data columns are neither required nor returned: models never hold them."""
    if table not in CONTRACTS:
        raise ContractError(table, None, f"unknown table (known: {', '.join(sorted(CONTRACTS))})")
    spec = model_columns(table)
    missing = [c for c in spec if c not in df.columns]
    if missing:
        raise ContractError(table, missing[0], f"missing column (all missing: {', '.join(missing)})")
    cols: list[pl.Series] = []
    for name, col in spec.items():
        s = _coerce(table, name, df.get_column(name), col.dtype)
        nulls = s.null_count()
        if nulls and not col.nullable:
            raise ContractError(table, name, f"{nulls} null value(s) in a non-nullable column")
        if col.lo is not None and (bad := int((s < col.lo).sum())):
            raise ContractError(table, name, f"{bad} value(s) below {col.lo} (min {s.min()!r})")
        if col.hi is not None and (bad := int((s > col.hi).sum())):
            raise ContractError(table, name, f"{bad} value(s) above {col.hi} (max {s.max()!r})")
        if col.allowed is not None:
            odd = s.drop_nulls().unique().filter(~s.drop_nulls().unique().is_in(col.allowed))
            if odd.len():
                raise ContractError(
                    table, name, f"unexpected value(s) {odd.head(3).to_list()}; allowed {list(col.allowed)}"
                )
        cols.append(s)
    out = pl.DataFrame(cols)
    date_col = EVENT_DATE_COLUMNS.get(table)
    if as_of is not None and date_col is not None and (late := int((out[date_col] > as_of).sum())):
        raise ContractError(
            table,
            date_col,
            f"{late} row(s) dated after the as-of date {as_of} (latest {out[date_col].max()!r})",
        )
    return out


def contract_fingerprint(tables: list[str]) -> str:
    """A short, stable description of the contract columns a model depends on (stored in sidecars)."""
    parts = [f"{t}:" + ",".join(f"{c}={s.dtype}" for c, s in CONTRACTS[t].items()) for t in sorted(tables)]
    return ";".join(parts)
