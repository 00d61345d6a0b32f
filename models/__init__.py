"""Pure ML: data contracts, features, estimators, evaluation, registry (no Prefect, no HTTP).

Entry points: `models.pipeline.train/evaluate/score(name, data_dir, ...)` for the four model kinds
(`health`, `risk`, `usage`, `bundles`) and the Typer app `models.cli.models_app` (`ws1ai models ...`).
"""

__all__ = ["KINDS", "ContractError", "IncompatibleModelError", "evaluate", "score", "train"]

from models.pipeline import KINDS, evaluate, score, train
from models.registry import IncompatibleModelError
from models.schemas import ContractError
