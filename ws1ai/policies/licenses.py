"""Licence reclamation: which paid installs to take back, and the governed actions that do it.

Two sources of candidates, one shape (`device_id, app_id, confidence, monthly_saving_usd, reason`):

- the usage model (`models/usage.py`, or `ws1ai models score usage` written to parquet), when given;
- otherwise `idle_rule_candidates`, a deterministic STAND-IN rule: a paid install is a candidate when it has
  not been used for `min_idle_days` and none of three protections applies:
    * grace period — installed less than `grace_days` ago (a new user has not started using it yet);
    * seasonal use — the device's own history shows gaps between uses at least as long as the current idle
      spell divided by `seasonal_factor` (a quarterly user looks idle for ~90 days, then uses it again);
    * role need — at least `role_need_share` of the peers in the same department and role used the app in
      the idle window (the role needs the app; ask a human instead of taking it).

Every reclaim is an uninstall (which releases the VPP/seat licence) whose inverse is the reinstall with the
same payload, followed by a message telling the user; both wait for the same approval, so a rejected batch
sends nothing at all (a notice about a reclaim that never happened would be worse than none).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import polars as pl

from ws1ai.governance.actions import Action, ActionKind, RiskTier

__all__ = [
    "CANDIDATE_SCHEMA",
    "MAX_FALSE_RECLAIM_RATE",
    "MIN_VALIDATION_INSTALLS",
    "AppInfo",
    "ReclaimRules",
    "assess_installs",
    "candidates_from_frame",
    "idle_rule_candidates",
    "reclamation_actions",
    "savings_by_app",
    "select_candidates",
    "usage_trust_problems",
]

CANDIDATE_SCHEMA: dict[str, pl.DataType] = {
    "device_id": pl.Int64(),
    "app_id": pl.Int64(),
    "confidence": pl.Float64(),
    "monthly_saving_usd": pl.Float64(),
    "reason": pl.String(),
}
RULE_VERSION = "idle-rule-v1"
# The trust floor of a usage model trained in the run (models/README.md, "Trust floor for in-run models"):
# its thresholds must have been checked on at least this many unprotected held-out installs (the noise floor
# `models.usage.pick_threshold` itself uses), and reclaim wrongly (the install is used within 30 days) at
# most this often there: the bar the usage model is held to on unseen fleets.
MIN_VALIDATION_INSTALLS = 300
MAX_FALSE_RECLAIM_RATE = 0.02


@dataclass(frozen=True)
class ReclaimRules:
    min_idle_days: int = 60
    grace_days: int = 30
    seasonal_factor: float = 1.25
    role_need_share: float = 0.5


def _usage_stats(usage: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Per (device, app): last use, number of use days and the longest gap between consecutive uses."""
    used = (
        usage.filter((pl.col("date") <= as_of) & (pl.col("minutes_used") > 0))
        .select("device_id", "app_id", "date")
        .unique()
        .sort("device_id", "app_id", "date")
    )
    return used.group_by("device_id", "app_id").agg(
        pl.col("date").max().alias("last_used"),
        pl.len().alias("use_days"),
        pl.col("date").diff().dt.total_days().max().alias("max_gap_days"),
    )


