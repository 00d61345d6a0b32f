"""Licence usage: which paid installs can be reclaimed, how sure we are, and what it saves.

For each paid install as of a date: days since install and last use, use over 30/60/90 days, the install's
own rhythm (gaps between past uses, use a quarter and a year earlier), the device's activity, how the same
role uses the same app and how often the app's dormant installs wake up. A classifier estimates the chance
of use in the next 30 days; an install is a reclamation candidate only when that chance is below the
threshold of its band of usage history (picked on held-out installs for a target false-reclaim rate, see
`train_usage`), and no protection applies:

- grace period: installed recently (people need time to start using a tool);
- rhythm: still inside its own usage rhythm (monthly, quarterly, seasonal users: since the last use is not
  yet much longer than the longest past gap);
- role need: the role requires it (configured), or most peers in the role actively use it.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import polars as pl
from sklearn.ensemble import HistGradientBoostingClassifier

from models.fitting import fittable
from models.usage_features import FEATURES, install_features

__all__ = [
    "FEATURES",
    "UsageConfig",
    "UsageModel",
    "install_features",
    "label_installs",
    "protections",
    "recommend_apps",
    "train_usage",
]


@dataclass
class UsageConfig:
    horizon_days: int = 30  # "used within the next 30 days" defines a false reclaim
    grace_days: int = 30
    rhythm_slack: float = 1.25  # protected while since-last-use <= slack * longest past gap + extra days
    rhythm_extra_days: int = 10
    max_rhythm_days: int = 200  # gaps longer than this are treated as abandonment, not rhythm
    role_need_share: float = 0.8
    role_need_min_peers: int = 5
    role_need_install_days: int = 90
    role_required_apps: dict[str, list[int]] = field(default_factory=dict)
    # The bar is < 2 % on unseen fleets. The threshold is picked on held-out installs of every as-of date
    # (see `train_usage`), which predicted another fleet's rate to about +0.1 point; 1.6 % leaves room.
    target_false_reclaim: float = 0.016
    max_p_use: float = 0.15  # and never reclaim an install with more than a 15 % chance of use
    # One threshold per band of usage history before the as-of date (days): with a short history annual
    # and sporadic users are not yet visible and the same P(use) cut reclaims more wrongly (measured: a
    # model picked on a year-long fleet gave 2.8 % on a 180-day one). Each band holds the target itself,
    # so the rate holds whatever mix of history lengths a fleet has.
    history_bands: list[int] = field(default_factory=lambda: [0, 90, 120, 150, 180, 240])
    snapshot_every_days: int = 14
    min_history_days: int = 60
    cv_folds: int = 3  # device folds for the threshold's second opinion (held-out devices)
    seed: int = 0


@dataclass
class UsageModel:
    clf: HistGradientBoostingClassifier | None
    threshold: float  # reclaim when P(use in horizon) <= threshold (all history lengths pooled)
    config: UsageConfig
    band_thresholds: list[float] | None = None  # per `config.history_bands`; used when set

    def params(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "band_thresholds": self.band_thresholds,
            "config": asdict(self.config),
        }

    @classmethod
    def restore(cls, estimators: dict[str, Any], params: dict[str, Any]) -> UsageModel:
        bands = params.get("band_thresholds")
        return cls(
            estimators.get("usage"),
            float(params["threshold"]),
            UsageConfig(**params["config"]),
            [float(b) for b in bands] if bands is not None else None,
        )

    def thresholds(self, frame: pl.DataFrame) -> np.ndarray[Any, np.dtype[np.float64]]:
        """The P(use) cut for each row, by its band of usage history."""
        if self.band_thresholds is None or frame.height == 0:
            return np.full(frame.height, self.threshold)
        band = np.searchsorted(self.config.history_bands, frame["history_days"].to_numpy(), side="right") - 1
        return np.asarray(self.band_thresholds, dtype=np.float64)[np.clip(band, 0, None)]


def label_installs(frame: pl.DataFrame, usage: pl.DataFrame, horizon: int) -> pl.DataFrame:
    """`used_next` = 1 when the install is used within (as_of, as_of + horizon]."""
    keys = frame.select("device_id", "app_id", "as_of").unique().sort("as_of")
    if keys.height == 0:
        return frame.with_columns(used_next=pl.lit(0, dtype=pl.Int8))
    # The first use after each as-of date (an as-of join), not every use of the install joined to every
    # as-of date: that product was the peak of training and evaluation (+1.4 GB for 10,000 devices).
    later = (
        usage.lazy()
        .select("device_id", "app_id", pl.col("date").alias("next_use"))
        .filter(pl.col("next_use") > keys["as_of"].min())
        .join(keys.lazy().select("device_id", "app_id").unique(), on=["device_id", "app_id"], how="semi")
        .sort("next_use")
        .collect()
    )
    hits = (
        keys.join_asof(
            later,
            left_on="as_of",
            right_on="next_use",
            by=["device_id", "app_id"],
            strategy="forward",
            allow_exact_matches=False,
            check_sortedness=False,  # both sorted on the date; polars cannot check it within `by` groups
        )
        .filter(pl.col("next_use") <= pl.col("as_of") + dt.timedelta(days=horizon))
        .select("device_id", "app_id", "as_of")
        .with_columns(used_next=pl.lit(1, dtype=pl.Int8))
    )
    return frame.join(hits, on=["device_id", "app_id", "as_of"], how="left").with_columns(
        pl.col("used_next").fill_null(0)
    )


def protections(frame: pl.DataFrame, cfg: UsageConfig) -> pl.DataFrame:
    """Add `protected_by` (null when nothing protects the install), in words."""
    required = [(r, a) for r, ids in cfg.role_required_apps.items() for a in ids]
    req = pl.lit(False)
    for r, a in required:
        req = req | ((pl.col("role") == r) & (pl.col("app_id") == a))
    in_rhythm = (
        (pl.col("use_days_all") >= 2)
        & (pl.col("max_gap") <= cfg.max_rhythm_days)
        & (pl.col("days_since_last_use") <= cfg.rhythm_slack * pl.col("max_gap") + cfg.rhythm_extra_days)
    )
    # A role's core tool on a fairly new install: the person is likely still settling in (or on leave).
    # Old, long-idle installs of it are left to the model: protecting them all costs a third of the savings.
    role_need = (
        (pl.col("peer_active_share") >= cfg.role_need_share)
        & (pl.col("peer_installs") >= cfg.role_need_min_peers)
        & (pl.col("days_since_install") < cfg.role_need_install_days)
    )
    reason = (
        pl.when(pl.col("days_since_install") < cfg.grace_days)
        .then(pl.format("grace period: installed {} days ago", pl.col("days_since_install").cast(pl.Int64)))
        .when(req)
        .then(pl.lit("required for the role"))
        .when(in_rhythm.fill_null(False))
        .then(
            pl.format(
                "periodic user: last use {} days ago, longest past gap {} days",
                pl.col("days_since_last_use").cast(pl.Int64),
                pl.col("max_gap").cast(pl.Int64),
            )
        )
        .when(role_need.fill_null(False))
        .then(
            pl.format(
                "role needs it: {}% of {} peers use it",
                (pl.col("peer_active_share") * 100).round(0).cast(pl.Int64),
                pl.col("peer_installs").cast(pl.Int64),
            )
        )
        .otherwise(None)
    )
    return frame.with_columns(reason.alias("protected_by"))


def _x(frame: pl.DataFrame) -> np.ndarray[Any, np.dtype[np.float64]]:
    return frame.select(FEATURES).to_numpy().astype(np.float64)


def predict_use(model: UsageModel, frame: pl.DataFrame) -> np.ndarray[Any, np.dtype[np.float64]]:
    if frame.height == 0:
        return np.zeros(0)
    if model.clf is None:  # no history to learn from: treat any use in 90 days as likely use
        return (frame["use_days_90"].to_numpy() > 0).astype(np.float64)
    p: np.ndarray[Any, np.dtype[np.float64]] = model.clf.predict_proba(_x(frame))[:, 1]
    return p


def pick_threshold(
    p_use: np.ndarray[Any, Any], used: np.ndarray[Any, Any], target: float, min_count: int = 300
) -> float:
    """P(use) cut on unprotected validation installs: grow the reclaimed set from the least likely users and
    stop at the first point (after `min_count`, where the rate is no longer noise) where its false-reclaim
    rate exceeds the target. Taking the *last* point under target instead overshoots on new data."""
    if p_use.size == 0:
        return 0.05
    order = np.argsort(p_use, kind="stable")
    cum_false = np.cumsum(used[order]) / np.arange(1, p_use.size + 1)
    over = np.nonzero((cum_false > target) & (np.arange(p_use.size) >= min_count))[0]
    stop = int(over[0]) - 1 if over.size else p_use.size - 1
    if stop < 0:
        return 0.0
    return float(p_use[order][stop])


def _fit(frame: pl.DataFrame, seed: int) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        learning_rate=0.05, max_iter=400, max_leaf_nodes=31, min_samples_leaf=50, random_state=seed
    ).fit(fittable(_x(frame)), frame["used_next"].to_numpy())


def _open_threshold(frame: pl.DataFrame, p_use: np.ndarray[Any, Any], target: float) -> float:
    """`pick_threshold` on the installs no protection keeps."""
    open_ = frame["protected_by"].is_null().to_numpy()
    return pick_threshold(p_use[open_], frame["used_next"].to_numpy()[open_], target)


def _band_thresholds(held_out: pl.DataFrame, cfg: UsageConfig, min_count: int = 300) -> list[float]:
    """A threshold per history band, each picked on that band's held-out rows. A band with too few rows
    takes the next shorter band's threshold (more cautious), or -1 (reclaim nothing) when none is known."""
    edges = [*cfg.history_bands, np.inf]
    out: list[float] = []
    for lo, hi in itertools.pairwise(edges):
        band = held_out.filter(
            pl.col("history_days").is_between(lo, hi, closed="left") & pl.col("protected_by").is_null()
        )
        if band.height >= min_count:
            cut = pick_threshold(
                band["p_use"].to_numpy(), band["used_next"].to_numpy(), cfg.target_false_reclaim
            )
            out.append(min(cfg.max_p_use, cut))
        else:
            out.append(out[-1] if out else -1.0)
    # More history never makes a reclaim riskier: a band whose cut is looser than a longer band's is noise
    # of a few hundred rows, so each band takes the strictest cut of itself and every longer band.
    return [min(out[k:]) for k in range(len(out))]


