"""The pinned Prefect release must really run a server: a flow run is recorded and read back."""

from __future__ import annotations

import pytest
from prefect import flow, get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId


@flow(name="ws1ai-smoke")
def _smoke(x: int) -> int:
    return x * 2


@pytest.mark.prefect
def test_pinned_prefect_server_starts_and_records_runs(prefect_server: str) -> None:
    state = _smoke(21, return_state=True)
    assert state.is_completed()
    assert state.result() == 42
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id])),
            limit=5,
        )
    assert [r.state_name for r in runs] == ["Completed"]
    assert prefect_server.startswith("http://127.0.0.1")
