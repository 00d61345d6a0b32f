"""Persist models as skops files plus a JSON sidecar; refuse to load what this code cannot use.

`<path>` holds the estimators (a dict of scikit-learn objects, loaded with skops' type allow-list, never
pickle); `<path>.json` holds everything a reader needs to judge the model without loading it: kind, feature
list, training window, data hash, library versions, parameters and metrics. Loading checks the sidecar's
schema version and contract fingerprint against this code and raises `IncompatibleModelError` naming the
mismatch.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from models.schemas import contract_fingerprint

__all__ = [
    "SCHEMA_VERSION",
    "IncompatibleModelError",
    "ModelCard",
    "load_model",
    "save_model",
    "sidecar_path",
]

# Bump when a feature's meaning or a parameter's layout changes: old files must then be refused.
SCHEMA_VERSION = 3
# Types skops does not trust by default that our own estimators contain, by exact name. Not a prefix: a
# file is chosen by whoever passes a path, and "builtins.exec", "numpy.load" or any sklearn helper would
# be *called* while loading (skops rebuilds some objects by calling the named type with the file's args).
_TRUSTED_TYPES = frozenset({"sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"})


class IncompatibleModelError(ValueError):
    """The saved model was built for a different schema, contract or kind than the caller expects."""


@dataclass
class ModelCard:
    kind: str  # health | risk | usage | bundles
    tables: list[str]
    features: list[str]
    training_window: list[str]
    data_hash: str
    params: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION
    contract: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    created_at: str = ""
    model_version: str = ""


def sidecar_path(path: str | Path) -> Path:
    p = Path(path)
    return p.with_name(p.name + ".json")


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for lib in ("scikit-learn", "polars", "numpy", "skops"):
        try:
            out[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:  # pragma: no cover - all are dependencies
            out[lib] = "unknown"
    return out


def save_model(path: str | Path, estimators: dict[str, Any], card: ModelCard) -> ModelCard:
    """Write `<path>` (skops) and `<path>.json`; fills contract, versions, timestamp and model_version."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    import skops.io as sio  # here, not at the top: it imports scikit-learn (see models/__init__.py)

    sio.dump(estimators, p)
    card.contract = contract_fingerprint(card.tables)
    card.versions = _versions()
    card.created_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    digest = hashlib.sha256(p.read_bytes()).hexdigest()[:10]
    card.model_version = f"{card.kind}-{card.training_window[-1] if card.training_window else 'na'}-{digest}"
    sidecar_path(p).write_text(json.dumps(card.__dict__, indent=2, default=str) + "\n")
    return card


def read_card(path: str | Path) -> ModelCard:
    side = sidecar_path(path)
    if not side.exists():
        raise IncompatibleModelError(f"{side} not found: a model file needs its JSON sidecar")
    raw = json.loads(side.read_text())
    try:
        return ModelCard(**raw)
    except TypeError as exc:
        raise IncompatibleModelError(f"{side}: unreadable sidecar ({exc})") from exc


def load_model(path: str | Path, kind: str) -> tuple[dict[str, Any], ModelCard]:
    """Load estimators and card, refusing a different kind, schema version or data contract."""
    card = read_card(path)
    if card.kind != kind:
        raise IncompatibleModelError(f"{path} is a '{card.kind}' model, not '{kind}'")
    if card.schema_version != SCHEMA_VERSION:
        raise IncompatibleModelError(
            f"{path} has schema version {card.schema_version}, this code reads {SCHEMA_VERSION}: retrain it"
        )
    expected = contract_fingerprint(card.tables)
    if card.contract != expected:
        raise IncompatibleModelError(
            f"{path} was trained on a different data contract; retrain it "
            f"(saved: {card.contract[:80]}..., now: {expected[:80]}...)"
        )
    import skops.io as sio  # here, not at the top: it imports scikit-learn (see models/__init__.py)

    untrusted = sio.get_untrusted_types(file=Path(path))
    bad = [t for t in untrusted if t not in _TRUSTED_TYPES]
    if bad:
        raise IncompatibleModelError(f"{path} contains types outside the allow-list: {bad[:5]}")
    estimators: dict[str, Any] = sio.load(Path(path), trusted=untrusted)
    return estimators, card
