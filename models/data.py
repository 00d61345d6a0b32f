"""Read contract tables from a directory of `<table>.parquet` files, validated and cut at an as-of date.

Reading is lazy with the date filter pushed into the scan, so scoring a large fleet reads only the window
the features need.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from models.schemas import CONTRACTS, EVENT_DATE_COLUMNS, ContractError, validate_table

__all__ = ["Tables", "data_hash", "last_date", "load_tables"]

Tables = dict[str, pl.DataFrame]


def _path(data_dir: Path, table: str) -> Path:
    return data_dir / f"{table}.parquet"


def load_tables(
    data_dir: str | Path,
    required: Sequence[str],
    optional: Sequence[str] = (),
    as_of: dt.date | None = None,
    lookback_days: int | None = None,
) -> Tables:
    """Load and validate tables; event rows after `as_of` are dropped (that is what "as of" means).

    `lookback_days` additionally drops event rows older than the window, which keeps scoring cheap.
    A missing optional table becomes an empty frame of the contract's shape.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(f"data directory not found: {data_dir}")
    out: Tables = {}
    for table in [*required, *optional]:
        path = _path(data_dir, table)
        if not path.exists():
            if table in required:
                raise ContractError(table, None, f"required table missing: {path.name} not in {data_dir}")
            out[table] = pl.DataFrame(schema={c: s.dtype for c, s in CONTRACTS[table].items()})
            continue
        lf = pl.scan_parquet(path)
        date_col = EVENT_DATE_COLUMNS.get(table)
        names = lf.collect_schema().names()
        if date_col is not None and date_col in names:
            col = pl.col(date_col).cast(pl.Date, strict=False)
            if as_of is not None:
                lf = lf.filter(col.is_null() | (col <= as_of))
            if lookback_days is not None and as_of is not None and table != "app_installs":
                lf = lf.filter(col > as_of - dt.timedelta(days=lookback_days))
        out[table] = validate_table(table, lf.collect(), as_of=as_of)
    return out


def last_date(data_dir: str | Path, table: str = "telemetry") -> dt.date:
    """The latest event date in a table: the default as-of date for scoring."""
    col = EVENT_DATE_COLUMNS[table]
    path = _path(Path(data_dir), table)
    if not path.exists():
        raise ContractError(table, None, f"required table missing: {path.name} not in {data_dir}")
    value = pl.scan_parquet(path).select(pl.col(col).max()).collect().item()
    if value is None:
        raise ContractError(table, col, "table is empty: cannot infer the as-of date")
    if isinstance(value, dt.datetime):
        return value.date()
    if not isinstance(value, dt.date):
        raise ContractError(table, col, f"dtype is {type(value).__name__}, expected date")
    return value


def data_hash(data_dir: str | Path, tables: list[str]) -> str:
    """Content hash of the parquet files a model was trained on (recorded in the sidecar)."""
    h = hashlib.sha256()
    for table in sorted(tables):
        path = _path(Path(data_dir), table)
        if path.exists():
            h.update(table.encode())
            with path.open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
    return h.hexdigest()[:16]
