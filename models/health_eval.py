"""Evaluate a failure model on daily snapshots of data it did not train on."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from models.features import MIN_HISTORY
from models.health import HealthModel, days_span, likely_components, predict_proba, snapshots
from models.metrics import lead_times, precursor_ceiling, ranking_metrics, threshold_metrics

__all__ = ["evaluate_health", "evaluation_dates"]


def evaluation_dates(telemetry: pl.DataFrame, horizon: int, after: dt.date | None = None) -> list[dt.date]:
    """Every day with a full feature window behind it and a full label window ahead (and after `after`)."""
    lo, hi = days_span(telemetry)
    first = lo + dt.timedelta(days=MIN_HISTORY - 1)
    if after is not None:
        first = max(first, after + dt.timedelta(days=1))
    last = hi - dt.timedelta(days=horizon)
    return [first + dt.timedelta(days=k) for k in range((last - first).days + 1)]


def evaluate_health(
    model: HealthModel, tables: dict[str, pl.DataFrame], after: dt.date | None = None
) -> tuple[dict[str, Any], pl.DataFrame]:
    """Metrics on every evaluable day (after `after`, the end of training, when it is the same fleet)."""
    horizon = model.config.horizon_days
    dates = evaluation_dates(tables["telemetry"], horizon, after)
    if not dates:
        raise ValueError(
            f"no evaluable as-of dates: need {MIN_HISTORY + horizon} days of telemetry"
            + (f" after {after}" if after else "")
        )
    snaps = snapshots(tables, dates, horizon, dense_positives=False)
    scored = snaps.with_columns(score=pl.Series(predict_proba(model, snaps), dtype=pl.Float64))
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
    metrics["lead_time"] = lead_times(scored, tables["failures"], model.threshold, horizon)
    metrics.update(precursor_ceiling(snaps))
    pos = scored.filter((pl.col("label") == 1) & (pl.col("score") >= model.threshold))
    if pos.height:
        named = likely_components(model, pos)["likely_component"].to_numpy()
        metrics["component_accuracy_on_alerts"] = float((named == pos["component"].to_numpy()).mean())
    return metrics, scored
