"""A small generated fleet written as real parquet, shared by the models tests."""

from __future__ import annotations

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


@pytest.fixture(scope="session")
def health_model(fleet_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from models import pipeline

    out = tmp_path_factory.mktemp("models") / "health.skops"
    pipeline.train("health", fleet_dir, out, {"seed": 0, "max_iter": 60})
    return out
