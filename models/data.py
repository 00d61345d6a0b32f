"""Read contract tables from a directory of `<table>.parquet` files, validated and cut at an as-of date.

Reading is lazy: only the contract's columns are read, and the date filter is pushed into the scan, so
scoring a large fleet reads only the window the features need. `iter_device_blocks` reads the same tables a
block of devices at a time, so scoring memory is bounded by the block, not the fleet.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from collections.abc import Iterator, Sequence
from pathlib import Path

import polars as pl

from models.schemas import EVENT_DATE_COLUMNS, ContractError, model_columns, validate_table

__all__ = ["Tables", "data_hash", "iter_device_blocks", "last_date", "load_tables"]

Tables = dict[str, pl.DataFrame]


def _path(data_dir: Path, table: str) -> Path:
    return data_dir / f"{table}.parquet"


def _empty(table: str) -> pl.DataFrame:
    return pl.DataFrame(schema={c: s.dtype for c, s in model_columns(table).items()})


def _scan(path: Path, table: str, as_of: dt.date | None, lookback_days: int | None) -> pl.LazyFrame:
    """The columns models use (extra and personal ones are never read) of the rows dated within the window."""
    lf = pl.scan_parquet(path)
    names = lf.collect_schema().names()
    date_col = EVENT_DATE_COLUMNS.get(table)
    if date_col is not None and date_col in names:
        col = pl.col(date_col).cast(pl.Date, strict=False)
        if as_of is not None:
            lf = lf.filter(col.is_null() | (col <= as_of))
        if lookback_days is not None and as_of is not None and table != "app_installs":
            lf = lf.filter(col > as_of - dt.timedelta(days=lookback_days))
    # A missing contract column is left for validate_table to name.
    return lf.select([c for c in model_columns(table) if c in names])


def _dir(data_dir: str | Path) -> Path:
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(f"data directory not found: {data_dir}")
    return data_dir


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
    data_dir = _dir(data_dir)
    out: Tables = {}
    for table in [*required, *optional]:
        path = _path(data_dir, table)
        if not path.exists():
            if table in required:
                raise ContractError(table, None, f"required table missing: {path.name} not in {data_dir}")
            out[table] = _empty(table)
            continue
        out[table] = validate_table(table, _scan(path, table, as_of, lookback_days).collect(), as_of=as_of)
    return out


def _id_range(lo: int | None, hi: int | None) -> pl.Expr:
    """lo <= device_id < hi; the first block (no lo) also takes null ids, so validation still sees them."""
    ids = pl.col("device_id")
    if lo is None:
        return ids.is_null() | (ids < hi) if hi is not None else pl.lit(True)
    return (ids >= lo) & (ids < hi) if hi is not None else ids >= lo


def iter_device_blocks(
    data_dir: str | Path,
    required: Sequence[str],
    optional: Sequence[str] = (),
    as_of: dt.date | None = None,
    lookback_days: int | None = None,
    block_devices: int = 20_000,
) -> Iterator[Tables]:
    """`load_tables` a block of devices at a time (ascending device_id ranges covering every id once).

    `devices` (required) is read whole: one row per device. Each other table keyed by device is read per
    block with the id range pushed into the parquet scan; parquet written device by device (as the fleet
    writers do) then has whole row groups skipped, so a block costs its own rows and the fleet is never in
    memory at once. A table not sorted by device would be re-read for every block, so it is read once
    instead and cut in memory. Tables without a device_id are the same frame in every block. Validation is
    the same as `load_tables`' (every row is in exactly one block); a problem is reported in its block.
    """
    if "devices" not in required:
        raise ValueError("iter_device_blocks needs the devices table: blocks are ranges of its ids")
    data_dir = _dir(data_dir)
    devices = load_tables(data_dir, ["devices"])["devices"]
    ids = devices["device_id"].unique().sort()
    cuts: list[int | None] = [None, *ids.gather(list(range(block_devices, ids.len(), block_devices))), None]
    blocks = [_id_range(lo, hi) for lo, hi in itertools.pairwise(cuts)]
    whole: Tables = {}  # read once: not keyed by device, or not sorted by it
    lazy: dict[str, pl.LazyFrame] = {}
    for table in [*required, *optional]:
        if table == "devices":
            continue
        path = _path(data_dir, table)
        if not path.exists():
            if table in required:
                raise ContractError(table, None, f"required table missing: {path.name} not in {data_dir}")
            whole[table] = _empty(table)
            continue
        lf = _scan(path, table, as_of, lookback_days)
        keyed = "device_id" in lf.collect_schema().names()
        if keyed and len(blocks) > 1:
            # Reading one column to check the order costs little next to reading every block in full.
            unsorted = lf.select((pl.col("device_id").diff() < 0).any()).collect().item()
            if not unsorted:
                lazy[table] = lf
                continue
        whole[table] = validate_table(table, lf.collect(), as_of=as_of)
    for block in blocks:
        out: Tables = {}
        for table in [*required, *optional]:
            if table == "devices":
                out[table] = devices.filter(block) if len(blocks) > 1 else devices
            elif table in lazy:
                out[table] = validate_table(table, lazy[table].filter(block).collect(), as_of=as_of)
            else:
                frame = whole[table]
                keyed = "device_id" in frame.columns and len(blocks) > 1
                out[table] = frame.filter(block) if keyed else frame
        yield out


def last_date(data_dir: str | Path, table: str = "telemetry") -> dt.date:
    """The latest event date in a table: the default as-of date for scoring."""
    col = EVENT_DATE_COLUMNS[table]
    path = _path(Path(data_dir), table)
    if not path.exists():
        raise ContractError(table, None, f"required table missing: {path.name} not in {data_dir}")
    lf = pl.scan_parquet(path)
    dtype = lf.collect_schema().get(col)
    if dtype is None:
        raise ContractError(table, col, "missing column")
    if not (dtype in (pl.Date(), pl.String()) or isinstance(dtype, pl.Datetime)):
        raise ContractError(table, col, f"dtype is {dtype}, expected Date")
    # Read as validation reads it (midnight timestamps and ISO strings are dates; see schemas._coerce).
    value = lf.select(pl.col(col).cast(pl.Date, strict=False).max()).collect().item()
    if not isinstance(value, dt.date):
        raise ContractError(table, col, "table is empty: cannot infer the as-of date")
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
