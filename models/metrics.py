"""Evaluation metrics and decision thresholds for scored snapshots (`label`, `score`, `as_of`, ...)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import polars as pl
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

__all__ = [
    "PRECURSORS",
    "choose_threshold",
    "lead_times",
    "mean_or_none",
    "precursor_ceiling",
    "ranking_metrics",
    "threshold_metrics",
]


def mean_or_none(s: pl.Series) -> float | None:
    """Mean as a plain float (None for an empty series), without polars' wide literal return type."""
    return float(np.mean(s.cast(pl.Float64).to_numpy())) if s.len() else None


def choose_threshold(
    scored: pl.DataFrame, cost_miss: float, cost_false_alarm: float, weekly_budget: int | None = None
) -> float:
    """Alert threshold on validation snapshots: by weekly review budget if given, else by expected cost.

    Budget: the score of the budget-th highest device, averaged over the validation as-of dates (one
    review a week looks at one snapshot). Cost: minimise cost_miss*FN + cost_false_alarm*FP; with no
    positives to learn from, fall back to the Bayes threshold for calibrated probabilities. A weight
    column `w` (rows standing for 1/inclusion-probability snapshots, see models.health_training) counts
    each row that many times: in FN and FP, and in the budget (the row where the cumulative weight of an
    as-of date reaches the budget).
    """
    bayes = cost_false_alarm / (cost_false_alarm + cost_miss)
    if scored.height == 0:
        return bayes
    w_col = pl.col("w").cast(pl.Float64) if "w" in scored.columns else pl.lit(1.0)
    if weekly_budget is not None:
        ranked = (
            scored.select("as_of", "score", w_col.alias("_w"))
            .sort("as_of", "score", descending=[False, True])
            .with_columns(pl.col("_w").cum_sum().over("as_of").alias("_cw"))
        )
        # The first row reaching the budget; a date with less weight than the budget takes its last row.
        kth = ranked.group_by("as_of").agg(
            pl.col("score")
            .filter(pl.col("_cw") >= weekly_budget - 1e-9)
            .first()
            .fill_null(pl.col("score").last())
        )
        return float(kth["score"].mean())  # type: ignore[arg-type]
    y = scored["label"].to_numpy()
    if y.sum() == 0:
        return bayes
    w = scored["w"].cast(pl.Float64).to_numpy() if "w" in scored.columns else np.ones(scored.height)
    s = scored["score"].to_numpy()
    order = np.argsort(-s)
    s_sorted, y_sorted, w_sorted = s[order], y[order], w[order]
    tp = np.cumsum(y_sorted * w_sorted)
    fp = np.cumsum((1 - y_sorted) * w_sorted)
    pos = float(tp[-1])
    cost = cost_miss * (pos - tp) + cost_false_alarm * fp
    best = int(np.argmin(cost))
    if cost_miss * pos <= cost[best]:  # alerting on nothing is cheapest
        return float(s_sorted[0]) + 1e-9
    return float(s_sorted[best])


def ranking_metrics(
    y: np.ndarray[Any, Any], s: np.ndarray[Any, Any], w: np.ndarray[Any, Any] | None = None
) -> dict[str, float | None]:
    """Threshold-free metrics: ROC-AUC, PR-AUC, recall at 5 % FPR, precision in the top 1 %.

    `w`: row weights (a row standing for w snapshots); the top 1 % is then 1 % of the total weight.
    """
    if w is not None and bool(np.all(w == 1)):
        w = None  # the unweighted top 1 % (rounded row count), exactly as without weights
    if len(np.unique(y)) < 2:
        return {"roc_auc": None, "pr_auc": None, "recall_at_5pct_fpr": None, "precision_top_1pct": None}
    fpr, tpr, _ = roc_curve(y, s, sample_weight=w)
    top = np.argsort(-s, kind="stable")
    if w is None:
        top = top[: max(1, round(0.01 * len(s)))]
        prec = float(y[top].mean())
    else:
        cw = np.cumsum(w[top])
        top = top[: max(1, int(np.searchsorted(cw, 0.01 * cw[-1] - 1e-9)) + 1)]
        prec = float(np.average(y[top], weights=w[top]))
    return {
        "roc_auc": float(roc_auc_score(y, s, sample_weight=w)),
        "pr_auc": float(average_precision_score(y, s, sample_weight=w)),
        "recall_at_5pct_fpr": float(np.interp(0.05, fpr, tpr)),
        "precision_top_1pct": prec,
    }