def assess_installs(
    installs: pl.DataFrame,
    usage: pl.DataFrame,
    apps: pl.DataFrame,
    devices: pl.DataFrame,
    *,
    as_of: date,
    rules: ReclaimRules = ReclaimRules(),
    window_start: date | None = None,
) -> pl.DataFrame:
    """Every paid install with its idle days, peer use and the protection (if any) that keeps it.

    `installs` (device_id, app_id, installed_on), `usage` (device_id, app_id, date, minutes_used), `apps`
    (app_id, name, license_cost_usd), `devices` (device_id, department, role). `window_start` is the first day
    the usage data covers: an install with no use in the window has been idle at least since then.
    """
    if window_start is None:
        window_start = usage.get_column("date").min() if usage.height else as_of  # type: ignore[assignment]
    assert window_start is not None
    paid = apps.filter(pl.col("license_cost_usd") > 0).select("app_id", "name", "license_cost_usd")
    stats = _usage_stats(usage, as_of)
    rows = (
        installs.filter(pl.col("installed_on") <= as_of)
        .join(paid, on="app_id", how="inner")
        .join(stats, on=["device_id", "app_id"], how="left")
        .join(devices.select("device_id", "department", "role"), on="device_id", how="left")
    )
    # No use anywhere in the window [window_start, as_of] means the last use, if any, was before it.
    before_window = window_start - timedelta(days=1)
    idle_since = pl.coalesce(
        pl.col("last_used"), pl.max_horizontal(pl.col("installed_on"), pl.lit(before_window))
    )
    rows = rows.with_columns(
        (pl.lit(as_of) - idle_since).dt.total_days().alias("idle_days"),
        (pl.lit(as_of) - pl.col("installed_on")).dt.total_days().alias("install_age_days"),
        pl.col("use_days").fill_null(0),
    )
    # Peer use: the share of same department+role devices holding the app that used it inside the idle window.
    recent = pl.col("last_used") >= pl.lit(as_of) - pl.duration(days=rules.min_idle_days)
    peers = rows.group_by("department", "role", "app_id").agg(
        pl.len().alias("peer_installs"), recent.fill_null(False).sum().alias("peer_recent_users")
    )
    rows = rows.join(peers, on=["department", "role", "app_id"], how="left", nulls_equal=True)
    # Peer share excludes the device itself, so a lone idle holder is not "needed by its role".
    own_recent = recent.fill_null(False).cast(pl.Int64)
    others = pl.col("peer_installs") - 1
    rows = rows.with_columns(
        pl.when(others > 0)
        .then((pl.col("peer_recent_users") - own_recent) / others)
        .otherwise(0.0)
        .alias("peer_use_share")
    )
    protection = (
        pl.when(pl.col("idle_days") < rules.min_idle_days)
        .then(pl.lit("in use"))
        .when(pl.col("install_age_days") < rules.grace_days)
        .then(pl.lit("grace period"))
        .when(pl.col("max_gap_days").fill_null(0) * rules.seasonal_factor >= pl.col("idle_days"))
        .then(pl.lit("seasonal use"))
        .when(pl.col("peer_use_share") >= rules.role_need_share)
        .then(pl.lit("role needs it"))
        .otherwise(pl.lit(None, pl.String))
    )
    return rows.with_columns(protection.alias("protected_by")).sort("device_id", "app_id")


def idle_rule_candidates(
    installs: pl.DataFrame,
    usage: pl.DataFrame,
    apps: pl.DataFrame,
    devices: pl.DataFrame,
    *,
    as_of: date,
    rules: ReclaimRules = ReclaimRules(),
    window_start: date | None = None,
) -> pl.DataFrame:
    """The stand-in rule's candidates, in the usage model's output shape."""
    assessed = assess_installs(
        installs, usage, apps, devices, as_of=as_of, rules=rules, window_start=window_start
    )
    chosen = assessed.filter(pl.col("protected_by").is_null())
    # Confidence grows with how far past the threshold the install is idle, and shrinks with peer use.
    excess = ((pl.col("idle_days") - rules.min_idle_days) / max(rules.min_idle_days, 1)).clip(0.0, 1.0)
    confidence = (0.6 + 0.4 * excess - 0.3 * pl.col("peer_use_share")).clip(0.0, 1.0)
    reason = pl.format(
        "no use in {} days (installed {}, {} use days seen); {}% of role peers use it",
        pl.col("idle_days"),
        pl.col("installed_on"),
        pl.col("use_days"),
        (pl.col("peer_use_share") * 100).round(0).cast(pl.Int64),
    )
    out = chosen.select(
        pl.col("device_id").cast(pl.Int64),
        pl.col("app_id").cast(pl.Int64),
        confidence.alias("confidence"),
        pl.col("license_cost_usd").cast(pl.Float64).alias("monthly_saving_usd"),
        reason.alias("reason"),
    )
    return out.cast(CANDIDATE_SCHEMA)  # type: ignore[arg-type]


def usage_trust_problems(held_out: int, reclaimed: int, false_reclaims: int) -> list[str]:
    """Why a usage model trained in the run may not reclaim anything (empty: it may).

    `held_out`: unprotected installs of its validation rows; `reclaimed`: those its thresholds would reclaim;
    `false_reclaims`: of those, the ones used within the horizon after all.
    """
    out = []
    if held_out < MIN_VALIDATION_INSTALLS:
        out.append(
            f"its thresholds were checked on {held_out} held-out installs; at least "
            f"{MIN_VALIDATION_INSTALLS} are needed"
        )
    if reclaimed and false_reclaims / reclaimed > MAX_FALSE_RECLAIM_RATE:
        out.append(
            f"on held-out installs it would reclaim wrongly {false_reclaims} of {reclaimed} times "
            f"({false_reclaims / reclaimed:.1%}); at most {MAX_FALSE_RECLAIM_RATE:.0%} is allowed"
        )
    return out


