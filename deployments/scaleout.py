"""Scale-out harness: the project's deployments on a PostgreSQL-backed Prefect server with N process workers.

Nothing here schedules or queues work: it only starts the standard pieces (PostgreSQL through
`scripts/ci/postgres.sh`, `prefect server start`, `prefect work-pool create`, `prefect deploy --all`,
`prefect worker start`) and lets Prefect's work pool hand runs to the workers. Used by `tests/scaleout` and by
the measurements in `docs/scale-out.md`:

    python -m deployments.scaleout --workers 1,2 --runs 12

Every server binds to 127.0.0.1 and requires a password (`PREFECT_SERVER_API_AUTH_STRING`, random per
start; every client here sends it as `PREFECT_API_AUTH_STRING`), and every process started here is stopped on
exit (its own process group, so a worker's flow-run subprocesses go with it).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from uuid import UUID

import httpx

from ws1ai.net import free_port

PROJECT_DIR = Path(__file__).resolve().parent.parent
POSTGRES_SCRIPT = PROJECT_DIR / "scripts" / "ci" / "postgres.sh"
WORK_POOL = "ws1ai-process"
DEPLOYMENT = "compliance-triage/compliance-triage-nightly"
FINAL_STATES = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


class PostgresUnavailable(RuntimeError):
    """PostgreSQL is not installed and `postgres.sh` cannot install it here (not root, no apt-get)."""


# ---------------------------------------------------------------------------------------------- processes


@dataclass
class Proc:
    """A child process in its own session (process group), with its output in a log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    _log: IO[bytes] = field(repr=False)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM to the process group, SIGKILL after `timeout` s; children (flow runs) included."""
        try:
            if self.alive():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.popen.wait(timeout=timeout)
            # The group leader may be gone while its children (a flow-run subprocess) are not.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=10)
        finally:
            self._log.close()


def spawn(name: str, args: Sequence[str], env: Mapping[str, str], log_dir: Path) -> Proc:
    log_path = log_dir / f"{name}.log"
    log = log_path.open("wb")
    popen = subprocess.Popen(
        list(args),
        cwd=PROJECT_DIR,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return Proc(name, popen, log_path, log)


def cpu_seconds(pid: int) -> float:
    """User+system CPU of `pid`, its reaped children and its live descendants (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, list[str]]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()  # after "pid (comm) "
        stats[int(entry.name)] = (int(fields[1]), fields)  # ppid, fields (fields[0] = state)
    total = 0.0
    todo = [pid]
    seen: set[int] = set()
    while todo:
        current = todo.pop()
        if current in seen or current not in stats:
            continue
        seen.add(current)
        fields = stats[current][1]
        # utime, stime, cutime, cstime are fields 14-17 of stat, i.e. 11-14 after "pid (comm) "
        total += sum(int(v) for v in fields[11:15]) / ticks
        todo.extend(child for child, (ppid, _) in stats.items() if ppid == current)
    return total


# ---------------------------------------------------------------------------------------------- components


@contextlib.contextmanager
def postgres(workdir: Path) -> Iterator[tuple[str, int]]:
    """A PostgreSQL cluster on loopback in `workdir`; yields (SQLAlchemy URL, postmaster pid)."""
    started = subprocess.run(
        ["bash", str(POSTGRES_SCRIPT), "start", str(workdir)], capture_output=True, text=True, timeout=600
    )
    if started.returncode == 3:
        raise PostgresUnavailable(started.stderr.strip())
    try:
        if started.returncode != 0:
            raise RuntimeError(f"postgres.sh start failed ({started.returncode}):\n{started.stderr}")
        pid = int((workdir / "data" / "postmaster.pid").read_text().split()[0])
        yield started.stdout.strip().splitlines()[-1], pid
    finally:
        subprocess.run(["bash", str(POSTGRES_SCRIPT), "stop", str(workdir)], capture_output=True, timeout=120)


