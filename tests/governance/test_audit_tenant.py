""" "Already executed" is a fact about one tenant instance.

The demo's `make run` re-seeds the sandbox but keeps Prefect (the audit trail): before, the second run skipped
every action as "already done earlier" while the tenant had none of them. Records now carry the tenant
scope (host | tenant-code hash | the sandbox's instance id) and idempotency counts only the same tenant's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from threading import Thread

import httpx
import pytest
from pydantic import SecretStr

import tests.flows.conftest as flow_fixtures
from flows.onboarding import onboarding
from tests.flows.test_onboarding import _model_bundle, _recent_starter
from ws1ai.governance.approval import Decision
from ws1ai.governance.config import RolloutMode
from ws1ai.sandbox import SandboxState
from ws1ai.settings import UEMSettings
from ws1ai.uem.instance import tenant_scope

sandbox_state = flow_fixtures.sandbox_state
sandbox_url = flow_fixtures.sandbox_url
tenant = flow_fixtures.tenant
approve_in_background = flow_fixtures.approve_in_background


def test_a_real_tenant_is_its_host_and_code_and_is_not_probed() -> None:
    host = "https://as1234.example.invalid"
    real = UEMSettings(_env_file=None, base_url=host, tenant_code=SecretStr("code-1"))
    other = UEMSettings(_env_file=None, base_url=host, tenant_code=SecretStr("code-2"))
    scope = tenant_scope(real)  # a probe would fail on DNS and still return; none is made
    assert scope.startswith("https://as1234.example.invalid|") and scope.count("|") == 1
    assert "code-1" not in scope and scope != tenant_scope(other)


def test_the_sandbox_reports_a_new_instance_after_a_reseed_or_reset(
    tenant: httpx.Client, sandbox_state: SandboxState
) -> None:
    first = tenant_scope()
    assert first.count("|") == 2 and first == tenant_scope()  # stable while the tenant is unchanged
    sandbox_state.reset()
    second = tenant_scope()
    assert second != first and second.rsplit("|", 1)[0] == first.rsplit("|", 1)[0]


@pytest.mark.prefect
def test_after_a_reset_the_same_plan_acts_again_instead_of_already_done(
    tenant: httpx.Client,
    sandbox_state: SandboxState,
    approve_in_background: Callable[..., Thread],
    tmp_path: Path,
) -> None:
    hire, devices = _recent_starter(sandbox_state)
    bundle = tmp_path / "bundles.parquet"
    expected = _model_bundle(sandbox_state, hire, devices, bundle)
    run = dict(employee_id=hire["employee_id"], as_of=sandbox_state.end, bundles_path=str(bundle))
    run |= {"run_key_prefix": "t-tenant-scope"}

    def installs() -> set[tuple[str, int]]:
        writes = flow_fixtures.tenant_writes(tenant)
        return {(e["operation"], e["device_ids"][0]) for e in writes if e["operation"] != "AddNote"}

    approve_in_background(Decision.APPROVE, approvers=("alice",))
    assert onboarding(mode=RolloutMode.APPROVE, return_state=True, **run).is_completed()
    assert installs() == expected
    again = onboarding(mode=RolloutMode.APPROVE, return_state=True, **run)
    assert again.name == "SKIPPED", again  # same tenant instance: done is done

    sandbox_state.reset()  # what `make run` does to the demo tenant (re-seeded; Prefect keeps its history)
    assert installs() == set()
    approve_in_background(Decision.APPROVE, approvers=("alice",))
    fresh = onboarding(mode=RolloutMode.APPROVE, return_state=True, **run)
    assert fresh.is_completed() and fresh.name != "SKIPPED", fresh
    assert installs() == expected  # installed again on the new instance, not "already done earlier"
