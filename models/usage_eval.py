"""Evaluate licence reclamation on as-of dates the model did not train on, next to an 'idle 60 days' rule."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from models.metrics import mean_or_none
from models.usage import UsageModel, install_features, label_installs, predict_use, protections

__all__ = ["EVAL_HORIZON_DAYS", "evaluate_usage"]

# The definition, whatever horizon a model was trained for: a false reclaim is an install used
# within the 30 days after the as-of date.
EVAL_HORIZON_DAYS = 30


def evaluate_usage(
    model: UsageModel, tables: dict[str, pl.DataFrame], after: dt.date | None = None, every_days: int = 14
) -> tuple[dict[str, Any], pl.DataFrame]:
    """False-reclaim rate and share of idle paid installs found, next to a plain 'idle 60 days' rule."""
    usage, cfg = tables["app_usage"], model.config
    lo, hi = usage["date"].min(), usage["date"].max()
    if not isinstance(lo, dt.date) or not isinstance(hi, dt.date):
        raise ValueError("app_usage is empty")
    first = lo + dt.timedelta(days=cfg.min_history_days)
    if after is not None:
        first = max(first, after + dt.timedelta(days=1))
    last = hi - dt.timedelta(days=EVAL_HORIZON_DAYS)
    if last < first:
        raise ValueError("no evaluable as-of dates (need min history + 30 days of labels)")
    dates = [last - dt.timedelta(days=k) for k in range(0, (last - first).days + 1, every_days)]
    f = label_installs(
        install_features(tables["devices"], tables["apps"], tables["app_installs"], usage, dates),
        usage,
        EVAL_HORIZON_DAYS,
    )
    f = protections(f, cfg).with_columns(p_use=pl.Series(predict_use(model, f), dtype=pl.Float64))
    f = f.with_columns(
        (pl.col("protected_by").is_null() & (pl.col("p_use") <= pl.Series(model.thresholds(f)))).alias(
            "reclaim"
        ),
        (pl.coalesce(pl.col("days_since_last_use"), pl.col("days_since_install")) >= 60).alias("idle60"),
        (1 - pl.col("used_next")).alias("label"),
        (1 - pl.col("p_use")).alias("score"),
    )

    def rates(col: str) -> dict[str, float | int | None]:
        r = f.filter(pl.col(col))
        idle = f.filter(pl.col("used_next") == 0)
        stay = idle.filter(pl.col("use_days_30") == 0)
        return {
            "reclaimed": r.height,
            "false_reclaim_rate": mean_or_none(r["used_next"]),
            # "Paid installs that stay idle", three ways (nested): unused in the next 30 days; also unused
            # in the last 30; idle for 60 days already (what the idle-60 rule reclaims) and still idle.
            "idle_found": mean_or_none(idle[col]),
            "stay_idle_found": mean_or_none(stay[col]),
            "idle_60_stay_idle_found": mean_or_none(idle.filter(pl.col("idle60"))[col]),
            "monthly_saving_usd": float(r.filter(pl.col("used_next") == 0)["license_cost_usd"].sum()),
        }

    metrics: dict[str, Any] = {
        "model": "usage",
        "window": [str(min(dates)), str(max(dates))],
        "as_of_dates": len(dates),
        "horizon_days": EVAL_HORIZON_DAYS,
        "paid_installs": f.height,
        "idle_share": mean_or_none(f["used_next"] == 0),
        **rates("reclaim"),
        "baseline_idle_60_days": rates("idle60"),
        "threshold_p_use": model.threshold,
        "band_thresholds_p_use": dict(
            zip(model.config.history_bands, model.band_thresholds or [], strict=False)
        ),
        "protected": f["protected_by"].is_not_null().sum(),
    }
    return metrics, f
