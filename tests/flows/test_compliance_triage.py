"""Compliance triage end to end: real Prefect server, sandbox on a socket, approval via the resume API."""

from __future__ import annotations

from collections.abc import Callable
from threading import Thread

import httpx
import pytest

from flows.compliance_triage import compliance_triage
from tests.flows.conftest import ledger
from ws1ai.governance.approval import Decision
from ws1ai.governance.policy import RolloutMode
from ws1ai.uem import UEMClient

pytestmark = pytest.mark.prefect


def _pick_devices() -> dict[str, int]:
    """One non-compliant device of each kind the policy treats differently (facts read through the API)."""
    picked: dict[str, int] = {}
    with UEMClient(read_only=True) as client:
        for d in client.devices.iter_search(compliant_status=False):
            assert d.id is not None and d.id.value is not None
            encrypted = (d.data_encryption_yn or "").upper() == "Y"
            if d.compromised_status and "compromised" not in picked:
                picked["compromised"] = d.id.value
            elif not d.compromised_status and not encrypted and d.platform == "AppleOsX":
                picked.setdefault("unencrypted_mac", d.id.value)
            elif not d.compromised_status and encrypted:
                picked.setdefault("plain", d.id.value)
    assert {"compromised", "unencrypted_mac", "plain"} <= set(picked), picked
    return picked


def _writes(control: httpx.Client) -> list[dict[str, object]]:
    return [e for e in ledger(control) if e["method"] != "GET"]


def test_observe_mode_sends_no_write(tenant: httpx.Client) -> None:
    devices = _pick_devices()
    state = compliance_triage(
        mode=RolloutMode.OBSERVE, device_ids=list(devices.values()), run_key="t-observe", return_state=True
    )
    assert state.is_completed(), state
    assert _writes(tenant) == []


def test_approve_mode_acts_after_approval_and_a_rerun_repeats_nothing(
    tenant: httpx.Client, approve_in_background: Callable[..., Thread]
) -> None:
    devices = _pick_devices()
    approve_in_background(Decision.APPROVE, approvers=("alice",))
    state = compliance_triage(
        mode=RolloutMode.APPROVE, device_ids=list(devices.values()), run_key="t-approve", return_state=True
    )
    assert state.is_completed(), state
    writes = _writes(tenant)
    by_device: dict[int, list[str]] = {}
    for entry in writes:
        for device_id in entry["device_ids"]:  # type: ignore[attr-defined]
            by_device.setdefault(int(device_id), []).append(str(entry["path"]).lower())
    # Exactly the remediation per device (plus the provenance note), nothing for other devices.
    assert set(by_device) == set(devices.values())
    assert any("/tags/" in p and "adddevices" in p for p in by_device[devices["compromised"]])
    assert any("/profiles/" in p and p.endswith("/install") for p in by_device[devices["unencrypted_mac"]])
    assert any("/messages/push" in p for p in by_device[devices["plain"]])
    assert all(any(p.endswith("/notes") for p in paths) for paths in by_device.values())

    # The same decisions again (same run key): governance skips what was executed, without asking anyone.
    before = len(writes)
    again = compliance_triage(
        mode=RolloutMode.APPROVE, device_ids=list(devices.values()), run_key="t-approve", return_state=True
    )
    assert again.is_completed(), again
    assert again.name == "SKIPPED"
    assert len(_writes(tenant)) == before


def test_rejected_approval_executes_only_what_needed_none(
    tenant: httpx.Client, approve_in_background: Callable[..., Thread]
) -> None:
    devices = _pick_devices()
    approve_in_background(Decision.REJECT, approvers=("alice",))
    state = compliance_triage(
        mode=RolloutMode.APPROVE,
        device_ids=[devices["compromised"], devices["unencrypted_mac"]],
        run_key="t-reject",
        return_state=True,
    )
    assert state.is_completed(), state
    assert _writes(tenant) == []