def threshold_metrics(
    y: np.ndarray[Any, Any], s: np.ndarray[Any, Any], threshold: float, w: np.ndarray[Any, Any] | None = None
) -> dict[str, float]:
    """Precision, recall, FPR, F1 and alert rate at a threshold (`w`: row weights, as in ranking_metrics)."""
    w = np.ones(len(y)) if w is None else np.asarray(w, dtype=np.float64)
    flag = s >= threshold
    tp, fp = float(w[flag & (y == 1)].sum()), float(w[flag & (y == 0)].sum())
    pos, neg = float(w[y == 1].sum()), float(w[y == 0].sum())
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / pos if pos else 0.0
    return {
        "threshold": threshold,
        "precision": prec,
        "recall": rec,
        "fpr": fp / neg if neg else 0.0,
        "f1": 2 * prec * rec / (prec + rec) if prec + rec else 0.0,
        "alert_rate": float(w[flag].sum() / w.sum()) if len(w) else 0.0,
    }


def lead_times(
    scored: pl.DataFrame, failures: pl.DataFrame, threshold: float, horizon: int
) -> dict[str, Any]:
    """Per failure in the scored window: the first day it was flagged within the horizon before failing.

    Returns the share of failures caught (event recall), their lead times, and the median lead time of all
    true-positive snapshots (each flagged as-of date of a device that then failed within the horizon).
    """
    lo, hi = scored["as_of"].min(), scored["as_of"].max()
    if not isinstance(lo, dt.date) or not isinstance(hi, dt.date):
        return {
            "failures": 0,
            "caught": 0,
            "event_recall": None,
            "lead_days": [],
            "median_lead_days": None,
            "median_tp_snapshot_lead_days": None,
        }
    fails = failures.filter(
        (pl.col("failed_on") > lo + dt.timedelta(days=horizon))
        & (pl.col("failed_on") <= hi + dt.timedelta(days=1))
    )
    tp = scored.filter((pl.col("label") == 1) & (pl.col("score") >= threshold))
    first = tp.group_by("device_id").agg(pl.col("as_of").min())
    caught = fails.join(first, on="device_id").filter(
        (pl.col("failed_on") > pl.col("as_of"))
        & (pl.col("failed_on") <= pl.col("as_of") + dt.timedelta(days=horizon))
    )
    lead = (caught["failed_on"] - caught["as_of"]).dt.total_days().to_list()
    tp_lead = tp["days_to_failure"].drop_nulls()
    return {
        "failures": fails.height,
        "caught": caught.height,
        "event_recall": caught.height / fails.height if fails.height else None,
        "lead_days": lead,
        "median_lead_days": float(np.median(lead)) if lead else None,
        "median_tp_snapshot_lead_days": float(tp_lead.median()) if tp_lead.len() else None,  # type: ignore[arg-type]
    }


# Features whose extreme values would let anyone see trouble coming, and which tail is the bad one.
PRECURSORS: dict[str, str] = {
    "battery_health_pct_slope_14": "low",
    "battery_drop_30": "high",
    "crash_count_rate_7": "high",
    "crash_count_dayshare_14": "high",
    "kernel_panic_count_sum_14": "high",
    "thermal_event_count_sum_14": "high",
    "storage_used_pct_slope_14": "high",
    "storage_used_pct_range_7": "high",
    "days_since_last_telemetry": "high",
}


def precursor_ceiling(snaps: pl.DataFrame, pct: float = 0.995) -> dict[str, float | None]:
    """Share of failures with any visible precursor by their last as-of date before failing.

    'Visible' = some precursor feature beyond the `pct` quantile of healthy snapshots (in its bad tail).
    The healthy rate of the same rule is reported too: the ceiling is only meaningful next to it.
    """
    healthy = snaps.filter(pl.col("label") == 0)
    last = snaps.filter(pl.col("label") == 1).sort("days_to_failure").unique("device_id", keep="first")
    if last.height == 0 or healthy.height == 0:
        return {"precursor_ceiling": None, "healthy_flag_rate": None}
    cond_f, cond_h = [], []
    for col, tail in PRECURSORS.items():
        if col not in snaps.columns:
            continue
        q = healthy[col].quantile(pct if tail == "high" else 1 - pct)
        if q is None:
            continue
        expr = (pl.col(col) > q) if tail == "high" else (pl.col(col) < q)
        cond_f.append(expr.fill_null(False))
        cond_h.append(expr.fill_null(False))
    if not cond_f:
        return {"precursor_ceiling": None, "healthy_flag_rate": None}
    share = float(last.select(pl.any_horizontal(cond_f).mean()).item())
    base = float(healthy.select(pl.any_horizontal(cond_h).mean()).item())
    return {"precursor_ceiling": share, "healthy_flag_rate": base}
