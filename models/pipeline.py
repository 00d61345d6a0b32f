"""Directory-level train / evaluate / score for each model kind (what the CLI and the flows call).

Inputs are directories of contract parquet files; outputs are a model file with its sidecar, a metrics
dict, or a scored frame of the documented columns. Each kind registers three functions in `KINDS`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from models.data import data_hash, iter_device_blocks, last_date, load_tables
from models.features import MAX_WINDOW
from models.health import HealthConfig, HealthModel, fit_health, score_health
from models.health_eval import evaluation_dates, health_metrics, score_snapshots
from models.health_training import BLOCK_DEVICES, blocked_training_snapshots, telemetry_span
from models.metrics import mean_or_none, ranking_metrics, threshold_metrics
from models.provisioning import BUNDLE_COLUMNS, learn_bundles
from models.registry import ModelCard, load_model, save_model
from models.risk import RiskConfig, fit_risk, score_risk
from models.schemas import ContractError
from models.usage import FEATURES as USAGE_FEATURES
from models.usage import UsageConfig, UsageModel, candidates, install_features, train_usage
from models.usage_eval import evaluate_usage

__all__ = ["KINDS", "Kind", "Progress", "evaluate", "score", "train"]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Kind:
    train: Callable[[Path, Path, dict[str, Any], Progress], ModelCard]
    evaluate: Callable[[Path, Path, Progress], tuple[dict[str, Any], pl.DataFrame]]
    score: Callable[[Path, Path, dt.date | None], pl.DataFrame]


HEALTH_TABLES = ["devices", "telemetry", "failures"]
RISK_FACTORS = (
    "compromised",
    "encrypted",
    "edr_risk_score",
    "os_version",
    "role",
    "compliance_history",
    "age",
)


def _health_train(data: Path, out: Path, opts: dict[str, Any], say: Progress) -> ModelCard:
    say("loading devices and failures")
    small = load_tables(data, ["devices", "failures"])
    cfg = HealthConfig(**{k: v for k, v in opts.items() if k in HealthConfig.__dataclass_fields__})
    # Features a block of devices at a time, read from the parquet per block: memory follows the block and
    # the rows kept for fitting and validation, not the fleet (the result is the same for any block size).
    block = int(opts.get("block_devices") or BLOCK_DEVICES)
    blocks = iter_device_blocks(data, HEALTH_TABLES, block_devices=block)
    snaps, plan = blocked_training_snapshots(
        small["devices"], small["failures"], telemetry_span(data), blocks, cfg, block, say
    )
    model, valid = fit_health(snaps, cfg, say, plan)
    # Validation negatives may be a sample (see HealthConfig.valid_negatives): metrics count each row w times.
    y, s, w = valid["label"].to_numpy(), valid["score"].to_numpy(), valid["w"].to_numpy()
    metrics = {
        "validation": {
            **ranking_metrics(y, s, w),
            "at_threshold": threshold_metrics(y, s, model.threshold, w),
            "snapshots": round(float(w.sum())),
            "snapshots_kept": valid.height,
            "positives": int(y.sum()),
        },
        "validation_window": model.metrics["validation_window"],
    }
    say("saving")
    card = ModelCard(
        kind="health",
        tables=HEALTH_TABLES,
        features=model.features,
        training_window=model.metrics["training_window"],
        data_hash=data_hash(data, HEALTH_TABLES),
        params=model.params(),
        metrics=metrics,
    )
    return save_model(out, model.estimators(), card)


def _health_load(model_path: Path) -> tuple[HealthModel, ModelCard]:
    est, card = load_model(model_path, "health")
    return HealthModel.restore(est, card.features, card.params), card


def _health_evaluate(data: Path, model_path: Path, say: Progress) -> tuple[dict[str, Any], pl.DataFrame]:
    model, card = _health_load(model_path)
    # Same fleet as training: only judge days after the training window (its labels were seen).
    same = data_hash(data, HEALTH_TABLES) == card.data_hash
    after = dt.date.fromisoformat(card.training_window[-1]) if same else None
    dates = evaluation_dates(telemetry_span(data), model.config.horizon_days, after)
    # A block of devices at a time, as in training: evaluation memory follows the block, not the fleet.
    n_devices = load_tables(data, ["devices"])["devices"]["device_id"].n_unique()
    n_blocks = max(1, -(-n_devices // BLOCK_DEVICES))
    parts = []
    for k, t in enumerate(iter_device_blocks(data, HEALTH_TABLES, block_devices=BLOCK_DEVICES), start=1):
        say(f"scoring {len(dates)} days, devices block {k} of {n_blocks}")
        parts.append(score_snapshots(model, t, dates))
    say("metrics")
    failures = load_tables(data, ["failures"])["failures"]
    metrics, scored = health_metrics(model, parts, failures, dates)
    metrics.update({"model_version": card.model_version, "same_fleet_as_training": same})
    return metrics, scored


def _health_score(data: Path, model_path: Path, as_of: dt.date | None) -> pl.DataFrame:
    model, card = _health_load(model_path)
    first, last = telemetry_span(data)
    as_of = as_of or last
    if not first <= as_of <= last + dt.timedelta(days=MAX_WINDOW - 1):
        # Every device would be scored without a single reading: say so instead of writing base rates.
        raise ValueError(
            f"no telemetry in the {MAX_WINDOW} days up to {as_of} (telemetry spans {first} to {last})"
        )
    # A block of devices at a time (ascending id ranges: the result stays sorted); memory follows the block.
    blocks = iter_device_blocks(data, ["devices", "telemetry"], as_of=as_of, lookback_days=MAX_WINDOW)
    return pl.concat(
        [score_health(model, t["devices"], t["telemetry"], as_of, card.model_version) for t in blocks]
    )


USAGE_TABLES = ["devices", "apps", "app_installs", "app_usage"]


def _usage_train(data: Path, out: Path, opts: dict[str, Any], say: Progress) -> ModelCard:
    say("loading tables")
    tables = load_tables(data, USAGE_TABLES)
    # Only the seed: the CLI's --horizon-days is health's (14 days); a false reclaim is use within 30 days.
    cfg = UsageConfig(seed=int(opts.get("seed", 0)))
    say("building install snapshots and fitting")
    model, valid = train_usage(tables, cfg)
    say("validating")
    lo, hi = valid["as_of"].min(), valid["as_of"].max()
    rec = valid.filter(
        pl.col("protected_by").is_null() & (pl.col("p_use") <= pl.Series(model.thresholds(valid)))
    )
    metrics = {
        "validation": {
            "window": [str(lo), str(hi)],
            "reclaimed": rec.height,
            "false_reclaim_rate": mean_or_none(rec["used_next"]),
        }
    }
    first = valid["as_of"].min()
    end = str(first - dt.timedelta(days=1)) if isinstance(first, dt.date) else ""
    card = ModelCard(
        kind="usage",
        tables=USAGE_TABLES,
        features=list(USAGE_FEATURES),
        training_window=["", end],
        data_hash=data_hash(data, USAGE_TABLES),
        params=model.params(),
        metrics=metrics,
    )
    say("saving")
    return save_model(out, {"usage": model.clf}, card)


def _usage_load(model_path: Path) -> tuple[UsageModel, ModelCard]:
    est, card = load_model(model_path, "usage")
    return UsageModel.restore(est, card.params), card


def _usage_evaluate(data: Path, model_path: Path, say: Progress) -> tuple[dict[str, Any], pl.DataFrame]:
    model, card = _usage_load(model_path)
    tables = load_tables(data, USAGE_TABLES)
    same = data_hash(data, USAGE_TABLES) == card.data_hash
    after = dt.date.fromisoformat(card.training_window[-1]) if same and card.training_window[-1] else None
    say("install snapshots every 14 days, scored")
    metrics, scored = evaluate_usage(model, tables, after=after)
    metrics.update({"model_version": card.model_version, "same_fleet_as_training": same})
    return metrics, scored


def _usage_score(data: Path, model_path: Path, as_of: dt.date | None) -> pl.DataFrame:
    model, _card = _usage_load(model_path)
    as_of = as_of or last_date(data, "app_usage")
    tables = load_tables(data, USAGE_TABLES, as_of=as_of)
    feats = install_features(
        tables["devices"], tables["apps"], tables["app_installs"], tables["app_usage"], [as_of]
    )
    return candidates(model, feats)


RISK_TABLES = ["devices", "threat_signals"]


def _risk_as_of(data: Path) -> dt.date:
    """The last threat signal's date, else the latest `last_seen` (never the wall clock: reproducible)."""
    try:
        return last_date(data, "threat_signals")
    except ContractError:
        seen = load_tables(data, ["devices"])["devices"]["last_seen"].max()
        if not isinstance(seen, dt.datetime):
            raise ContractError("devices", "last_seen", "no dates to infer the as-of date from") from None
        return seen.date()


