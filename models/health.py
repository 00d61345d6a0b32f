"""Failure within a horizon (default 14 days) and the likely component, from daily telemetry.

Training builds labelled snapshots at many as-of dates: every few days for the whole fleet, and every day in
the horizon before each failure (failures are rare, so their snapshots are the scarce signal). Negatives are
subsampled and re-weighted by the inverse sampling rate, which handles the imbalance without distorting
the probabilities; which rows are kept is decided from the labels before any feature is computed, and
features are built a block of devices at a time (see models.health_training). Positives are fitted only up
to `train_lead_days` before their failure (re-weighted the same way), since earlier days mostly look healthy
yet. Validation is a time split: training snapshots have their whole label window before the split date,
validation snapshots start after it. The alert threshold minimises expected cost (a missed failure vs an
unnecessary replacement) or fits a weekly review budget, on the validation period.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import polars as pl
from sklearn.ensemble import HistGradientBoostingClassifier

from models.features import MAX_WINDOW, feature_columns, health_features
from models.fitting import fittable
from models.health_training import (
    BLOCK_DEVICES,
    HealthConfig,
    Progress,
    SamplingPlan,
    days_span,
    dense_positive_keys,
    keep_sampled,
    label_snapshots,
    plan_from_frame,
    snapshots,
    table_training_snapshots,
)
from models.metrics import choose_threshold

__all__ = [
    "HealthConfig",
    "HealthModel",
    "component_evidence",
    "days_span",
    "dense_positive_keys",
    "fit_health",
    "label_snapshots",
    "likely_components",
    "model_features",
    "predict_proba",
    "score_health",
    "snapshots",
    "train_health",
    "training_snapshots",
]

COMPONENTS = ("battery", "storage", "logic_board")
# Layout of the saved parameters; a file with another value is refused (retrain it).
HEALTH_FORMAT = 2

# Direct evidence per component: (feature, +1 if high values are bad / -1 if low ones are, smallest scale).
# Each value is measured against healthy devices of the training fleet (median -> 0, 99th percentile in the
# bad tail -> 1; the smallest scale keeps a tail of zeros from turning one event into overwhelming evidence),
# so the rule adapts to whatever scale a fleet reports in, and needs no failed example of the component.
EVIDENCE: dict[str, tuple[tuple[str, int, float], ...]] = {
    "battery": (
        ("battery_drop_30", 1, 1.0),
        ("battery_health_pct_slope_14", -1, 0.05),
        ("battery_health_pct_vs_mean_30", -1, 1.0),
        ("battery_health_pct_level_7", -1, 2.0),
    ),
    "storage": (
        ("storage_used_pct_slope_14", 1, 0.05),
        ("storage_used_pct_range_7", 1, 1.0),
        ("storage_used_pct_vs_mean_30", 1, 1.0),
        ("storage_used_pct_level_7", 1, 2.0),
    ),
    "logic_board": (
        ("kernel_panic_count_sum_14", 1, 1.0),
        ("kernel_panic_count_dayshare_14", 1, 0.07),
        ("thermal_event_count_sum_14", 1, 1.0),
    ),
}
_REASONS: dict[str, str] = {
    "battery_drop_30": "battery health {v:.1f} points below its 30-day high",
    "battery_health_pct_slope_14": "battery health falling {a:.2f} points a day over 14 days",
    "battery_health_pct_vs_mean_30": "battery health {a:.1f} points below its 30-day mean",
    "battery_health_pct_level_7": "battery health at {v:.0f} %",
    "storage_used_pct_slope_14": "storage filling {v:.2f} points a day over 14 days",
    "storage_used_pct_range_7": "storage use swung {v:.1f} points in 7 days",
    "storage_used_pct_vs_mean_30": "storage {v:.1f} points above its 30-day mean",
    "storage_used_pct_level_7": "storage {v:.0f} % full",
    "kernel_panic_count_sum_14": "{v:.0f} kernel panics in 14 days",
    "kernel_panic_count_dayshare_14": "kernel panics on {v:.0%} of the last 14 days",
    "thermal_event_count_sum_14": "{v:.0f} thermal events in 14 days",
}
# Evidence at or above this (the healthy 99th percentile) overrides the classifier for a component it never
# saw failing; below it, the classifier's or the fleet's usual component stands.
STRONG_EVIDENCE = 1.0


@dataclass
class HealthModel:
    failure: HistGradientBoostingClassifier
    component: HistGradientBoostingClassifier | None
    features: list[str]
    base_rates: dict[str, dict[str, float]]
    threshold: float
    config: HealthConfig
    default_component: str = "battery"
    # feature -> [healthy median, healthy 99th percentile]: the scale of component evidence.
    evidence_scale: dict[str, list[float]] = field(default_factory=dict)
    # Components that failed in training, most frequent first (what the component classifier knows).
    seen_components: list[str] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)

    def params(self) -> dict[str, Any]:
        """Everything except the estimators, for the JSON sidecar."""
        return {
            "format": HEALTH_FORMAT,
            "base_rates": self.base_rates,
            "threshold": self.threshold,
            "config": asdict(self.config),
            "default_component": self.default_component,
            "evidence_scale": self.evidence_scale,
            "seen_components": self.seen_components,
        }

    def estimators(self) -> dict[str, Any]:
        return {"failure": self.failure, "component": self.component}

    @classmethod
    def restore(cls, estimators: dict[str, Any], features: list[str], params: dict[str, Any]) -> HealthModel:
        if params.get("format") != HEALTH_FORMAT:
            from models.registry import IncompatibleModelError

            raise IncompatibleModelError(
                f"health model parameters have format {params.get('format', 1)}, this code reads "
                f"{HEALTH_FORMAT}: retrain it"
            )
        return cls(
            estimators["failure"],
            estimators.get("component"),
            list(features),
            params["base_rates"],
            float(params["threshold"]),
            HealthConfig(**params["config"]),
            params["default_component"],
            {k: [float(a), float(b)] for k, (a, b) in params["evidence_scale"].items()},
            list(params["seen_components"]),
        )


def _fit_base_rates(train: pl.DataFrame, weight: str, prior_n: float = 400.0) -> dict[str, dict[str, float]]:
    """Smoothed failure rates per platform and per model (model shrinks to its platform, platform to all)."""
    tot = float((train["label"] * train[weight]).sum()) / max(float(train[weight].sum()), 1e-9)
    plat = train.group_by("platform").agg(
        (pl.col("label") * pl.col(weight)).sum().alias("p"), pl.col(weight).sum().alias("n")
    )
    p_rates = {
        r["platform"]: (r["p"] + prior_n * tot) / (r["n"] + prior_n) for r in plat.iter_rows(named=True)
    }
    mod = train.group_by("platform", "model").agg(
        (pl.col("label") * pl.col(weight)).sum().alias("p"), pl.col(weight).sum().alias("n")
    )
    m_rates = {
        f"{r['platform']}|{r['model']}": (r["p"] + prior_n * p_rates.get(r["platform"], tot))
        / (r["n"] + prior_n)
        for r in mod.iter_rows(named=True)
    }
    return {"_all": {"_all": tot}, "platform": p_rates, "model": m_rates}


def _with_base_rates(frame: pl.DataFrame, rates: dict[str, dict[str, float]]) -> pl.DataFrame:
    tot = rates["_all"]["_all"]
    plat = pl.col("platform").replace_strict(rates["platform"], default=None, return_dtype=pl.Float64)
    key = pl.concat_str(pl.col("platform"), pl.lit("|"), pl.col("model").fill_null(""))
    mod = key.replace_strict(rates["model"], default=None, return_dtype=pl.Float64)
    # Unseen models (another fleet) fall back to their platform, unseen platforms to the fleet rate.
    return frame.with_columns(
        pl.coalesce(plat, pl.lit(tot)).alias("platform_base_rate"),
        pl.coalesce(mod, plat, pl.lit(tot)).alias("model_base_rate"),
    )


def _matrix(frame: pl.DataFrame, features: list[str]) -> np.ndarray[Any, np.dtype[np.float64]]:
    return frame.select([pl.col(c).cast(pl.Float64) for c in features]).to_numpy()


# Absolute levels that repeat what another feature already says (the 7-day level, the 30-day change):
# they let trees memorise one fleet's scales (its storage habits, its battery wear) rather than trouble.
_REDUNDANT = (
    "battery_cycles_level_",
    "battery_cycles_mean_",
    "battery_health_pct_mean_",
    "battery_health_pct_level_14",
    "battery_health_pct_level_30",
    "battery_health_pct_max_30",
    "storage_used_pct_mean_",
    "storage_used_pct_level_14",
    "storage_used_pct_level_30",
    "storage_used_pct_max_30",
)


def model_features(frame: pl.DataFrame) -> list[str]:
    """The failure model's inputs: numeric features minus the redundant absolute levels."""
    return [c for c in feature_columns(frame) if not c.startswith(_REDUNDANT)]


