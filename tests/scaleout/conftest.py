"""The scale-out stack for these tests: PostgreSQL on loopback, a Prefect server on it, every deployment of
prefect.yaml registered with `prefect --no-prompt deploy --all`, the sandbox tenant, and two process workers.

Built once per module (~40 s on two busy cores) and torn down in reverse order: workers, sandbox, server,
PostgreSQL. Skipped, with the reason, when PostgreSQL is missing and `scripts/ci/postgres.sh` cannot
install it.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from deployments.scaleout import POSTGRES_SCRIPT, Proc, Stack, stack, workers

WORKERS = 2
PER_WORKER_LIMIT = 2  # each worker holds at most two runs, so a burst has to reach both


@dataclass
class ScaleOut:
    stack: Stack
    workers: list[Proc]

    @property
    def sandbox_url(self) -> str:
        return self.stack.env["WS1_BASE_URL"]

    def logs(self) -> str:
        """Tails of the worker and server logs, for failure messages."""
        parts = [f"--- {p.name} ---\n{p.log_tail(30)}" for p in [*self.workers, self.stack.server]]
        return "\n".join(parts)


def _postgres_installable() -> str | None:
    """None when PostgreSQL can be used here (installing it if missing and we may), else the reason."""
    done = subprocess.run(
        ["bash", str(POSTGRES_SCRIPT), "install"], capture_output=True, text=True, timeout=900
    )
    if done.returncode == 0:
        return None
    return f"PostgreSQL unavailable: {done.stderr.strip() or f'postgres.sh install exited {done.returncode}'}"


@pytest.fixture(scope="module")
def scaleout() -> Iterator[ScaleOut]:
    reason = _postgres_installable()
    if reason:
        pytest.skip(reason)
    with tempfile.TemporaryDirectory(prefix="ws1ai-scaleout-") as tmp:
        workdir = Path(tmp)
        os.chmod(workdir, 0o755)  # as root, PostgreSQL runs as `postgres` and must reach workdir/pg
        with (
            stack(workdir, devices=200) as st,
            workers(WORKERS, st.env, workdir, limit=PER_WORKER_LIMIT, prefix="scaleout") as procs,
        ):
            yield ScaleOut(st, procs)