def _risk_train(data: Path, out: Path, opts: dict[str, Any], say: Progress) -> ModelCard:
    say("loading tables")
    tables = load_tables(data, RISK_TABLES)
    say("learning fleet references")
    cfg = RiskConfig(**{k: v for k, v in opts.items() if k in RiskConfig.__dataclass_fields__})
    params = fit_risk(tables["devices"], cfg)
    card = ModelCard(
        kind="risk",
        tables=RISK_TABLES,
        features=list(RISK_FACTORS),
        training_window=["", str(_risk_as_of(data))],
        data_hash=data_hash(data, RISK_TABLES),
        params=params,
    )
    return save_model(out, {}, card)


def _risk_frames(data: Path, as_of: dt.date) -> dict[str, pl.DataFrame]:
    return load_tables(data, RISK_TABLES, optional=["compliance_history"], as_of=as_of)


def _risk_evaluate(data: Path, model_path: Path, say: Progress) -> tuple[dict[str, Any], pl.DataFrame]:
    _, card = load_model(model_path, "risk")
    as_of = _risk_as_of(data)
    t = _risk_frames(data, as_of)
    scored = score_risk(
        t["devices"],
        t["threat_signals"],
        t["compliance_history"],
        card.params,
        as_of,
        only_noncompliant=False,
    )
    nc = set(t["devices"].filter(pl.col("compliance_status") == "NonCompliant")["device_id"].to_list())
    metrics: dict[str, Any] = {
        "model": "risk",
        "as_of": str(as_of),
        "devices": scored.height,
        "noncompliant_devices": len(nc),
        "model_version": card.model_version,
    }
    truth_path = data / "security_truth.parquet"
    if truth_path.exists():
        from models.schemas import validate_table

        truth = validate_table("security_truth", pl.read_parquet(truth_path))
        high = truth.filter(pl.col("compromised").fill_null(False) | pl.col("infected").fill_null(False))
        scored = scored.with_columns(
            label=pl.col("device_id").is_in(high["device_id"].to_list()).cast(pl.Int8),
            score=pl.col("risk_score"),
        )
        for name, frame in (
            ("all_devices", scored),
            ("noncompliant", scored.filter(pl.col("device_id").is_in(list(nc)))),
        ):
            k = max(1, frame.height // 10)
            top = frame.sort("risk_score", descending=True).head(k)
            pos = int(frame["label"].sum())
            metrics[name] = {
                "high_risk": pos,
                "top_decile_size": k,
                "high_risk_in_top_decile": float(top["label"].sum() / pos) if pos else None,
            }
    else:
        metrics["note"] = "no security_truth.parquet in DIR: only score statistics"
    metrics["score_mean"] = mean_or_none(scored["risk_score"])
    return metrics, scored


def _risk_score(data: Path, model_path: Path, as_of: dt.date | None) -> pl.DataFrame:
    _, card = load_model(model_path, "risk")
    as_of = as_of or _risk_as_of(data)
    t = _risk_frames(data, as_of)
    return score_risk(t["devices"], t["threat_signals"], t["compliance_history"], card.params, as_of)


BUNDLE_TABLES = ["devices", "device_profiles", "app_installs", "smart_groups"]


def _bundles_train(data: Path, out: Path, opts: dict[str, Any], say: Progress) -> ModelCard:
    say("loading tables")
    t = load_tables(data, BUNDLE_TABLES)
    say("counting peers")
    min_support = float(opts.get("min_support", 0.6))
    bundles = learn_bundles(
        t["devices"], t["device_profiles"], t["app_installs"], t["smart_groups"], min_support=min_support
    )
    card = ModelCard(
        kind="bundles",
        tables=BUNDLE_TABLES,
        features=["department", "role"],
        training_window=[],
        data_hash=data_hash(data, BUNDLE_TABLES),
        params={"min_support": min_support, "bundles": bundles.to_dicts()},
        metrics={"groups": bundles.select("department", "role").n_unique(), "items": bundles.height},
    )
    return save_model(out, {}, card)


def _bundles_frame(card: ModelCard) -> pl.DataFrame:
    return pl.DataFrame(card.params["bundles"], schema=BUNDLE_COLUMNS)


def _bundles_evaluate(data: Path, model_path: Path, say: Progress) -> tuple[dict[str, Any], pl.DataFrame]:
    """How well the saved bundles cover the holdings of the fleet in DIR (precision/recall of items)."""
    _, card = load_model(model_path, "bundles")
    saved = _bundles_frame(card)
    t = load_tables(data, BUNDLE_TABLES)
    now = learn_bundles(
        t["devices"], t["device_profiles"], t["app_installs"], t["smart_groups"], min_support=0.0
    )
    keys = ["department", "role", "item_kind", "item_id"]
    joined = now.join(saved.select(*keys).with_columns(pl.lit(1).alias("label")), on=keys, how="left")
    joined = joined.with_columns(pl.col("label").fill_null(0), pl.col("support").alias("score"))
    in_bundle = joined.filter(pl.col("label") == 1)
    metrics = {
        "model": "bundles",
        "bundle_items": saved.height,
        "mean_peer_support_of_bundle_items": mean_or_none(in_bundle["support"]),
        "model_version": card.model_version,
    }
    return metrics, joined


def _bundles_score(data: Path, model_path: Path, as_of: dt.date | None) -> pl.DataFrame:
    _, card = load_model(model_path, "bundles")
    return _bundles_frame(card).drop("peers")


KINDS: dict[str, Kind] = {
    "risk": Kind(_risk_train, _risk_evaluate, _risk_score),
    "bundles": Kind(_bundles_train, _bundles_evaluate, _bundles_score),
    "health": Kind(_health_train, _health_evaluate, _health_score),
    "usage": Kind(_usage_train, _usage_evaluate, _usage_score),
}


def _kind(name: str) -> Kind:
    if name not in KINDS:
        raise ValueError(f"unknown model '{name}' (known: {', '.join(KINDS)})")
    return KINDS[name]


def train(
    name: str,
    data: str | Path,
    out: str | Path,
    opts: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> ModelCard:
    return _kind(name).train(Path(data), Path(out), opts or {}, progress or (lambda _m: None))


def evaluate(
    name: str, data: str | Path, model: str | Path, progress: Progress | None = None
) -> tuple[dict[str, Any], pl.DataFrame]:
    return _kind(name).evaluate(Path(data), Path(model), progress or (lambda _m: None))


def score(name: str, data: str | Path, model: str | Path, as_of: dt.date | None = None) -> pl.DataFrame:
    return _kind(name).score(Path(data), Path(model), as_of)
