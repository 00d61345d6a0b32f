"""Errors a person can read: one line saying what is wrong and what to do, a non-zero exit, no traceback
(unless `ws1ai --verbose`). Each case is what a user typed or misconfigured, run as a separate process."""

from __future__ import annotations

from pathlib import Path

import pytest

from ws1ai.net import free_port

from .conftest import Done, clean_env, ws1ai


def _one_line_error(done: Done, *expected: str) -> str:
    lines = done.lines
    assert done.code != 0, lines
    assert len(lines) == 1, "\n".join(lines)
    assert "Traceback" not in lines[0]
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def test_a_bogus_mode_is_refused_before_anything_starts(tmp_path: Path) -> None:
    done = ws1ai(["run", "compliance_triage", "--mode", "bogus"], clean_env(tmp_path))
    _one_line_error(done, "--mode", "bogus", "observe")
    assert done.code == 2
    assert not list(tmp_path.rglob("*.db")), "a Prefect server was started for a bad option"


def test_an_unknown_parameter_lists_the_valid_ones(tmp_path: Path) -> None:
    done = ws1ai(["run", "compliance_triage", "--param", "max_device=5"], clean_env(tmp_path))
    _one_line_error(done, "max_device", "max_devices", "device_id")


def test_a_parameter_of_the_wrong_type_says_why(tmp_path: Path) -> None:
    done = ws1ai(["run", "compliance_triage", "-p", "max_devices=lots"], clean_env(tmp_path))
    _one_line_error(done, "max_devices", "valid integer")


def test_as_of_that_is_not_an_iso_date(tmp_path: Path) -> None:
    args = ["models", "score", "health", "--data", str(tmp_path), "--model", str(tmp_path / "m.skops")]
    done = ws1ai([*args, "--out", str(tmp_path / "o.parquet"), "--as-of", "01/11/2026"], clean_env(tmp_path))
    _one_line_error(done, "--as-of", "01/11/2026", "YYYY-MM-DD")


@pytest.mark.slow
def test_a_corrupted_parquet_file_is_named(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    fleet = tmp_path / "fleet"
    generated = ws1ai(["fleet", "generate", "--devices", "30", "--days", "20", "--out", str(fleet)], env)
    assert generated.code == 0, generated.lines
    (fleet / "telemetry.parquet").write_bytes(b"PAR1 this is not a parquet file")
    done = ws1ai(["models", "train", "health", "--data", str(fleet), "--out", str(tmp_path / "m.skops")], env)
    _one_line_error(done, str(fleet / "telemetry.parquet"))


@pytest.mark.prefect
def test_audit_export_since_banana(tmp_path: Path, prefect_server: str) -> None:
    env = clean_env(tmp_path, PREFECT_API_URL=prefect_server)
    done = ws1ai(["audit", "export", "--since", "banana"], env)
    _one_line_error(done, "--since", "banana")


@pytest.mark.prefect
def test_a_wrong_uem_password(tmp_path: Path, prefect_server: str, sandbox_url: str) -> None:
    env = clean_env(tmp_path, PREFECT_API_URL=prefect_server, WS1_BASE_URL=sandbox_url, WS1_PASSWORD="nope")
    done = ws1ai(["run", "compliance_triage", "--mode", "observe"], env)
    _one_line_error(done, "WS1_PASSWORD", "401")
    # --verbose is where the traceback went.
    verbose = ws1ai(["--verbose", "run", "compliance_triage", "--mode", "observe"], env)
    assert verbose.code != 0 and "Traceback" in verbose.stderr


@pytest.mark.prefect
def test_a_closed_tenant_port(tmp_path: Path, prefect_server: str) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    env = clean_env(tmp_path, PREFECT_API_URL=prefect_server, WS1_BASE_URL=url)
    done = ws1ai(["run", "compliance_triage", "--mode", "observe"], env)
    _one_line_error(done, "cannot reach the UEM tenant", "WS1_BASE_URL")


@pytest.mark.prefect
def test_a_wrong_tenant_code_is_not_echoed(tmp_path: Path, prefect_server: str, sandbox_url: str) -> None:
    code = "wrong-tenant-code-7731"
    env = clean_env(tmp_path, PREFECT_API_URL=prefect_server, WS1_BASE_URL=sandbox_url, WS1_TENANT_CODE=code)
    done = ws1ai(["run", "compliance_triage", "--mode", "observe"], env)
    line = _one_line_error(done, "WS1_TENANT_CODE", "1013")
    assert code not in line
    verbose = ws1ai(["--verbose", "run", "compliance_triage", "--mode", "observe"], env)
    assert code not in verbose.stdout + verbose.stderr


@pytest.mark.prefect
def test_a_run_that_fails_inside_the_flow_shows_no_traceback(
    tmp_path: Path, prefect_server: str, sandbox_url: str
) -> None:
    env = clean_env(tmp_path, PREFECT_API_URL=prefect_server, WS1_BASE_URL=sandbox_url)
    env["WS1AI_ALLOWED_DIRS"] = str(tmp_path)  # inside the data directories: the read itself fails
    missing = tmp_path / "none.skops"
    args = ["run", "compliance_triage", "--mode", "observe", "-p", f"risk_model_path={missing}"]
    done = ws1ai(args, env)
    assert done.code == 1, done.lines
    assert "Traceback" not in done.stdout + done.stderr, "\n".join(done.lines)
    assert done.stdout.strip().splitlines()[-1].startswith("compliance_triage: Failed"), done.stdout
    verbose = ws1ai(["--verbose", *args], env)  # the run's log keeps the traceback with --verbose
    assert verbose.code == 1 and "Traceback" in verbose.stdout + verbose.stderr