def train_usage(
    tables: dict[str, pl.DataFrame], cfg: UsageConfig | None = None
) -> tuple[UsageModel, pl.DataFrame]:
    """Fit P(use within horizon) on early as-of dates; pick the reclaim threshold where it holds on both
    later dates (time drift) and on held-out devices of the training dates (the mix of short and long
    histories that a fleet-wide evaluation or a young tenant has; late dates alone under-state it).

    With too few as-of dates for a time split (a tenant with `min_history_days + horizon_days` of usage,
    a few weeks more), a third of the devices is held out instead."""
    cfg = cfg or UsageConfig()
    usage = tables["app_usage"]
    lo, hi = usage["date"].min(), usage["date"].max()
    if not isinstance(lo, dt.date) or not isinstance(hi, dt.date):
        raise ValueError("app_usage is empty: nothing to learn from")
    first, last = lo + dt.timedelta(days=cfg.min_history_days), hi - dt.timedelta(days=cfg.horizon_days)
    if last < first:
        raise ValueError(
            f"need {cfg.min_history_days + cfg.horizon_days} days of app usage, have {(hi - lo).days + 1}"
        )
    dates = [last - dt.timedelta(days=k) for k in range(0, (last - first).days + 1, cfg.snapshot_every_days)]
    feats = protections(
        label_installs(
            install_features(tables["devices"], tables["apps"], tables["app_installs"], usage, dates),
            usage,
            cfg.horizon_days,
        ),
        cfg,
    )
    if feats.height == 0:
        raise ValueError("no paid installs (apps.license_cost_usd > 0): nothing to learn from")
    if feats["used_next"].n_unique() < 2:
        raise ValueError("every install was used (or none was) in the horizon: nothing to learn from")
    fold = (pl.col("device_id").hash(seed=cfg.seed) % cfg.cv_folds).alias("fold")
    split = first + (last - first) * 2 // 3
    train = feats.filter(pl.col("as_of") + dt.timedelta(days=cfg.horizon_days) <= split)
    valid = feats.filter(pl.col("as_of") > split)
    if train["used_next"].n_unique() < 2 or valid.height == 0:
        held = feats.with_columns(fold).get_column("fold") == 0
        train, valid = feats.filter(~held), feats.filter(held)
    model = UsageModel(_fit(train, cfg.seed), 0.0, cfg)
    valid = valid.with_columns(p_use=pl.Series(predict_use(model, valid), dtype=pl.Float64))
    folds = train.with_columns(fold).get_column("fold").to_numpy()
    oof = np.full(train.height, np.nan)
    for k in range(cfg.cv_folds):
        part, rest = train.filter(folds == k), train.filter(folds != k)
        if part.height and rest["used_next"].n_unique() == 2:
            oof[folds == k] = _fit(rest, cfg.seed).predict_proba(_x(part))[:, 1]
    done = ~np.isnan(oof)
    # Every as-of date counts once: held-out devices on the training dates, all devices on the later ones.
    pooled = pl.concat([train.filter(done).with_columns(p_use=pl.Series(oof[done])), valid], how="diagonal")
    model.threshold = min(
        cfg.max_p_use, _open_threshold(pooled, pooled["p_use"].to_numpy(), cfg.target_false_reclaim)
    )
    model.band_thresholds = _band_thresholds(pooled, cfg)
    return model, valid


