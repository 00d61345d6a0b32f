"""PNG evaluation plots, written beside the metrics JSON (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on servers and in CI

import matplotlib.pyplot as plt
import numpy as np
import polars as pl
from sklearn.metrics import precision_recall_curve

__all__ = ["plot_evaluation"]


def plot_evaluation(name: str, metrics: dict[str, Any], scored: pl.DataFrame, out: Path) -> Path:
    """Precision-recall curve (when there are labels) and a second panel per kind."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    if {"label", "score"} <= set(scored.columns) and scored["label"].n_unique() > 1:
        prec, rec, _ = precision_recall_curve(scored["label"].to_numpy(), scored["score"].to_numpy())
        ax1.plot(rec, prec)
        ax1.set_xlabel("recall")
        ax1.set_ylabel("precision")
    ax1.set_title(f"{name}: precision-recall")
    if name == "health":
        lead = metrics.get("lead_time", {}).get("lead_days", [])
        ax2.hist(lead, bins=np.arange(0, metrics.get("horizon_days", 14) + 2) - 0.5)
        ax2.set_xlabel("lead time of caught failures (days)")
        ax2.set_title(f"caught {len(lead)} of {metrics.get('lead_time', {}).get('failures', 0)} failures")
    elif "score" in scored.columns:
        ax2.hist(scored["score"].to_numpy(), bins=30)
        ax2.set_xlabel("score")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80)
    plt.close(fig)
    return out
