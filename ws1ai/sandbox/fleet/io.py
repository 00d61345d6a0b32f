"""Parquet on disk: one `<table>.parquet` per contract table plus `fleet.json` with the parameters."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from ws1ai.sandbox.fleet.contract import CONTRACT, validate_contract
from ws1ai.sandbox.fleet.generate import Fleet

__all__ = ["read_fleet", "write_fleet"]

META = "fleet.json"
OPTIONAL = ("compliance_history",)  # fleets written before it existed read back with an empty table


def write_fleet(fleet: Fleet, out_dir: Path, params: dict[str, Any] | None = None) -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    counts = {}
    for name, frame in fleet.tables().items():
        validate_contract(name, frame)
        path = out_dir / f"{name}.parquet"
        frame.write_parquet(path)
        written.append(path)
        counts[name] = frame.height
    meta = {"start": fleet.start.isoformat(), "end": fleet.end.isoformat(), "rows": counts, **(params or {})}
    meta_path = out_dir / META
    meta_path.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    written.append(meta_path)
    return written


def read_fleet(path: Path) -> Fleet:
    path = Path(path)
    meta: dict[str, Any] = json.loads((path / META).read_text())
    frames = {}
    for name in CONTRACT:
        file = path / f"{name}.parquet"
        if name in OPTIONAL and not file.exists():
            continue
        frame = pl.read_parquet(file)
        validate_contract(name, frame)
        frames[name] = frame
    return Fleet(**frames, start=date.fromisoformat(meta["start"]), end=date.fromisoformat(meta["end"]))
