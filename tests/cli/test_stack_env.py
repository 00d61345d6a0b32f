"""The env file a running stack leaves for other shells, and the `ws1ai` command line it prints for them."""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ws1ai import stack_env
from ws1ai.stack_env import cli_invocation, env_file_from_argv, load_env_file, read_env_file, write_env_file


def test_the_env_file_is_owner_only_shell_compatible_and_round_trips(tmp_path: Path) -> None:
    values = {"PREFECT_API_URL": "http://127.0.0.1:4200/api", "TRICKY": "a b'c\"$HOME;`x`"}
    path = write_env_file(tmp_path / ".ws1ai" / "stack.env", values)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_env_file(path) == values
    # The same file sourced by a POSIX shell gives the same values (no expansion, no command substitution).
    shown = subprocess.run(
        ["sh", "-c", f'set -a; . {shlex.quote(str(path))}; printf %s "$TRICKY"'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert shown == values["TRICKY"]


def test_variables_already_set_win(tmp_path: Path) -> None:
    path = write_env_file(tmp_path / "s.env", {"A": "file", "B": "file"})
    environ = {"A": "shell"}
    assert load_env_file(path, environ) == {"B": "file"}
    assert environ == {"A": "shell", "B": "file"}


def test_a_malformed_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.env"
    path.write_text("GOOD=1\nnot a setting\n")
    with pytest.raises(ValueError, match=r"bad.env:2"):
        read_env_file(path)


def test_which_env_file(tmp_path: Path) -> None:
    assert env_file_from_argv(["--env-file", "x.env", "approvals", "list"], {}) == (Path("x.env"), True)
    assert env_file_from_argv(["--env-file=y.env"], {"WS1AI_ENV_FILE": "z.env"}) == (Path("y.env"), True)
    assert env_file_from_argv(["approvals"], {"WS1AI_ENV_FILE": "z.env"}) == (Path("z.env"), True)


def test_the_printed_command_works_from_where_it_is_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = Path(sys.executable).parent / "ws1ai"
    if not script.exists():
        assert cli_invocation().endswith("-m ws1ai.cli")
        return
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # not on PATH: a path to this venv's script
    root = stack_env.PROJECT_ROOT
    assert cli_invocation(root) == shlex.quote(os.path.relpath(script, root))  # .venv/bin/ws1ai
    assert cli_invocation(tmp_path) == shlex.quote(str(script))
    monkeypatch.setenv("PATH", f"{script.parent}{os.pathsep}/usr/bin")  # on PATH: the bare name
    assert cli_invocation(tmp_path) == "ws1ai"
