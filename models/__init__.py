"""Pure ML: data contracts, features, estimators, evaluation, registry (no Prefect, no HTTP).

Entry points: `models.pipeline.train/evaluate/score(name, data_dir, ...)` for the four model kinds
(`health`, `risk`, `usage`, `bundles`) and the Typer app `models.cli.models_app` (`ws1ai models ...`).

The names below are resolved on first use (PEP 562): importing one submodule (a flow needs only
`models.registry` or `models.schemas` before its first line) must not import scikit-learn and every
estimator with it — that import was most of a flow run's start-up cost.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["KINDS", "ContractError", "IncompatibleModelError", "evaluate", "score", "train"]

_HOMES = {
    "KINDS": "models.pipeline",
    "evaluate": "models.pipeline",
    "score": "models.pipeline",
    "train": "models.pipeline",
    "IncompatibleModelError": "models.registry",
    "ContractError": "models.schemas",
}

if TYPE_CHECKING:
    from models.pipeline import KINDS, evaluate, score, train
    from models.registry import IncompatibleModelError
    from models.schemas import ContractError


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'models' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