def base_env(
    prefect_home: Path, api_url: str | None = None, auth_string: str | None = None
) -> dict[str, str]:
    """This process's environment without any PREFECT_* setting (no leaking profile or API URL)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(prefect_home)
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"  # offline: the server reports no usage
    env["DO_NOT_TRACK"] = "1"  # nor do the clients (workers, flow runs, the prefect CLI)
    env["PYTHONUNBUFFERED"] = "1"
    if api_url:
        env["PREFECT_API_URL"] = api_url
    if auth_string:
        env["PREFECT_API_AUTH_STRING"] = auth_string
    return env


def auth_headers(auth_string: str | None) -> dict[str, str]:
    """The header for a server with PREFECT_SERVER_API_AUTH_STRING (HTTP Basic of the string itself)."""
    if not auth_string:
        return {}
    return {"Authorization": "Basic " + base64.b64encode(auth_string.encode()).decode()}


@contextlib.contextmanager
def prefect_server(
    db_url: str, workdir: Path, auth_string: str, startup_timeout: float = 180.0
) -> Iterator[tuple[str, Proc]]:
    """`prefect server start` on 127.0.0.1 on `db_url`, requiring `auth_string`; yields (API URL, process).

    Without the password anyone on the host could post events that start runs, read the approvals waiting in
    run inputs and create runs with any parameters (GET /api/health stays open for probes).
    """
    port = free_port()
    env = base_env(workdir / "prefect-home", auth_string=auth_string)
    env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = db_url
    env["PREFECT_SERVER_API_AUTH_STRING"] = auth_string
    server = spawn(
        "prefect-server",
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env,
        workdir,
    )
    api = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if not server.alive():
                raise RuntimeError(f"Prefect server exited during startup:\n{server.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"Prefect server not healthy after {startup_timeout} s:\n{server.log_tail()}"
                )
            time.sleep(0.5)
        yield api, server
    finally:
        server.stop()


def prefect_cli(args: Sequence[str], env: Mapping[str, str], timeout: float = 300.0) -> str:
    """Run `prefect <args>` from the project root; returns its output, raises with it on failure."""
    done = subprocess.run(
        [sys.executable, "-m", "prefect", *args],
        cwd=PROJECT_DIR,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"prefect {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        )
    return done.stdout


def deploy_all(env: Mapping[str, str]) -> None:
    """The process work pool, then every deployment of prefect.yaml, exactly as an operator would."""
    prefect_cli(["work-pool", "create", WORK_POOL, "--type", "process", "--overwrite"], env)
    prefect_cli(["--no-prompt", "deploy", "--all"], {**env, "WS1AI_PROJECT_DIR": str(PROJECT_DIR)})


@contextlib.contextmanager
def sandbox(devices: int = 300, seed: int = 23, days: int = 30) -> Iterator[str]:
    """The sandbox tenant in this process on a loopback port; yields its base URL."""
    from ws1ai.sandbox import SandboxState, create_app
    from ws1ai.sandbox.server import serve_in_background
    from ws1ai.settings import SandboxSettings

    state = SandboxState.seeded(devices=devices, seed=seed, days=days)
    app = create_app(state, settings=SandboxSettings(rate_limit_per_minute=1_000_000))
    with serve_in_background(app) as url:
        yield url


def tenant_env(sandbox_url: str) -> dict[str, str]:
    """The variables that point the flows' clients at a tenant (same names as against a real one)."""
    return {
        "WS1_BASE_URL": sandbox_url,
        "WS1_TOKEN_URL": f"{sandbox_url}/connect/token",
        "WS1_RATE_LIMIT_PER_MINUTE": "100000",
        "SERVICENOW_BASE_URL": sandbox_url,
        "HRIS_BASE_URL": f"{sandbox_url}/hris",
        "WS1AI_PROJECT_DIR": str(PROJECT_DIR),
    }


@contextlib.contextmanager
def workers(
    count: int,
    env: Mapping[str, str],
    workdir: Path,
    *,
    limit: int | None = None,
    prefix: str = "worker",
    startup_timeout: float = 120.0,
) -> Iterator[list[Proc]]:
    """`count` process workers on the pool, polling every second; waits until the server sees them online."""
    procs: list[Proc] = []
    env = {**env, "PREFECT_WORKER_QUERY_SECONDS": "1"}
    try:
        for i in range(1, count + 1):
            args = [sys.executable, "-m", "prefect", "worker", "start", "--pool", WORK_POOL]
            args += ["--name", f"{prefix}-{i}", "--type", "process"]
            if limit is not None:
                args += ["--limit", str(limit)]
            procs.append(spawn(f"{prefix}-{i}", args, env, workdir))
        names = {p.name for p in procs}
        deadline = time.monotonic() + startup_timeout
        while True:
            for p in procs:
                if not p.alive():
                    raise RuntimeError(f"worker {p.name} exited:\n{p.log_tail()}")
            if names <= online_workers(env["PREFECT_API_URL"], env.get("PREFECT_API_AUTH_STRING")):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"workers not online after {startup_timeout} s:\n{procs[0].log_tail()}")
            time.sleep(0.5)
        yield procs
    finally:
        for p in procs:  # SIGTERM all first, so they shut down in parallel
            if p.alive():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            p.stop()


# ---------------------------------------------------------------------------------------------- API helpers


def online_workers(api: str, auth_string: str | None = None) -> set[str]:
    response = httpx.post(
        f"{api}/work_pools/{WORK_POOL}/workers/filter", json={}, headers=auth_headers(auth_string), timeout=10
    )
    response.raise_for_status()
    return {w["name"] for w in response.json() if w.get("status") == "ONLINE"}


def submit_runs(
    api: str, count: int, parameters: dict[str, Any], deployment: str = DEPLOYMENT, auth: str | None = None
) -> list[UUID]:
    """`count` runs of `deployment` created at once (as `prefect deployment run` does, minus the CLI)."""
    from prefect.client.orchestration import SyncPrefectClient

    with SyncPrefectClient(api, auth_string=auth) as client:
        dep = client.read_deployment_by_name(deployment)
        return [
            client.create_flow_run_from_deployment(dep.id, parameters=parameters).id for _ in range(count)
        ]


