"""Serve the probe deployments for bench/event_latency.py (run as a child process)."""

from __future__ import annotations

import sys

from prefect import serve
from prefect.events import DeploymentEventTrigger

from bench._latency_flows import latency_probe

if __name__ == "__main__":
    out = sys.argv[1]
    on_event = latency_probe.to_deployment(
        name="on-event",
        triggers=[
            DeploymentEventTrigger(
                expect={"ws1.device.compliance-changed"},
                match={"prefect.resource.id": "ws1.device.*"},
                parameters={"marker": "{{ event.payload.uem_event_id | string }}", "out": out},
            )
        ],
    )
    on_demand = latency_probe.to_deployment(name="on-demand", parameters={"out": out})
    serve(on_event, on_demand, print_starting_message=False, limit=4)
