"""The deployments of prefect.yaml on a PostgreSQL-backed Prefect server with two process workers.

Real parts only: PostgreSQL from Debian's packages, `prefect server start`, `prefect deploy --all`,
`prefect worker start`, `prefect deployment run`, and the sandbox tenant the flow talks to over HTTP.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime
from uuid import UUID, uuid4

import httpx
import pytest

from deployments.scaleout import DEPLOYMENT, PROJECT_DIR, auth_headers, submit_runs, wait_final

from .conftest import PER_WORKER_LIMIT, WORKERS, ScaleOut

pytestmark = pytest.mark.slow


def _tenant_counts(sandbox_url: str) -> tuple[int, int]:
    """(requests served, ledger writes) so far."""
    with httpx.Client(base_url=sandbox_url, timeout=30) as control:
        served = control.get("/_sandbox/requests").json()["total"]
        writes = control.get("/_sandbox/ledger").json()["count"]
    return int(served), int(writes)


def test_a_deployment_run_completes_on_a_worker_against_the_tenant(scaleout: ScaleOut) -> None:
    served_before, writes_before = _tenant_counts(scaleout.sandbox_url)

    out = subprocess.run(
        [sys.executable, "-m", "prefect", "deployment", "run", DEPLOYMENT, "-p", "mode=observe"],
        cwd=PROJECT_DIR,
        env=scaleout.stack.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    match = re.search(r"UUID:\s*([0-9a-f-]{36})", out)
    assert match, out
    run_id = UUID(match.group(1))
    [run] = wait_final(scaleout.stack.api, [run_id], timeout=150, auth=scaleout.stack.auth_string)

    assert run.state.type.value == "COMPLETED", f"{run.state}\n{scaleout.logs()}"
    assert run.labels.get("prefect.work-pool.name") == "ws1ai-process"
    assert run.labels.get("prefect.worker.name") in {w.name for w in scaleout.workers}
    served_after, writes_after = _tenant_counts(scaleout.sandbox_url)
    assert served_after > served_before  # the flow read the fleet from the tenant, in the worker's process
    assert writes_after == writes_before  # observe mode: nothing changed on the tenant


def test_runs_submitted_at_once_are_spread_over_both_workers(scaleout: ScaleOut) -> None:
    burst = WORKERS * PER_WORKER_LIMIT + 2  # more than one worker may hold at a time
    auth = scaleout.stack.auth_string
    ids = submit_runs(scaleout.stack.api, burst, {"mode": "observe"}, auth=auth)
    runs = wait_final(scaleout.stack.api, ids, timeout=240, auth=auth)

    states = [r.state.type.value for r in runs]
    assert states == ["COMPLETED"] * burst, f"{states}\n{scaleout.logs()}"
    per_worker: dict[str, int] = {}
    for r in runs:
        name = r.labels["prefect.worker.name"]
        per_worker[name] = per_worker.get(name, 0) + 1
    assert set(per_worker) == {w.name for w in scaleout.workers}, per_worker


def test_the_server_refuses_clients_without_its_password(scaleout: ScaleOut) -> None:
    """Else anyone on the host could post a forged Workspace ONE event, read run inputs or create runs."""
    api, auth = scaleout.stack.api, auth_headers(scaleout.stack.auth_string)
    event = [
        {
            "id": str(uuid4()),
            "occurred": datetime.now(UTC).isoformat(),
            "event": "ws1.device.compliance-changed",
            "resource": {"prefect.resource.id": "ws1.device.10002"},
        }
    ]
    assert httpx.post(f"{api}/events", json=event, timeout=10).status_code == 401
    assert httpx.post(f"{api}/flow_runs/filter", json={"limit": 1}, timeout=10).status_code == 401
    assert httpx.post(f"{api}/events", json=event, headers=auth, timeout=10).status_code == 204
    assert httpx.get(f"{api}/health", timeout=10).status_code == 200  # probes stay open