# Signals whose direction is known whatever the fleet: more of them never lowers the risk (+1), or less.
MONOTONE: dict[str, int] = {
    "battery_drop_30": 1,
    "battery_health_pct_slope_7": -1,
    "battery_health_pct_slope_14": -1,
    "battery_health_pct_vs_mean_30": -1,
    "storage_used_pct_slope_7": 1,
    "storage_used_pct_slope_14": 1,
    "storage_used_pct_range_7": 1,
    "storage_used_pct_vs_mean_30": 1,
    "kernel_panic_count_sum_7": 1,
    "kernel_panic_count_sum_14": 1,
    "kernel_panic_count_sum_30": 1,
    "kernel_panic_count_dayshare_7": 1,
    "kernel_panic_count_dayshare_14": 1,
    "thermal_event_count_sum_7": 1,
    "thermal_event_count_sum_14": 1,
    "crash_count_dayshare_7": 1,
    "crash_count_dayshare_14": 1,
}


def _hgb(cfg: HealthConfig, monotone_features: list[str] | None = None) -> HistGradientBoostingClassifier:
    # Few leaves, large leaves and a strong L2 penalty: a few hundred failures cannot support more
    # structure, and what they could support would be the training simulator's quirks.
    mono = [MONOTONE.get(c, 0) for c in monotone_features] if cfg.monotone and monotone_features else None
    return HistGradientBoostingClassifier(
        monotonic_cst=mono,
        learning_rate=0.05,
        max_iter=cfg.max_iter,
        max_leaf_nodes=7,
        min_samples_leaf=100,
        l2_regularization=5.0,
        early_stopping=False,
        random_state=cfg.seed,
    )


