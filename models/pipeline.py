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

from models.data import data_hash, last_date, load_tables
from models.features import MAX_WINDOW
from models.health import HealthConfig, HealthModel, score_health, train_health
from models.health_eval import evaluate_health
from models.registry import ModelCard, load_model, save_model

__all__ = ["KINDS", "Kind", "Progress", "evaluate", "score", "train"]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Kind:
    train: Callable[[Path, Path, dict[str, Any], Progress], ModelCard]
    evaluate: Callable[[Path, Path], tuple[dict[str, Any], pl.DataFrame]]
    score: Callable[[Path, Path, dt.date | None], pl.DataFrame]


HEALTH_TABLES = ["devices", "telemetry", "failures"]


def _health_train(data: Path, out: Path, opts: dict[str, Any], say: Progress) -> ModelCard:
    say("loading tables")
    tables = load_tables(data, HEALTH_TABLES)
    cfg = HealthConfig(**{k: v for k, v in opts.items() if k in HealthConfig.__dataclass_fields__})
    model, valid = train_health(tables, cfg, progress=say)
    from models.metrics import ranking_metrics, threshold_metrics

    y, s = valid["label"].to_numpy(), valid["score"].to_numpy()
    metrics = {
        "validation": {
            **ranking_metrics(y, s),
            "at_threshold": threshold_metrics(y, s, model.threshold),
            "snapshots": valid.height,
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


def _health_evaluate(data: Path, model_path: Path) -> tuple[dict[str, Any], pl.DataFrame]:
    model, card = _health_load(model_path)
    tables = load_tables(data, HEALTH_TABLES)
    # Same fleet as training: only judge days after the training window (its labels were seen).
    same = data_hash(data, HEALTH_TABLES) == card.data_hash
    after = dt.date.fromisoformat(card.training_window[-1]) if same else None
    metrics, scored = evaluate_health(model, tables, after=after)
    metrics.update({"model_version": card.model_version, "same_fleet_as_training": same})
    return metrics, scored


def _health_score(data: Path, model_path: Path, as_of: dt.date | None) -> pl.DataFrame:
    model, card = _health_load(model_path)
    as_of = as_of or last_date(data, "telemetry")
    tables = load_tables(data, ["devices", "telemetry"], as_of=as_of, lookback_days=MAX_WINDOW)
    return score_health(model, tables["devices"], tables["telemetry"], as_of, card.model_version)


KINDS: dict[str, Kind] = {
    "health": Kind(_health_train, _health_evaluate, _health_score),
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


def evaluate(name: str, data: str | Path, model: str | Path) -> tuple[dict[str, Any], pl.DataFrame]:
    return _kind(name).evaluate(Path(data), Path(model))


def score(name: str, data: str | Path, model: str | Path, as_of: dt.date | None = None) -> pl.DataFrame:
    return _kind(name).score(Path(data), Path(model), as_of)
