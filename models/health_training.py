"""Health training snapshots built a block of devices at a time, so memory follows the block, not the fleet.

Labels are cheap (device-date keys and the failures table), features are not. So the first pass labels the
keys of every snapshot (`snapshot_keys`: the as-of grid for enrolled devices plus the dense days before each
failure) and counts them per as-of date; that fixes the time split and the sampling rates before any
feature is computed. The second pass builds features for one block of devices at a time (`snapshots`, the
same code as unblocked) and keeps only:

- every positive snapshot in the training and validation periods (weight 1);
- training negatives at `neg_rate` (weight 1/neg_rate, as fitting always subsampled them);
- validation negatives at a rate capping them at `HealthConfig.valid_negatives` (weight 1/rate).

Whether a row is kept depends only on (device_id, as_of, seed) through a hash, never on the block it is in
or the order of rows, so the kept frame, and the model, are the same whatever the block size.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from models.features import MIN_HISTORY, device_features
from models.health import (
    HealthConfig,
    Progress,
    days_span,
    dense_positive_keys,
    label_snapshots,
    snapshots,
)

__all__ = [
    "BLOCK_DEVICES",
    "SamplingPlan",
    "blocked_training_snapshots",
    "keep_sampled",
    "memory_blocks",
    "plan_from_counts",
    "plan_from_frame",
    "snapshot_dates",
    "snapshot_keys",
    "table_training_snapshots",
    "telemetry_span",
]

Tables = dict[str, pl.DataFrame]
# Devices per block: about 1 GB of transient features at 365 days (a whole 10,000-device fleet took 4 GB).
BLOCK_DEVICES = 2_000


@dataclass(frozen=True)
class SamplingPlan:
    """The time split and the inclusion rates of negatives, fixed before any feature is computed."""

    first: dt.date
    last: dt.date
    split: dt.date
    neg_rate: float  # training negatives kept
    valid_neg_rate: float  # validation negatives kept
    train_positives: int
    train_negatives: int
    valid_negatives: int


def snapshot_dates(span: tuple[dt.date, dt.date], cfg: HealthConfig) -> list[dt.date]:
    """The as-of grid: every `snapshot_every_days` from the first day with enough history."""
    lo, hi = span
    first, last = lo + dt.timedelta(days=MIN_HISTORY - 1), hi - dt.timedelta(days=cfg.horizon_days)
    if last <= first:
        raise ValueError(
            f"need at least {MIN_HISTORY + cfg.horizon_days + 1} days of telemetry, have {(hi - lo).days + 1}"
        )
    return [first + dt.timedelta(days=k) for k in range(0, (last - first).days + 1, cfg.snapshot_every_days)]


def telemetry_span(data_dir: Path) -> tuple[dt.date, dt.date]:
    """First and last telemetry date of a fleet directory, reading only the date column."""
    from models.data import last_date

    hi = last_date(data_dir, "telemetry")  # also names a missing table or a wrong date type
    # Read as validation reads it (midnight timestamps and ISO strings are dates).
    lo = pl.scan_parquet(data_dir / "telemetry.parquet").select(
        pl.col("date").cast(pl.Date, strict=False).min()
    )
    first = lo.collect().item()
    assert isinstance(first, dt.date)
    return first, hi


def snapshot_keys(
    devices: pl.DataFrame, failures: pl.DataFrame, dates: list[dt.date], horizon: int
) -> pl.DataFrame:
    """The labelled keys (device_id, as_of, label, days_to_failure, ...) `snapshots` builds, no features."""
    grid = device_features(devices, dates).select("device_id", "as_of")
    keys = pl.concat([grid, dense_positive_keys(devices, failures, dates, horizon)]).unique()
    return label_snapshots(keys, failures, horizon)


def _split(first: dt.date, last: dt.date, cfg: HealthConfig) -> dt.date:
    return first + dt.timedelta(days=int((last - first).days * (1 - cfg.valid_fraction)))


def _count(labelled: pl.DataFrame, cfg: HealthConfig) -> pl.DataFrame:
    pos = pl.col("label") == 1
    return labelled.group_by("as_of").agg(
        pos.sum().alias("pos"),
        (pos & (pl.col("days_to_failure") <= cfg.train_lead_days)).sum().alias("near"),
        (~pos).sum().alias("neg"),
    )


def plan_from_counts(counts: pl.DataFrame, cfg: HealthConfig) -> SamplingPlan:
    """The plan from per-as_of counts of positives (`pos`, `near`: within train_lead_days) and negatives."""
    counts = counts.group_by("as_of").agg(pl.col("pos", "near", "neg").sum())
    first, last = counts["as_of"].min(), counts["as_of"].max()
    if not isinstance(first, dt.date) or not isinstance(last, dt.date):
        raise ValueError("no snapshots: no device is enrolled in the telemetry window")
    split = _split(first, last, cfg)
    train = counts.filter(pl.col("as_of") + dt.timedelta(days=cfg.horizon_days) <= split)
    pos, near, neg = (int(train[c].sum()) for c in ("pos", "near", "neg"))
    valid_neg = int(counts.filter(pl.col("as_of") > split)["neg"].sum())
    # As fitting uses them (see fit_health): only positives near their failure, when there are enough.
    fitted = near if 3 <= near < pos else pos
    return SamplingPlan(
        first,
        last,
        split,
        neg_rate=min(1.0, cfg.neg_per_pos * fitted / max(neg, 1)),
        valid_neg_rate=min(1.0, cfg.valid_negatives / max(valid_neg, 1)),
        train_positives=pos,
        train_negatives=neg,
        valid_negatives=valid_neg,
    )


def plan_from_frame(labelled: pl.DataFrame, cfg: HealthConfig) -> SamplingPlan:
    """The plan for a frame of every labelled snapshot (as `snapshots` builds them)."""
    return plan_from_counts(_count(labelled, cfg), cfg)


def _uniform(frame: pl.DataFrame, seed: int) -> np.ndarray[tuple[int], np.dtype[np.float64]]:
    """A uniform [0, 1) number per row from (device_id, as_of, seed) alone (splitmix64 finaliser)."""
    dev = frame["device_id"].fill_null(0).cast(pl.Int64).to_numpy().astype(np.uint64)
    day = frame["as_of"].cast(pl.Int32).cast(pl.Int64).to_numpy().astype(np.uint64)
    with np.errstate(over="ignore"):
        z = dev * np.uint64(0x9E3779B97F4A7C15) + day * np.uint64(0xD1B54A32D192ED03)
        z = z + np.uint64(seed & 0xFFFFFFFF) * np.uint64(0x8CB92BA72F3D8DD7)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    out: np.ndarray[tuple[int], np.dtype[np.float64]] = (z >> np.uint64(11)).astype(np.float64) / float(
        1 << 53
    )
    return out


def keep_sampled(frame: pl.DataFrame, plan: SamplingPlan, cfg: HealthConfig) -> pl.DataFrame:
    """The rows of labelled snapshots that training keeps, with `w` = 1 / inclusion probability."""
    train = pl.col("as_of") + dt.timedelta(days=cfg.horizon_days) <= plan.split
    valid = pl.col("as_of") > plan.split
    pos = pl.col("label") == 1
    u = pl.Series("_u", _uniform(frame, cfg.seed))
    keep = (train | valid) & (pos | (train & (u < plan.neg_rate)) | (valid & (u < plan.valid_neg_rate)))
    w = (
        pl.when(pos)
        .then(1.0)
        .when(train)
        .then(1.0 / max(plan.neg_rate, 1e-12))
        .otherwise(1.0 / max(plan.valid_neg_rate, 1e-12))
    )
    return frame.filter(keep).with_columns(w.cast(pl.Float64).alias("w"))


def _device_chunks(devices: pl.DataFrame, block_devices: int) -> Iterator[pl.DataFrame]:
    ids = devices.sort("device_id")
    for k in range(0, max(ids.height, 1), block_devices):
        yield ids.slice(k, block_devices)


def memory_blocks(tables: Tables, block_devices: int) -> Iterator[Tables]:
    """In-memory tables a block of devices at a time (ascending device_id ranges)."""
    ids = tables["devices"]["device_id"].unique().sort()
    cuts = [ids[k] for k in range(0, ids.len(), block_devices)]
    for i, lo in enumerate(cuts):
        hi = cuts[i + 1] if i + 1 < len(cuts) else None
        block = (
            pl.col("device_id") >= lo if hi is None else pl.col("device_id").is_between(lo, hi, closed="left")
        )
        yield {t: tables[t].filter(block) for t in ("devices", "telemetry", "failures")}


def blocked_training_snapshots(
    devices: pl.DataFrame,
    failures: pl.DataFrame,
    span: tuple[dt.date, dt.date],
    blocks: Iterable[Tables],
    cfg: HealthConfig,
    block_devices: int = BLOCK_DEVICES,
    progress: Progress | None = None,
) -> tuple[pl.DataFrame, SamplingPlan]:
    """The kept (weighted) training snapshots and their plan; `blocks` yield devices/telemetry/failures."""
    say = progress or (lambda _msg: None)
    dates = snapshot_dates(span, cfg)
    fails = failures.select("device_id", "failed_on", "component")
    counts = []
    for chunk in _device_chunks(devices, block_devices):
        ids = chunk["device_id"].implode()
        chunk_fails = fails.filter(pl.col("device_id").is_in(ids))
        counts.append(_count(snapshot_keys(chunk, chunk_fails, dates, cfg.horizon_days), cfg))
    plan = plan_from_counts(pl.concat(counts), cfg)
    say(
        f"{len(dates)} as-of dates, split at {plan.split}: keeping training negatives at "
        f"{plan.neg_rate:.3f}, validation negatives at {plan.valid_neg_rate:.3f}"
    )
    kept = []
    for i, block in enumerate(blocks):
        say(f"features for block {i + 1} ({block['devices'].height} devices)")
        kept.append(keep_sampled(snapshots(block, dates, cfg.horizon_days), plan, cfg))
    frame = pl.concat(kept, how="vertical_relaxed").sort("device_id", "as_of")
    return frame, plan


def table_training_snapshots(
    tables: Tables, cfg: HealthConfig, block_devices: int = BLOCK_DEVICES, progress: Progress | None = None
) -> tuple[pl.DataFrame, SamplingPlan]:
    """`blocked_training_snapshots` on tables already in memory."""
    blocks = memory_blocks(tables, block_devices)
    span = days_span(tables["telemetry"])
    return blocked_training_snapshots(
        tables["devices"], tables["failures"], span, blocks, cfg, block_devices, progress
    )