def training_snapshots(
    tables: dict[str, pl.DataFrame],
    cfg: HealthConfig | None = None,
    progress: Progress | None = None,
    block_devices: int | None = None,
) -> pl.DataFrame:
    """The snapshots training keeps, weighted (`w`), built a block of devices at a time.

    As-of dates every `snapshot_every_days` plus every day before each failure; all positives, sampled
    negatives (see models.health_training). `fit_health` takes this frame; pass it the plan too
    (`models.health_training.table_training_snapshots`) to pin the time split to the unsampled dates.
    """
    cfg = cfg or HealthConfig()
    return table_training_snapshots(tables, cfg, block_devices or BLOCK_DEVICES, progress)[0]


def train_health(
    tables: dict[str, pl.DataFrame],
    cfg: HealthConfig | None = None,
    progress: Progress | None = None,
    block_devices: int | None = None,
) -> tuple[HealthModel, pl.DataFrame]:
    """Fit on the early period, pick the threshold on the later one; returns model and validation scores."""
    cfg = cfg or HealthConfig()
    snaps, plan = table_training_snapshots(tables, cfg, block_devices or BLOCK_DEVICES, progress)
    return fit_health(snaps, cfg, progress, plan)


def fit_health(
    snaps: pl.DataFrame,
    cfg: HealthConfig | None = None,
    progress: Progress | None = None,
    plan: SamplingPlan | None = None,
) -> tuple[HealthModel, pl.DataFrame]:
    """`train_health` on snapshots already built (see `training_snapshots`).

    Rows carry a weight `w` (1 / inclusion probability); a frame without one is taken as every snapshot
    (as `snapshots` builds them) and sampled here, exactly as the blocked builder would have. The split is
    the plan's, else from the frame's first and last as-of dates.
    """
    cfg = cfg or HealthConfig()
    say = progress or (lambda _msg: None)
    if "w" not in snaps.columns:
        plan = plan or plan_from_frame(snaps, cfg)
        snaps = keep_sampled(snaps, plan, cfg)
    if plan is None:
        first, last = snaps["as_of"].min(), snaps["as_of"].max()
        assert isinstance(first, dt.date) and isinstance(last, dt.date)
        split = first + dt.timedelta(days=int((last - first).days * (1 - cfg.valid_fraction)))
    else:
        first, last, split = plan.first, plan.last, plan.split
    train = snaps.filter(pl.col("as_of") + dt.timedelta(days=cfg.horizon_days) <= split)
    valid = snaps.filter(pl.col("as_of") > split)
    if int(train["label"].sum()) < 3:
        raise ValueError(
            f"only {int(train['label'].sum())} failure snapshots before {split}: need more history"
        )
    pos, neg = train.filter(pl.col("label") == 1), train.filter(pl.col("label") == 0)
    say(
        f"{pos.height} training positives and {neg.height} sampled negatives standing for "
        f"{float(neg['w'].sum()):.0f}, split at {split}"
    )
    # Days early in the horizon mostly look healthy yet (precursors start days to weeks ahead, or never):
    # learning from them teaches "healthy-looking devices fail". They are left out, and the remaining
    # positives are up-weighted so the failure rate, and with it the probabilities, stay as they were.
    # (Every positive is kept with weight 1, so the counts here are the fleet's; negatives were sampled at
    # the rate matching the positives fitted, see models.health_training.)
    near = pos.filter(pl.col("days_to_failure") <= cfg.train_lead_days)
    if 3 <= near.height < pos.height:
        pos = near.with_columns(pl.col("w") * (pos.height / near.height))
    train = pl.concat([pos, neg])
    rates = _fit_base_rates(train, "w")
    train = _with_base_rates(train, rates)
    feats = model_features(train.drop("label", "days_to_failure", "w"))
    say(f"fitting failure model on {train.height} rows x {len(feats)} features")
    clf = _hgb(cfg, feats).fit(
        fittable(_matrix(train, feats)), train["label"].to_numpy(), sample_weight=train["w"].to_numpy()
    )
    comp_clf, default = None, "battery"
    pos = train.filter(pl.col("label") == 1)
    counts = pos["component"].value_counts(sort=True)
    seen = [str(c) for c in counts["component"]]
    if counts.height:
        default = seen[0]
    if counts.height > 1:
        say("fitting component model")
        # Three classes cost three trees an iteration at scoring; the evidence is plain, 40 rounds suffice.
        comp_clf = _hgb(cfg).set_params(learning_rate=0.1, max_iter=min(cfg.max_iter, 40))
        comp_clf.fit(fittable(_matrix(pos, feats)), pos["component"].to_numpy())
    scale = _evidence_scale(train.filter(pl.col("label") == 0))
    model = HealthModel(clf, comp_clf, feats, rates, 0.5, cfg, default, scale, seen)
    say(
        f"choosing threshold on {valid.height} validation snapshots "
        f"(standing for {float(valid['w'].sum()):.0f})"
    )
    scored = valid.with_columns(score=pl.Series(predict_proba(model, valid)))
    model.threshold = choose_threshold(scored, cfg.cost_miss, cfg.cost_false_alarm, cfg.weekly_review_budget)
    model.metrics["training_window"] = [str(first), str(split)]
    model.metrics["validation_window"] = [str(split + dt.timedelta(days=1)), str(last)]
    return model, scored


