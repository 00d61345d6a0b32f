"""A coalesced batch (`device_ids` from the receiver's `ws1.devices.compliance-changed` event, see
tests/deployments/test_coalesce.py) is read with the bulk search, not one GET per device."""

from __future__ import annotations

import json

import httpx
import pytest
from prefect import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, FlowRunFilter, FlowRunFilterId

from flows.compliance_triage import LOOKUPS_MAX, compliance_triage
from ws1ai.governance.config import RolloutMode
from ws1ai.sandbox import SandboxState

pytestmark = pytest.mark.prefect

DEVICE_GET = "GET /api/mdm/devices/{ident}"


def test_a_batch_of_named_devices_is_read_by_bulk_search_and_only_those_are_triaged(
    tenant: httpx.Client, sandbox_state: SandboxState
) -> None:
    by_status: dict[str, list[int]] = {}
    for device_id, rec in sorted(sandbox_state.devices.items()):
        by_status.setdefault(rec.compliance, []).append(device_id)
    named_out = by_status["NonCompliant"][: LOOKUPS_MAX + 10]
    batch = named_out + by_status["Compliant"][:5]  # came back into compliance since: nothing to triage
    assert len(batch) > LOOKUPS_MAX and len(by_status["NonCompliant"]) > len(named_out)  # others exist too
    before = tenant.get("/_sandbox/requests").json()["by_route"].get(DEVICE_GET, 0)
    state = compliance_triage(
        mode=RolloutMode.OBSERVE, device_ids=batch, max_devices=1000, run_key="t-batch", return_state=True
    )
    assert state.is_completed(), state
    assert tenant.get("/_sandbox/requests").json()["by_route"].get(DEVICE_GET, 0) == before  # no GET each
    with get_client(sync_client=True) as client:
        [artifact] = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["compliance-triage-priorities"])),
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id])),
        )
    data = artifact.data
    rows = json.loads(data) if isinstance(data, str) else data
    assert sorted(int(r["device"]) for r in rows) == sorted(named_out)  # exactly the named non-compliant
