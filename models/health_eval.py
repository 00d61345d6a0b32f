"""Evaluate a failure model on daily snapshots of data it did not train on.

Evaluation reads every day of a fleet, so the features of all snapshots at once would grow with the fleet
(6.2 GB for 10,000 devices x 365 days). `score_snapshots` featurises and scores one block of devices and
keeps only what the metrics need (keys, label, score, the precursor columns, the component named for
alerted failures); `health_metrics` computes the metrics over the blocks' rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import polars as pl

from models.features import MIN_HISTORY
from models.health import HealthModel, days_span, likely_components, predict_proba, snapshots
from models.metrics import (
    PRECURSORS,
    lead_times,
    mean_or_none,
    precursor_ceiling,
    ranking_metrics,
    threshold_metrics,
)

__all__ = ["evaluate_health", "evaluation_dates", "health_metrics", "score_snapshots"]

_KEYS = ["device_id", "as_of", "label", "days_to_failure", "component"]


def evaluation_dates(
    span: tuple[dt.date, dt.date], horizon: int, after: dt.date | None = None
) -> list[dt.date]:
    """Every day with a full feature window behind it and a full label window ahead (and after `after`).

    `span` is the fleet's first and last telemetry day."""
    lo, hi = span
    first = lo + dt.timedelta(days=MIN_HISTORY - 1)
    if after is not None:
        first = max(first, after + dt.timedelta(days=1))
    last = hi - dt.timedelta(days=horizon)
    dates = [first + dt.timedelta(days=k) for k in range((last - first).days + 1)]
    if not dates:
        raise ValueError(
            f"no evaluable as-of dates: need {MIN_HISTORY + horizon} days of telemetry"
            + (f" after {after}" if after else "")
        )
    return dates


def score_snapshots(
    model: HealthModel, tables: dict[str, pl.DataFrame], dates: Sequence[dt.date]
) -> pl.DataFrame:
    """One block of devices: its snapshots' keys, label, score, precursor columns and `named_component`
    (what the model names for a failure it alerted on; null elsewhere)."""
    snaps = snapshots(tables, dates, model.config.horizon_days, dense_positives=False)
    scored = snaps.with_columns(score=pl.Series(predict_proba(model, snaps), dtype=pl.Float64))
    alerted = (pl.col("label") == 1) & (pl.col("score") >= model.threshold)
    pos = scored.filter(alerted)
    named = pl.Series("named_component", likely_components(model, pos)["likely_component"], dtype=pl.String)
    keep = [*_KEYS, "score", *[c for c in PRECURSORS if c in scored.columns]]
    return scored.select(keep).join(
        pos.select("device_id", "as_of").with_columns(named), on=["device_id", "as_of"], how="left"
    )


def health_metrics(
    model: HealthModel, parts: Sequence[pl.DataFrame], failures: pl.DataFrame, dates: Sequence[dt.date]
) -> tuple[dict[str, Any], pl.DataFrame]:
    """The evaluation metrics over the rows of every block (`score_snapshots`)."""
    horizon = model.config.horizon_days
    scored = pl.concat(parts).sort("device_id", "as_of")
    y, s = scored["label"].to_numpy(), scored["score"].to_numpy()
    metrics: dict[str, Any] = {
        "model": "health",
        "horizon_days": horizon,
        "window": [str(dates[0]), str(dates[-1])],
        "snapshots": scored.height,
        "positives": int(y.sum()),
        **ranking_metrics(y, s),
        "at_threshold": threshold_metrics(y, s, model.threshold),
    }
    metrics["lead_time"] = lead_times(scored, failures, model.threshold, horizon)
    metrics.update(precursor_ceiling(scored))
    named = scored.filter(pl.col("named_component").is_not_null())
    if named.height:
        metrics["component_accuracy_on_alerts"] = mean_or_none(named["named_component"] == named["component"])
    return metrics, scored


def evaluate_health(
    model: HealthModel, tables: dict[str, pl.DataFrame], after: dt.date | None = None
) -> tuple[dict[str, Any], pl.DataFrame]:
    """Metrics on every evaluable day (after `after`, the end of training, when it is the same fleet), with
    the whole fleet in memory (the CLI evaluates a block of devices at a time)."""
    dates = evaluation_dates(days_span(tables["telemetry"]), model.config.horizon_days, after)
    return health_metrics(model, [score_snapshots(model, tables, dates)], tables["failures"], dates)
