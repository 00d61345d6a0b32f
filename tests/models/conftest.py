"""A small generated fleet written as real parquet, shared by the models tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def fleet_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ws1ai.sandbox.fleet import generate_fleet, write_fleet

    out = tmp_path_factory.mktemp("fleet") / "a"
    write_fleet(generate_fleet(devices=600, seed=11, days=200), out)
    return out


@pytest.fixture(scope="session")
def other_fleet_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ws1ai.sandbox.fleet import generate_fleet, write_fleet

    out = tmp_path_factory.mktemp("fleet") / "b"
    write_fleet(generate_fleet(devices=400, seed=12, days=150), out)
    return out


@pytest.fixture(scope="session", autouse=True)
def _one_blas_thread() -> Iterator[None]:
    """Gradient boosting's OpenMP threads thrash on a small shared machine; one thread is faster there."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="session")
def health_model(fleet_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Trained through the CLI itself (so the CLI's train path is exercised once, not twice)."""
    from typer.testing import CliRunner

    from models.cli import models_app

    out = tmp_path_factory.mktemp("models") / "health.skops"
    args = ["train", "health", "--data", str(fleet_dir), "--out", str(out), "--max-iter", "60"]
    res = CliRunner().invoke(models_app, args)
    assert res.exit_code == 0, res.output
    return out