def predict_proba(model: HealthModel, frame: pl.DataFrame) -> np.ndarray[Any, np.dtype[np.float64]]:
    if frame.height == 0:
        return np.zeros(0)
    x = _matrix(_with_base_rates(frame, model.base_rates), model.features)
    proba: np.ndarray[Any, np.dtype[np.float64]] = model.failure.predict_proba(x)[:, 1]
    return proba


def _evidence_scale(healthy: pl.DataFrame) -> dict[str, list[float]]:
    """Per evidence feature: healthy median and the healthy 99th percentile in its bad tail."""
    out: dict[str, list[float]] = {}
    for signals in EVIDENCE.values():
        for col, sign, _floor in signals:
            if col not in healthy.columns:
                continue
            mid, tail = healthy[col].median(), healthy[col].quantile(0.99 if sign > 0 else 0.01)
            if isinstance(mid, int | float) and isinstance(tail, int | float):
                out[col] = [float(mid), float(tail)]
    return out


def component_evidence(
    scale: dict[str, list[float]], frame: pl.DataFrame
) -> tuple[np.ndarray[Any, np.dtype[np.float64]], np.ndarray[Any, np.dtype[np.int64]]]:
    """(devices x COMPONENTS) evidence strength (0 = a typical healthy device, 1 = its 99th percentile) and,
    per device and component, the index in EVIDENCE[component] of the feature behind the strongest one."""
    n = frame.height
    ev = np.full((n, len(COMPONENTS)), -np.inf)
    top = np.zeros((n, len(COMPONENTS)), dtype=np.int64)
    for j, comp in enumerate(COMPONENTS):
        for k, (col, sign, floor) in enumerate(EVIDENCE[comp]):
            if col not in frame.columns or col not in scale:
                continue
            mid, tail = scale[col]
            x = frame[col].cast(pl.Float64).fill_null(np.nan).to_numpy()
            z = np.nan_to_num(sign * (x - mid) / max(abs(tail - mid), floor), nan=-np.inf)
            better = z > ev[:, j]
            ev[:, j] = np.where(better, z, ev[:, j])
            top[:, j] = np.where(better, k, top[:, j])
    if "no_battery" in frame.columns:  # a device without a battery cannot lose it
        ev[frame["no_battery"].fill_null(0.0).to_numpy() > 0, COMPONENTS.index("battery")] = -np.inf
    return ev, top


