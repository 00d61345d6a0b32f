"""Compliance risk: a 0-1 score and reasons in words for each non-compliant device.

An additive points model over facts an analyst can check: compromise, encryption, EDR scores, OS patch
lag, device age, the user's role sensitivity (a configurable role -> level table) and how long the
violation has lasted (from an optional `compliance_history` table). Points pass through a logistic to give
the score; each reason is rendered from the same input value that earned the points, so reasons are
true of the input by construction. "Training" learns fleet references: the newest OS version per platform.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import polars as pl

__all__ = ["DEFAULT_SENSITIVITY_KEYWORDS", "RiskConfig", "fit_risk", "risk_factors", "score_risk"]

# Used when no role table is configured: department/role words that usually mean sensitive data.
DEFAULT_SENSITIVITY_KEYWORDS: dict[str, str] = {
    "finance": "high",
    "legal": "high",
    "executive": "high",
    "hr": "high",
    "people": "high",
    "security": "high",
    "payroll": "high",
    "treasury": "high",
    "controller": "high",
    "counsel": "high",
    "engineering": "medium",
    "sales": "medium",
    "product": "medium",
    "it": "medium",
    "data": "medium",
}


@dataclass
class RiskConfig:
    role_sensitivity: dict[str, str] = field(default_factory=dict)  # role name -> high|medium|low
    edr_days: int = 14
    w_compromised: float = 4.0
    w_unencrypted: float = 1.5
    w_edr: float = 3.0  # times (max EDR score above 0.3) / 0.7
    w_edr_high_day: float = 0.5  # per day with EDR >= 0.5 in 30 days, capped at 4 days
    w_os_step: float = 0.35  # per version behind the fleet's newest, capped at 4 steps
    w_sensitivity: dict[str, float] = field(default_factory=lambda: {"high": 1.0, "medium": 0.5, "low": 0.0})
    w_violation_week: float = 0.25  # per week non-compliant, capped at 4 weeks
    w_old_device: float = 0.3  # purchased more than 4 years ago
    offset: float = 3.0


def _version_key(v: str | None) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", v or ""))[:4] or (0,)


def fit_risk(devices: pl.DataFrame, cfg: RiskConfig | None = None) -> dict[str, Any]:
    """Fleet references (OS versions per platform, newest first) plus the config, as plain JSON data."""
    cfg = cfg or RiskConfig()
    versions: dict[str, list[str]] = {}
    for (plat,), grp in devices.group_by("platform"):
        vs = sorted({v for v in grp["os_version"].drop_nulls()}, key=_version_key, reverse=True)
        versions[str(plat)] = vs
    return {"os_versions": versions, "config": asdict(cfg)}


def _sensitivity(role: str | None, department: str | None, table: dict[str, str]) -> str:
    if role and role in table:
        return table[role]
    words = f"{role or ''} {department or ''}".lower()
    for key, level in DEFAULT_SENSITIVITY_KEYWORDS.items():
        if re.search(rf"\b{re.escape(key)}\b", words):
            return level
    return "low"


def risk_factors(
    devices: pl.DataFrame,
    threats: pl.DataFrame,
    history: pl.DataFrame | None,
    params: dict[str, Any],
    as_of: dt.date,
) -> pl.DataFrame:
    """One row per device with each factor's input value and points (p_*)."""
    cfg = RiskConfig(**params["config"])
    recent = threats.filter((pl.col("date") <= as_of) & (pl.col("date") > as_of - dt.timedelta(days=30)))
    edr = recent.group_by("device_id").agg(
        pl.col("edr_risk_score")
        .filter(pl.col("date") > as_of - dt.timedelta(days=cfg.edr_days))
        .max()
        .alias("edr_max"),
        (pl.col("edr_risk_score") >= 0.5).sum().alias("edr_high_days"),
    )
    ranks = {p: {v: i for i, v in enumerate(vs)} for p, vs in params["os_versions"].items()}
    lag = [ranks.get(p, {}).get(v) for p, v in zip(devices["platform"], devices["os_version"], strict=True)]
    newest = [(params["os_versions"].get(p) or [None])[0] for p in devices["platform"]]
    sens = [
        _sensitivity(r, d, cfg.role_sensitivity)
        for r, d in zip(devices["role"], devices["department"], strict=True)
    ]
    f = (
        devices.select(
            "device_id",
            "compliance_status",
            "compromised",
            "encrypted",
            "os_version",
            "role",
            "purchase_date",
        )
        .with_columns(
            pl.Series("os_lag", lag, dtype=pl.Int64),
            pl.Series("os_newest", newest, dtype=pl.String),
            pl.Series("sensitivity", sens, dtype=pl.String),
        )
        .join(edr, on="device_id", how="left")
    )
    if history is not None and history.height:
        h = history.filter(pl.col("date") <= as_of).sort("device_id", "date")
        last_ok = (
            h.filter(pl.col("compliance_status") != "NonCompliant")
            .group_by("device_id")
            .agg(pl.col("date").max().alias("last_ok"))
        )
        # The current violation began at the first non-compliant record after the last compliant one.
        since = (
            h.join(last_ok, on="device_id", how="left")
            .filter(
                (pl.col("compliance_status") == "NonCompliant")
                & (pl.col("last_ok").is_null() | (pl.col("date") > pl.col("last_ok")))
            )
            .group_by("device_id")
            .agg(pl.col("date").min().alias("bad_since"))
        )
        f = f.join(since.select("device_id", "bad_since"), on="device_id", how="left").with_columns(
            pl.when(pl.col("compliance_status") == "NonCompliant")
            .then((pl.lit(as_of) - pl.col("bad_since")).dt.total_days())
            .alias("violation_days")
        )
    else:
        f = f.with_columns(pl.lit(None, dtype=pl.Int64).alias("violation_days"))
    age_years = (pl.lit(as_of) - pl.col("purchase_date")).dt.total_days() / 365.25
    return f.with_columns(
        age_years.alias("age_years"),
        (pl.col("compromised").fill_null(False).cast(pl.Float64) * cfg.w_compromised).alias("p_compromised"),
        ((~pl.col("encrypted").fill_null(True)).cast(pl.Float64) * cfg.w_unencrypted).alias("p_unencrypted"),
        (
            ((pl.col("edr_max").fill_null(0.0) - 0.3).clip(0.0, 0.7) / 0.7 * cfg.w_edr)
            + pl.col("edr_high_days").fill_null(0).clip(0, 4) * cfg.w_edr_high_day
        ).alias("p_edr"),
        (pl.col("os_lag").fill_null(0).clip(0, 4) * cfg.w_os_step).alias("p_os"),
        pl.col("sensitivity")
        .replace_strict(cfg.w_sensitivity, default=0.0, return_dtype=pl.Float64)
        .alias("p_role"),
        ((pl.col("violation_days").fill_null(0) / 7.0).clip(0.0, 4.0) * cfg.w_violation_week).alias(
            "p_violation"
        ),
        ((age_years.fill_null(0.0) > 4.0).cast(pl.Float64) * cfg.w_old_device).alias("p_age"),
    )