def candidates_from_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Validate a model's candidate list (e.g. `ws1ai models score usage` output) into the contract shape."""
    missing = [c for c in CANDIDATE_SCHEMA if c not in frame.columns]
    if missing:
        raise ValueError(f"reclamation candidates lack column(s): {', '.join(missing)}")
    out = frame.select(list(CANDIDATE_SCHEMA)).cast(CANDIDATE_SCHEMA)  # type: ignore[arg-type]
    bad = out.filter(~pl.col("confidence").is_between(0.0, 1.0) | (pl.col("monthly_saving_usd") < 0))
    if bad.height:
        raise ValueError("reclamation candidates: confidence must be in [0, 1] and savings non-negative")
    return out


def select_candidates(candidates: pl.DataFrame, *, min_confidence: float, max_devices: int) -> pl.DataFrame:
    """The batch to propose: confident enough, biggest savings first, at most `max_devices` devices."""
    ranked = candidates.filter(pl.col("confidence") >= min_confidence).sort(
        ["monthly_saving_usd", "confidence", "device_id", "app_id"], descending=[True, True, False, False]
    )
    devices = ranked.get_column("device_id").unique(maintain_order=True).head(max_devices)
    return ranked.filter(pl.col("device_id").is_in(devices.implode())).sort("app_id", "device_id")


def savings_by_app(candidates: pl.DataFrame, app_names: Mapping[int, str]) -> list[dict[str, object]]:
    """Report rows: one per app, devices reclaimed and the monthly saving."""
    grouped = (
        candidates.group_by("app_id")
        .agg(pl.len().alias("devices"), pl.col("monthly_saving_usd").sum().alias("saving"))
        .sort("saving", "app_id", descending=[True, False])
    )
    return [
        {
            "app_id": r["app_id"],
            "app": app_names.get(r["app_id"], str(r["app_id"])),
            "devices": r["devices"],
            "monthly_saving_usd": round(float(r["saving"]), 2),
        }
        for r in grouped.iter_rows(named=True)
    ]


@dataclass(frozen=True)
class AppInfo:
    name: str
    kind: str  # internal / public / purchased, as the install/uninstall routes name it


def reclamation_actions(
    candidates: pl.DataFrame,
    apps: Mapping[int, AppInfo],
    *,
    run_key: str,
    decided_by: Literal["model", "rule"] = "rule",
    model_version: str | None = RULE_VERSION,
    notify: bool = True,
) -> list[Action]:
    """One uninstall per app (all its devices in one batch), then one user notice per app.

    Uninstalls come first so that execution (in order) never notifies before the licence is released.
    """
    uninstalls: list[Action] = []
    notices: list[Action] = []
    for app_id in sorted(int(a) for a in candidates.get_column("app_id").unique().to_list()):
        group = candidates.filter(pl.col("app_id") == app_id)
        info = apps.get(app_id)
        if info is None:
            continue  # not in the catalogue any more: nothing to uninstall through the API
        devices = [int(d) for d in group.get_column("device_id").to_list()]
        saving = round(sum(float(v) for v in group.get_column("monthly_saving_usd").to_list()), 2)
        confidence = round(min(float(v) for v in group.get_column("confidence").to_list()), 3)
        reasons = sorted(set(group.get_column("reason").to_list()))
        rationale = (
            f"reclaim {info.name} from {len(devices)} device(s): saves ${saving:,.2f}/month; "
            f"e.g. {reasons[0]}"
        )[:400]
        payload = {"app_id": app_id, "app_kind": info.kind}
        uninstalls.append(
            Action(
                run_key=run_key,
                kind=ActionKind.APP_UNINSTALL,
                targets=tuple(str(d) for d in devices),
                payload=payload,
                rationale=rationale,
                confidence=confidence,
                model_version=model_version,
                decided_by=decided_by,
            )
        )
        if notify:
            notices.append(
                Action(
                    run_key=run_key,
                    kind=ActionKind.MESSAGE_SEND,
                    targets=tuple(str(d) for d in devices),
                    payload={
                        "channel": "push",
                        "body": (
                            f"Your {info.name} licence was reclaimed because the app has not been used "
                            "recently. Ask IT or use the app catalogue to get it back at any time."
                        ),
                    },
                    # Low tier would let the notice go out unattended even if the uninstall is rejected.
                    risk_override=RiskTier.MEDIUM,
                    rationale=f"tell the user their {info.name} licence was reclaimed",
                    model_version=model_version,
                    decided_by=decided_by,
                )
            )
    return uninstalls + notices