def _reason(frame: pl.DataFrame, i: int, col: str) -> str:
    v = float(frame[col][i])
    return _REASONS[col].format(v=v, a=abs(v))


def likely_components(model: HealthModel, frame: pl.DataFrame, reasons: bool = False) -> pl.DataFrame:
    """`likely_component` (and with `reasons`, a `component_reason`) per row of a feature frame.

    The component classifier decides when there is one. Direct evidence (see EVIDENCE) names the component
    when there is no classifier (all training failures were of one kind), or when it is strong for a
    component the classifier never saw failing. With neither, the most common failing component in
    training that the device has (a device without a battery gets the next one).
    """
    n = frame.height
    ev, top = component_evidence(model.evidence_scale, frame)
    rows = np.arange(n)
    best = ev.argmax(1) if n else np.zeros(0, dtype=int)
    strong = ev[rows, best] >= STRONG_EVIDENCE
    prior = [c for c in [*model.seen_components, model.default_component] if c in COMPONENTS]
    prior = list(dict.fromkeys([*prior, *COMPONENTS]))
    no_batt = (
        frame["no_battery"].fill_null(0.0).to_numpy() > 0
        if "no_battery" in frame.columns
        else np.zeros(n, bool)
    )
    first, second = (COMPONENTS.index(c) for c in prior[:2])
    choice = np.where(no_batt & (prior[0] == "battery"), second, first)
    source = np.zeros(n, dtype=np.int8)  # 0 prior, 1 evidence, 2 classifier
    if model.component is not None and n:
        known = [COMPONENTS.index(c) for c in model.seen_components if c in COMPONENTS]
        proba = model.component.predict_proba(
            _matrix(_with_base_rates(frame, model.base_rates), model.features)
        )
        to_idx = np.array(
            [COMPONENTS.index(str(c)) if str(c) in COMPONENTS else first for c in model.component.classes_]
        )
        learned = to_idx[proba.argmax(1)]
        unseen = strong & ~np.isin(best, known)
        choice = np.where(unseen, best, learned)
        source = np.where(unseen, 1, 2).astype(np.int8)
    else:
        choice = np.where(strong, best, choice)
        source = strong.astype(np.int8)
    out = pl.DataFrame({"likely_component": pl.Series(np.array(COMPONENTS)[choice], dtype=pl.String)})
    if not reasons:
        return out
    why = []
    for i in range(n):
        j, comp = int(choice[i]), COMPONENTS[int(choice[i])]
        if ev[i, j] >= STRONG_EVIDENCE:
            why.append(_reason(frame, i, EVIDENCE[comp][int(top[i, j])][0]))
        elif source[i] == 2:
            why.append(f"resembles past {comp} failures")
        else:
            why.append(f"no component-specific sign; {comp} failures are the most common in training")
    return out.with_columns(component_reason=pl.Series(why, dtype=pl.String))


def score_health(
    model: HealthModel, devices: pl.DataFrame, telemetry: pl.DataFrame, as_of: dt.date, version: str
) -> pl.DataFrame:
    """The contract's scoring output for every enrolled device, using only rows dated on or before `as_of`."""
    tel = telemetry.filter(
        (pl.col("date") <= as_of) & (pl.col("date") > as_of - dt.timedelta(days=MAX_WINDOW))
    )
    feats = health_features(devices, tel, [as_of])
    proba = predict_proba(model, feats)
    comp = likely_components(model, feats)["likely_component"]
    return pl.DataFrame(
        {
            "device_id": feats["device_id"],
            "failure_probability": pl.Series(proba, dtype=pl.Float64),
            "likely_component": pl.Series(comp, dtype=pl.String),
            "horizon_days": pl.Series([model.config.horizon_days] * feats.height, dtype=pl.Int64),
            "model_version": pl.Series([version] * feats.height, dtype=pl.String),
        }
    ).sort("device_id")