_REASONS: dict[str, pl.Expr] = {
    "p_compromised": pl.lit("device is compromised (jailbroken or rooted)"),
    "p_unencrypted": pl.lit("storage is not encrypted"),
    # edr_max covers the last `edr_days`, the high-day count 30 days: either can be missing while the other
    # scored, and a reason must only state what the input says.
    "p_edr": pl.when(pl.col("edr_max").is_null())
    .then(pl.format("{} high-risk EDR day(s) in the last 30 days", pl.col("edr_high_days").fill_null(0)))
    .otherwise(
        pl.format(
            "EDR risk up to {} recently, {} high-risk day(s) in 30",
            pl.col("edr_max").round(2),
            pl.col("edr_high_days").fill_null(0),
        )
    ),
    "p_os": pl.format(
        "OS {} is {} version(s) behind {}", pl.col("os_version"), pl.col("os_lag"), pl.col("os_newest")
    ),
    "p_role": pl.format("role '{}' handles {}-sensitivity data", pl.col("role"), pl.col("sensitivity")),
    "p_violation": pl.format("non-compliant for {} days", pl.col("violation_days")),
    "p_age": pl.format("device is {} years old", pl.col("age_years").round(1)),
}


def score_risk(
    devices: pl.DataFrame,
    threats: pl.DataFrame,
    history: pl.DataFrame | None,
    params: dict[str, Any],
    as_of: dt.date,
    only_noncompliant: bool = True,
    max_reasons: int = 3,
    keep: Sequence[str] = (),
) -> pl.DataFrame:
    """device_id, risk_score (0-1), reasons (largest contributions first, only factors that scored), plus the
    `keep` columns of `risk_factors` (e.g. sensitivity, violation_days) for callers that show them."""
    f = risk_factors(devices, threats, history, params, as_of)
    if only_noncompliant:
        f = f.filter(pl.col("compliance_status") == "NonCompliant")
    cfg = RiskConfig(**params["config"])
    pts = pl.sum_horizontal(*[pl.col(c) for c in _REASONS])
    f = f.with_columns((1.0 / (1.0 + (-(pts - cfg.offset)).exp())).alias("risk_score"))
    names = list(_REASONS)
    points = f.select(names).to_numpy()
    texts = f.select([e.alias(n) for n, e in _REASONS.items()]).to_numpy()
    reasons: list[list[str]] = []
    for row_pts, row_txt in zip(points, texts, strict=True):
        order = np.argsort(-row_pts, kind="stable")
        reasons.append([str(row_txt[i]) for i in order[:max_reasons] if row_pts[i] > 0])
    return (
        f.select("device_id", "risk_score", *keep)
        .with_columns(pl.Series("reasons", reasons, dtype=pl.List(pl.String)))
        .sort("risk_score", "device_id", descending=[True, False])
    )
