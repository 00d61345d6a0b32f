"""A caller who can create flow runs cannot raise the rollout mode past the worker's ceiling.

The attack: `create_flow_run` on the event deployment (deployed in `approve`) with `{"mode": "auto"}`. The
run is created through the Prefect API with the caller's parameters and executed by the flow engine, as a
worker would; the worker's configuration says `approve`, so the run waits for a human and writes nothing.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from prefect import get_client
from prefect.flow_engine import run_flow

from flows.compliance_triage import compliance_triage
from tests.flows.conftest import tenant_writes
from ws1ai.governance.audit import PrefectAuditStore
from ws1ai.governance.audit_records import AuditStatus
from ws1ai.governance.config import GovernanceSettings
from ws1ai.uem import UEMClient

pytestmark = pytest.mark.prefect


def _plain_non_compliant_devices(n: int) -> list[int]:
    """Encrypted, not compromised: the policy reminds the user, a low-tier push `auto` would send unasked."""
    found: list[int] = []
    with UEMClient(read_only=True) as client:
        for d in client.devices.iter_search(compliant_status=False):
            if d.id is not None and not d.compromised_status and (d.data_encryption_yn or "").upper() == "Y":
                found.append(int(d.id.value))
            if len(found) == n:
                return found
    raise AssertionError(f"the sandbox has fewer than {n} plain non-compliant devices")


def test_mode_auto_from_the_caller_still_waits_for_approval_under_an_approve_ceiling(
    tenant: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WS1AI_GOVERNANCE_MAX_MODE", "approve")
    monkeypatch.delenv("WS1AI_GOVERNANCE_MAX_MODES", raising=False)
    devices = _plain_non_compliant_devices(3)
    parameters: dict[str, Any] = {
        "mode": "auto",
        "device_ids": devices,
        "run_key": "attacker-1",
        # Nobody answers: the (shortened, which is allowed) wait ends and its outcome, reject, applies.
        "approval_timeout_seconds": 3,
    }
    with get_client(sync_client=True) as client:
        flow_run = client.create_flow_run(compliance_triage, parameters=parameters)
        run_flow(compliance_triage, flow_run=flow_run, parameters=parameters, return_type="state")
        history = [s.type.value for s in client.read_flow_run_states(flow_run.id)]

    assert "PAUSED" in history, history  # it waited for a human instead of acting
    assert tenant_writes(tenant) == []  # no push, no ticket, no note reached the tenant
    records = PrefectAuditStore(GovernanceSettings()).read(run_keys={"attacker-1"})
    planned = [r for r in records if r.status is AuditStatus.PLANNED]
    assert planned, "the run planned nothing: the test would prove nothing"
    assert {r.mode for r in records} == {"approve"}  # the audit trail shows the mode that applied
    assert not [r for r in records if r.status is AuditStatus.EXECUTED]