def wait_final(api: str, ids: Sequence[UUID], timeout: float, auth: str | None = None) -> list[Any]:
    """Poll until every run is in a final state; returns the runs (prefect FlowRun objects)."""
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    deadline = time.monotonic() + timeout
    with SyncPrefectClient(api, auth_string=auth) as client:
        while True:
            runs = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=list(ids))), limit=len(ids)
            )
            if len(runs) == len(ids) and all(r.state and r.state.type.value in FINAL_STATES for r in runs):
                return list(runs)
            if time.monotonic() > deadline:
                states = sorted(str(r.state.type.value if r.state else None) for r in runs)
                raise TimeoutError(f"runs not final after {timeout} s: {states}")
            time.sleep(0.5)


# ------------------------------------------------------------------------------------------- the whole stack


@dataclass
class Stack:
    workdir: Path
    api: str
    env: dict[str, str]  # workers' and the prefect CLI's: API URL and password, PREFECT_HOME, tenant vars
    server: Proc
    postgres_pid: int
    auth_string: str  # the server's password (PREFECT_SERVER_API_AUTH_STRING); clients send it


@contextlib.contextmanager
def stack(workdir: Path, *, devices: int = 300) -> Iterator[Stack]:
    """PostgreSQL + Prefect server + work pool + every deployment + sandbox tenant. No workers yet."""
    with contextlib.ExitStack() as exits:
        db_url, pg_pid = exits.enter_context(postgres(workdir / "pg"))
        auth_string = secrets.token_urlsafe(32)
        api, server = exits.enter_context(prefect_server(db_url, workdir, auth_string))
        env = base_env(workdir / "prefect-home", api, auth_string)
        deploy_all(env)
        sandbox_url = exits.enter_context(sandbox(devices=devices))
        env.update(tenant_env(sandbox_url))
        yield Stack(workdir, api, env, server, pg_pid, auth_string)


# ---------------------------------------------------------------------------------------------- benchmark


def _measure(st: Stack, n_workers: int, runs: int, limit: int | None) -> dict[str, float]:
    with workers(n_workers, st.env, st.workdir, limit=limit, prefix=f"bench{n_workers}") as procs:
        cpu0 = {"server": cpu_seconds(st.server.pid), "postgres": cpu_seconds(st.postgres_pid)}
        cpu0["workers"] = sum(cpu_seconds(p.pid) for p in procs)
        t0 = time.monotonic()
        ids = submit_runs(st.api, runs, {"mode": "observe"}, auth=st.auth_string)
        done = wait_final(st.api, ids, timeout=60 + 30 * runs, auth=st.auth_string)
        elapsed = time.monotonic() - t0
        cpu1 = {"server": cpu_seconds(st.server.pid), "postgres": cpu_seconds(st.postgres_pid)}
        cpu1["workers"] = sum(cpu_seconds(p.pid) for p in procs)
    completed = [r for r in done if r.state.type.value == "COMPLETED"]
    by_worker: dict[str, int] = {}
    for r in done:
        name = r.labels.get("prefect.worker.name", "?")
        by_worker[name] = by_worker.get(name, 0) + 1
    run_seconds = sorted(r.total_run_time.total_seconds() for r in completed)
    lags = sorted((r.start_time - r.expected_start_time).total_seconds() for r in completed if r.start_time)
    result = {
        "workers": n_workers,
        "runs": runs,
        "completed": len(completed),
        "wall_s": round(elapsed, 1),
        "runs_per_min": round(60 * len(completed) / elapsed, 1),
        "flow_run_s_median": round(run_seconds[len(run_seconds) // 2], 2) if run_seconds else float("nan"),
        "start_lag_s_median": round(lags[len(lags) // 2], 2) if lags else float("nan"),
        "start_lag_s_max": round(lags[-1], 2) if lags else float("nan"),
    }
    for part in ("server", "postgres", "workers"):
        result[f"cpu_{part}_s"] = round(cpu1[part] - cpu0[part], 1)
    print(f"  spread over workers: {by_worker}", flush=True)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts to measure in turn")
    parser.add_argument("--runs", type=int, default=12, help="observe-mode runs submitted at once per round")
    parser.add_argument("--limit", type=int, default=None, help="per-worker concurrent run limit (--limit)")
    parser.add_argument("--devices", type=int, default=300, help="sandbox fleet size")
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.workers.split(",")]
    with tempfile.TemporaryDirectory(prefix="ws1ai-scaleout-") as tmp:
        workdir = Path(tmp)
        os.chmod(workdir, 0o755)  # PostgreSQL runs as `postgres` when we are root: it must reach pg/
        t0 = time.monotonic()
        with stack(workdir, devices=args.devices) as st:
            print(f"stack up in {time.monotonic() - t0:.1f} s (PostgreSQL, server, deploy --all, sandbox)")
            print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()}")
            for n in counts:
                print(f"{n} worker(s), {args.runs} runs, limit={args.limit}:", flush=True)
                print(f"  {_measure(st, n, args.runs, args.limit)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
