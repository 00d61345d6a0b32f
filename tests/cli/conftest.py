"""Helpers for driving `ws1ai` the way a person does: a separate process, a clean environment, its output.

The environment keeps nothing Prefect- or ws1ai-specific from the test session (no PREFECT_API_URL, no
WS1_*), uses a throwaway PREFECT_HOME (so a stray ephemeral server would leave its SQLite file there) and an
empty env file, so a developer's running stack (.ws1ai/stack.env) cannot leak into the test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from ws1ai.sandbox import SandboxState, create_app
from ws1ai.sandbox.server import serve_in_background
from ws1ai.settings import SandboxSettings

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Done:
    code: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        """Every non-empty line the command printed, stdout and stderr."""
        return [line for line in (self.stdout + "\n" + self.stderr).splitlines() if line.strip()]


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    drop = ("PREFECT_", "WS1", "SERVICENOW_", "HRIS_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    empty = home / "empty.env"
    empty.parent.mkdir(parents=True, exist_ok=True)
    empty.touch()
    env.update(
        {"PREFECT_HOME": str(home / "prefect-home"), "WS1AI_ENV_FILE": str(empty), "COLUMNS": "100", **extra}
    )
    return env


def ws1ai(args: list[str], env: Mapping[str, str], timeout: float = 180) -> Done:
    done = subprocess.run(
        [sys.executable, "-m", "ws1ai.cli", *args],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Done(done.returncode, done.stdout, done.stderr)


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    state = SandboxState.seeded(devices=40, seed=5, days=10)
    app = create_app(state, settings=SandboxSettings(rate_limit_per_minute=100_000))
    with serve_in_background(app) as url:
        yield url
