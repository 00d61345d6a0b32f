"""Health training data: the config, labelled snapshots, and building them a block of devices at a time.

The dependency points one way: `models.health` (fitting, scoring) imports this module, never the reverse.
Snapshots are built a block of devices at a time, so memory follows the block, not the fleet.

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
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from models.features import MIN_HISTORY, device_features, health_features

__all__ = [
    "BLOCK_DEVICES",
    "HealthConfig",
    "Progress",
    "SamplingPlan",
    "blocked_training_snapshots",
    "days_span",
    "dense_positive_keys",
    "keep_sampled",
    "label_snapshots",
    "memory_blocks",
    "plan_from_counts",
    "plan_from_frame",
    "snapshot_dates",
    "snapshot_keys",
    "snapshots",
    "table_training_snapshots",
    "telemetry_span",
]

Tables = dict[str, pl.DataFrame]
# Devices per block: about 1 GB of transient features at 365 days (a whole 10,000-device fleet took 4 GB).
BLOCK_DEVICES = 2_000
Progress = Callable[[str], None]


@dataclass
class HealthConfig:
    horizon_days: int = 14
    snapshot_every_days: int = 3
    valid_fraction: float = 0.25
    neg_per_pos: float = 40.0
    train_lead_days: int = 10  # positives used for fitting: at most this many days before the failure
    monotone: bool = True  # known-direction signals may only raise (or lower) the risk
    cost_miss: float = 20.0  # a failure nobody saw coming: downtime, lost work, rush shipping
    cost_false_alarm: float = 1.0  # a technician looks at a healthy device
    weekly_review_budget: int | None = None  # if set, threshold = this many alerts per weekly review
    valid_negatives: int = 300_000  # at most about this many validation negatives kept (re-weighted)
    max_iter: int = 150
    seed: int = 0


def days_span(telemetry: pl.DataFrame) -> tuple[dt.date, dt.date]:
    lo, hi = telemetry["date"].min(), telemetry["date"].max()
    if not isinstance(lo, dt.date) or not isinstance(hi, dt.date):
        raise ValueError("telemetry is empty: nothing to learn from")
    return lo, hi


def label_snapshots(snaps: pl.DataFrame, failures: pl.DataFrame, horizon: int) -> pl.DataFrame:
    """Add `label` (first failure after as_of within the horizon), `component`, `days_to_failure`.

    Device-dates within 30 days after a failure are dropped: the device is in repair, not in service.
    """
    f = failures.select("device_id", "failed_on", "component").sort("failed_on")
    keys = snaps.select("device_id", "as_of").unique()
    pairs = keys.join(f, on="device_id", how="inner")
    nxt = (
        pairs.filter(pl.col("failed_on") > pl.col("as_of"))
        .group_by("device_id", "as_of")
        .agg(pl.col("failed_on").min().alias("next_fail"), pl.col("component").sort_by("failed_on").first())
    )
    recent = (
        pairs.filter(
            (pl.col("failed_on") <= pl.col("as_of"))
            & (pl.col("failed_on") > pl.col("as_of") - dt.timedelta(days=30))
        )
        .select("device_id", "as_of")
        .unique()
    )
    out = snaps.join(recent, on=["device_id", "as_of"], how="anti").join(
        nxt, on=["device_id", "as_of"], how="left"
    )
    dtf = (pl.col("next_fail") - pl.col("as_of")).dt.total_days()
    return out.with_columns(
        dtf.alias("days_to_failure"), (dtf.is_not_null() & (dtf <= horizon)).cast(pl.Int8).alias("label")
    ).drop("next_fail")


def dense_positive_keys(
    devices: pl.DataFrame, failures: pl.DataFrame, as_of_dates: Sequence[dt.date], horizon: int
) -> pl.DataFrame:
    """(device_id, as_of) of every day in the as-of range within the horizon before a failure (enrolled)."""
    empty = pl.DataFrame(schema={"device_id": devices.schema["device_id"], "as_of": pl.Date})
    if not failures.height or not as_of_dates:
        return empty
    lo, hi = min(as_of_dates), max(as_of_dates)
    days = [lo + dt.timedelta(days=k) for k in range((hi - lo).days + 1)]
    ids = failures["device_id"].unique()
    keys = device_features(devices.filter(pl.col("device_id").is_in(ids.implode())), days)
    return (
        keys.select("device_id", "as_of")
        .join(failures.select("device_id", "failed_on"), on="device_id")
        .filter(
            (pl.col("failed_on") > pl.col("as_of"))
            & (pl.col("failed_on") <= pl.col("as_of") + dt.timedelta(days=horizon))
        )
        .select("device_id", "as_of")
        .unique()
        .sort("device_id", "as_of")
    )


def snapshots(
    tables: dict[str, pl.DataFrame],
    as_of_dates: Sequence[dt.date],
    horizon: int,
    dense_positives: bool = True,
) -> pl.DataFrame:
    """Labelled feature snapshots; `dense_positives` adds every day of the horizon before each failure."""
    dev, tel, fail = tables["devices"], tables["telemetry"], tables["failures"]
    snaps = health_features(dev, tel, as_of_dates)
    near = dense_positive_keys(dev, fail, as_of_dates, horizon) if dense_positives else None
    if near is not None and near.height:
        ids = near["device_id"].unique().implode()
        # Every day of the as-of range, as for the grid dates: the rolling features measure time from the
        # first day, so the same first day keeps them bit-identical whatever devices are in the call.
        lo, hi = min(as_of_dates), max(as_of_dates)
        days = [lo + dt.timedelta(days=k) for k in range((hi - lo).days + 1)]
        extra = health_features(
            dev.filter(pl.col("device_id").is_in(ids)), tel.filter(pl.col("device_id").is_in(ids)), days
        ).join(near, on=["device_id", "as_of"], how="semi")
        snaps = pl.concat([snaps, extra.select(snaps.columns)]).unique(
            ["device_id", "as_of"], keep="first", maintain_order=True
        )
    # Group-bys return rows in any order; one fixed order keeps frames (and the fitted rows) comparable.
    return label_snapshots(snaps, fail, horizon).sort("device_id", "as_of")


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
