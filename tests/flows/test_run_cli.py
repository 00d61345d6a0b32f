"""`ws1ai run <flow>` runs a blueprint now against the configured tenant (here: the sandbox)."""

from __future__ import annotations

import httpx
import pytest
from typer.testing import CliRunner

from tests.flows.conftest import tenant_writes
from ws1ai.cli import app

pytestmark = pytest.mark.prefect


def test_run_compliance_triage_in_observe_mode_writes_nothing(tenant: httpx.Client) -> None:
    result = CliRunner().invoke(app, ["run", "compliance_triage", "--mode", "observe"])
    assert result.exit_code == 0, result.output
    assert "compliance_triage: Completed" in result.output
    assert "observe: " in result.output and " 0 executed" in result.output  # the run summary
    assert tenant_writes(tenant) == []


def test_run_rejects_an_unknown_flow() -> None:
    result = CliRunner().invoke(app, ["run", "wipe_everything"])
    assert result.exit_code != 0
