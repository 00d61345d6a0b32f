"""What a second shell needs to reach the running local stack, and the check that a Prefect server answers.

`ws1ai stack` writes `.ws1ai/stack.env` (mode 0600, removed when the stack stops): the Prefect API URL and
its auth string, the tenant URLs and the governance settings of the demo. Every `ws1ai` command loads that
file before Prefect's settings are imported (variables already in the environment win), so the commands the
stack prints work when pasted into another shell. `--env-file PATH` or `WS1AI_ENV_FILE` names another file.

The file is also valid shell: `set -a; . .ws1ai/stack.env; set +a` exports it for `prefect` itself.

Commands that need a Prefect server never fall back to Prefect's ephemeral mode (a throwaway SQLite server
per process, which locks against the real one): `require_prefect_server` says in one line that none answers.
"""

from __future__ import annotations

import base64
import os
import shlex
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

__all__ = [
    "DEFAULT_ENV_FILE",
    "ENV_FILE_VAR",
    "NoPrefectServer",
    "cli_invocation",
    "env_file_from_argv",
    "load_env_file",
    "read_env_file",
    "remove_env_file",
    "require_prefect_server",
    "write_env_file",
]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ENV_FILE = PROJECT_ROOT / ".ws1ai" / "stack.env"
ENV_FILE_VAR = "WS1AI_ENV_FILE"
_HEADER = "# Written by `ws1ai stack` for other shells; removed when the stack stops. Do not commit.\n"


class NoPrefectServer(RuntimeError):
    """A command needs a Prefect server and none is configured or none answers."""


def write_env_file(path: Path, values: Mapping[str, str]) -> Path:
    """Write `values` as shell-quoted KEY=value lines, readable by the owner only (it holds secrets)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = _HEADER + "".join(f"{key}={shlex.quote(value)}\n" for key, value in values.items())
    # Created 0600 from the start (not chmod'ed afterwards), so the secrets are never readable by others.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(body)
    os.chmod(path, 0o600)  # an existing file keeps its old mode through O_CREAT: set it explicitly
    return path


def remove_env_file(path: Path) -> None:
    path.unlink(missing_ok=True)


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=value lines (shell quoting, `export` and comments allowed); raises ValueError naming the line."""
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        key, sep, rest = line.partition("=")
        try:
            words = shlex.split(rest, comments=True)
        except ValueError as exc:
            raise ValueError(f"{path}:{number}: {exc}") from None
        if not sep or not key.isidentifier() or len(words) > 1:
            raise ValueError(f"{path}:{number}: expected KEY=value")
        values[key] = words[0] if words else ""
    return values


def load_env_file(path: Path, environ: os._Environ[str] | dict[str, str] | None = None) -> dict[str, str]:
    """Put the file's variables into the environment, without overriding any that are already set."""
    target = os.environ if environ is None else environ
    applied = {k: v for k, v in read_env_file(path).items() if k not in target}
    target.update(applied)
    return applied


def env_file_from_argv(argv: Sequence[str], environ: Mapping[str, str]) -> tuple[Path | None, bool]:
    """(env file to load, whether it was asked for explicitly): `--env-file`, WS1AI_ENV_FILE or the default.

    Read from argv before Typer parses it: Prefect reads its settings once, when it is first imported, which
    happens while the CLI's modules load — too late for an option's callback.
    """
    for i, arg in enumerate(argv):
        if arg == "--env-file" and i + 1 < len(argv):
            return Path(argv[i + 1]), True
        if arg.startswith("--env-file="):
            return Path(arg.split("=", 1)[1]), True
        if arg == "--":
            break
    if environ.get(ENV_FILE_VAR):
        return Path(environ[ENV_FILE_VAR]), True
    return (DEFAULT_ENV_FILE, False) if DEFAULT_ENV_FILE.is_file() else (None, False)


def cli_invocation(cwd: Path | None = None) -> str:
    """How to call this `ws1ai` from a shell in `cwd`: the bare name when PATH finds this very script, else
    the venv's script relative to the project root (when run from there) or by absolute path."""
    script = Path(sys.executable).parent / "ws1ai"
    if not script.exists():  # not installed as a console script (a bare checkout): the module works anywhere
        return f"{shlex.quote(sys.executable)} -m ws1ai.cli"
    on_path = shutil.which("ws1ai")
    if on_path and Path(on_path).resolve() == script.resolve():
        return "ws1ai"
    here = (cwd or Path.cwd()).resolve()
    return shlex.quote(os.path.relpath(script, here) if here == PROJECT_ROOT else str(script))


def _api_settings() -> tuple[str | None, str | None]:
    """The API URL and auth string the Prefect client of this process would use."""
    from prefect.settings import get_current_settings

    api = get_current_settings().api
    auth = api.auth_string.get_secret_value() if api.auth_string is not None else None
    return api.url, auth


def require_prefect_server(timeout: float = 5.0) -> str:
    """The configured Prefect API URL if its server answers /health; NoPrefectServer (one line) otherwise."""
    url, auth = _api_settings()
    hint = "start the stack with `make run` (or `ws1ai stack`), or set PREFECT_API_URL"
    if not url:
        raise NoPrefectServer(f"no Prefect server configured (PREFECT_API_URL is unset): {hint}")
    headers = {}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
    try:
        response = httpx.get(f"{url.rstrip('/')}/health", headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise NoPrefectServer(f"no Prefect server at {url} ({type(exc).__name__}): {hint}") from None
    if response.status_code != 200:
        raise NoPrefectServer(f"no Prefect server at {url} (HTTP {response.status_code} on /health): {hint}")
    # /health is open even when the server requires credentials; check ours on an authenticated route.
    try:
        probe = httpx.post(
            f"{url.rstrip('/')}/flow_runs/count", json={}, headers=headers, timeout=timeout
        )
    except httpx.HTTPError as exc:
        raise NoPrefectServer(f"no Prefect server at {url} ({type(exc).__name__}): {hint}") from None
    if probe.status_code in (401, 403):
        raise NoPrefectServer(
            f"the Prefect server at {url} refused our credentials (HTTP {probe.status_code}): set "
            "PREFECT_API_AUTH_STRING to the stack's (it is in .ws1ai/stack.env while the stack runs)"
        )
    return url