def reason_text(frame: pl.DataFrame) -> pl.Expr:
    last = (
        pl.when(pl.col("never_used") > 0)
        .then(pl.format("never used in {} days since install", pl.col("days_since_install").cast(pl.Int64)))
        .otherwise(pl.format("not used for {} days", pl.col("days_since_last_use").cast(pl.Int64)))
    )
    peers = (
        pl.when(pl.col("peer_installs") > 0)
        .then(
            pl.format(
                "; {}% of {} peers in the role use it",
                (pl.col("peer_active_share") * 100).round(0).cast(pl.Int64),
                pl.col("peer_installs").cast(pl.Int64),
            )
        )
        .otherwise(pl.lit(""))
    )
    return pl.concat_str(last, peers)


def candidates(model: UsageModel, frame: pl.DataFrame) -> pl.DataFrame:
    """Reclamation candidates: device_id, app_id, confidence, monthly_saving_usd, reason."""
    f = protections(frame, model.config).with_columns(
        p_use=pl.Series(predict_use(model, frame), dtype=pl.Float64)
    )
    pick = f.filter(pl.col("protected_by").is_null() & (pl.col("p_use") <= pl.Series(model.thresholds(f))))
    return pick.select(
        "device_id",
        "app_id",
        (1.0 - pl.col("p_use")).alias("confidence"),
        pl.col("license_cost_usd").alias("monthly_saving_usd"),
        reason_text(pick).alias("reason"),
    ).sort("confidence", "device_id", "app_id", descending=[True, False, False])


