"""Registry: skops + JSON sidecar round trip, and refusal of incompatible files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from models.registry import IncompatibleModelError, ModelCard, load_model, save_model, sidecar_path


def _save(path: Path) -> ModelCard:
    clf = LogisticRegression().fit(np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1]))
    card = ModelCard(
        kind="health",
        tables=["devices", "telemetry"],
        features=["x"],
        training_window=["2026-01-01", "2026-06-30"],
        data_hash="abc",
        params={"threshold": 0.3},
        metrics={"roc_auc": 0.9},
    )
    return save_model(path, {"failure": clf}, card)


def test_round_trip_keeps_predictions_and_metadata(tmp_path: Path) -> None:
    path = tmp_path / "m.skops"
    card = _save(path)
    est, loaded = load_model(path, "health")
    assert est["failure"].predict_proba(np.array([[2.5]]))[0, 1] > 0.5
    assert loaded.model_version == card.model_version and loaded.params == {"threshold": 0.3}
    side = json.loads(sidecar_path(path).read_text())
    for key in ("features", "training_window", "data_hash", "versions", "metrics", "contract"):
        assert side[key], key
    assert "scikit-learn" in side["versions"]


def test_incompatible_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.skops"
    _save(path)
    with pytest.raises(IncompatibleModelError, match="not 'usage'"):
        load_model(path, "usage")
    side = json.loads(sidecar_path(path).read_text())
    sidecar_path(path).write_text(json.dumps({**side, "schema_version": 1}))
    with pytest.raises(IncompatibleModelError, match="schema version 1"):
        load_model(path, "health")
    sidecar_path(path).write_text(json.dumps({**side, "contract": "telemetry:date=String"}))
    with pytest.raises(IncompatibleModelError, match="different data contract"):
        load_model(path, "health")
    sidecar_path(path).unlink()
    with pytest.raises(IncompatibleModelError, match="sidecar"):
        load_model(path, "health")
