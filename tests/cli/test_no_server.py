"""A command that needs a Prefect server and has none says so in one line and exits non-zero; it never starts
Prefect's ephemeral server (a throwaway SQLite server per process) behind the user's back."""

from __future__ import annotations

from pathlib import Path

import pytest

from ws1ai.net import free_port

from .conftest import Done, clean_env, ws1ai

NEEDS_SERVER = [
    ["approvals", "list"],
    ["approvals", "approve", "0000", "--approver", "alice"],
    ["audit", "export", "--since", "1h"],
    ["rollback", "0123456789abcdef01234567"],
    ["run", "compliance_triage", "--mode", "observe"],
]


def _assert_refused(home: Path, done: Done, where: str) -> None:
    lines = done.lines
    assert done.code != 0, lines
    assert len(lines) == 1, "\n".join(lines)
    assert where in lines[0] and "make run" in lines[0] and "PREFECT_API_URL" in lines[0], lines[0]
    # The ephemeral server would have created its SQLite database under PREFECT_HOME.
    assert not [p for p in home.rglob("*") if p.suffix in {".db", ".sqlite", ".sqlite3"}]


@pytest.mark.parametrize("args", NEEDS_SERVER, ids=lambda a: " ".join(a[:2]))
def test_no_prefect_api_url(tmp_path: Path, args: list[str]) -> None:
    done = ws1ai(args, clean_env(tmp_path))
    _assert_refused(tmp_path, done, "PREFECT_API_URL is unset")


def test_a_prefect_api_url_where_nothing_listens(tmp_path: Path) -> None:
    api = f"http://127.0.0.1:{free_port()}/api"  # nothing listens there
    done = ws1ai(["approvals", "list"], clean_env(tmp_path, PREFECT_API_URL=api))
    _assert_refused(tmp_path, done, f"no Prefect server at {api}")


def test_the_env_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    env_file = tmp_path / "other.env"
    env_file.write_text("PREFECT_API_URL='http://127.0.0.1:9/from-file/api'\n")
    env["WS1AI_ENV_FILE"] = str(env_file)
    _assert_refused(tmp_path, ws1ai(["approvals", "list"], env), "http://127.0.0.1:9/from-file/api")
    # --env-file beats WS1AI_ENV_FILE; a variable already set beats both.
    flag_file = tmp_path / "flag.env"
    flag_file.write_text("export PREFECT_API_URL=http://127.0.0.1:9/from-flag/api\n")
    done = ws1ai(["--env-file", str(flag_file), "approvals", "list"], env)
    _assert_refused(tmp_path, done, "from-flag")
    env["PREFECT_API_URL"] = "http://127.0.0.1:9/from-env/api"
    _assert_refused(tmp_path, ws1ai(["approvals", "list"], env), "from-env")


def test_a_missing_env_file_named_explicitly_is_an_error(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    env["WS1AI_ENV_FILE"] = str(tmp_path / "nope.env")
    done = ws1ai(["approvals", "list"], env)
    assert done.code == 2 and len(done.lines) == 1 and "nope.env" in done.lines[0], done.lines


def test_commands_that_need_no_server_still_work(tmp_path: Path) -> None:
    env = clean_env(tmp_path, WS1AI_GOVERNANCE_APPROVER_KEY="k")
    done = ws1ai(["approvals", "issue-token", "alice"], env)
    assert done.code == 0, done.lines
    assert ws1ai(["approvals", "list", "--help"], clean_env(tmp_path)).code == 0