def recommend_apps(
    devices: pl.DataFrame,
    installs: pl.DataFrame,
    usage: pl.DataFrame,
    as_of: dt.date,
    min_share: float = 0.6,
    min_peers: int = 5,
) -> pl.DataFrame:
    """Role-based recommendations: apps that at least `min_share` of a role's devices used in the last
    90 days, for the devices of that role that do not have them (device_id, app_id, role, peer_share)."""
    role = devices.select("device_id", pl.col("role").fill_null("(none)"))
    active = (
        usage.filter((pl.col("date") <= as_of) & (pl.col("date") > as_of - dt.timedelta(days=90)))
        .select("device_id", "app_id")
        .unique()
    )
    size = role.group_by("role").agg(pl.len().alias("peers"))
    share = (
        active.join(role, on="device_id")
        .group_by("role", "app_id")
        .agg(pl.len().alias("users"))
        .join(size, on="role")
        .with_columns((pl.col("users") / pl.col("peers")).alias("peer_share"))
        .filter((pl.col("peer_share") >= min_share) & (pl.col("peers") >= min_peers))
    )
    have = installs.filter(pl.col("installed_on").is_null() | (pl.col("installed_on") <= as_of))
    return (
        role.join(share.select("role", "app_id", "peer_share"), on="role")
        .join(have.select("device_id", "app_id"), on=["device_id", "app_id"], how="anti")
        .select("device_id", "app_id", "role", "peer_share")
        .sort("device_id", "app_id")
    )
