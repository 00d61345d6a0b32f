"""`prefect.yaml` is the single source of deployments: every entry must load, schedule and template."""

from __future__ import annotations

from typing import Any

import pytest
from prefect.events import Event
from prefect.server.events.actions import RunDeployment
from prefect.utilities.callables import parameter_schema
from prefect.utilities.schema_tools.hydration import HydrationContext, hydrate
from prefect.utilities.schema_tools.validation import validate

from deployments.events import batch_events, device_event, hris_event
from deployments.payloads import HRISChangeEvent, UEMEvent
from deployments.project import deployment_specs, load_flow, runner_deployments, triggers_for
from deployments.webhook_config import WebhookSettings

SPECS = deployment_specs()

# Sample events built by the receiver's own mapping from real payloads (docs/uem-api.md#webhook-payload),
# so a trigger that does not match what the receiver really emits fails here.
_UEM = {
    "EventId": 178,
    "DeviceId": 10042,
    "EventTime": "2026-11-23T09:13:59.5720125Z",
    "Platform": "AppleOsX",
    "OperatingSystem": "14.6",
    "Ownership": "CorporateDedicated",
    "EnrollmentStatus": "Enrolled",
    "Udid": "D20E0F3D66AF4B92B31E1DA394DF1E88",
    "SerialNumber": "ZL6LTO7H27AB",
}
_SAMPLES = [
    device_event(
        UEMEvent.model_validate(
            {**_UEM, "EventType": "Compliance Status Changed", "ComplianceStatus": "NonCompliant"}
        )
    ),
    device_event(
        UEMEvent.model_validate(
            {
                **_UEM,
                "EventType": "Compromised Status Changed",
                "ComplianceStatus": "NonCompliant",
                "CompromisedStatus": "Compromised",
            }
        )
    ),
    *(
        hris_event(
            HRISChangeEvent.model_validate(
                {
                    "event_id": f"h-{kind}",
                    "type": kind,
                    "employee_id": "E00042",
                    "effective_date": "2026-12-01",
                }
            )
        )
        for kind in ("hire", "leave")
    ),
    *batch_events("acme", [10042, 10043, 7], window_started=0.0, window_seconds=30, max_devices=500),
]
SAMPLE_EVENTS: dict[str, Event] = {e["event"]: Event.model_validate(e) for e in _SAMPLES}


def test_the_file_defines_deployments_with_unique_names() -> None:
    names = [s["name"] for s in SPECS]
    assert names and len(names) == len(set(names))


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s["name"])
def test_entrypoint_resolves_to_a_flow_and_parameters_fit_its_signature(spec: dict[str, Any]) -> None:
    flow = load_flow(spec["entrypoint"])
    schema = parameter_schema(flow.fn).model_dump_for_openapi()
    errors = validate(spec.get("parameters") or {}, schema, raise_on_error=False)
    assert not errors, errors
    assert "source:ai-orchestrator" in (spec.get("tags") or [])


@pytest.mark.parametrize(
    ("spec", "trigger"),
    [(s, t) for s in SPECS for t in s.get("triggers") or []],
    ids=lambda v: v["name"] if "entrypoint" in v else ",".join(v["expect"]),
)
def test_trigger_parameters_render_from_a_sample_event_into_valid_flow_parameters(
    spec: dict[str, Any], trigger: dict[str, Any]
) -> None:
    [event_name] = trigger["expect"]
    event = SAMPLE_EVENTS[event_name]
    rendered = dict(trigger.get("parameters") or {})
    RunDeployment._upgrade_v1_templates(rendered)  # what the server does to plain "{{ }}" strings
    rendered = hydrate(
        rendered, HydrationContext(render_jinja=True, jinja_context={"event": event}, raise_on_error=True)
    )
    parameters = {**(spec.get("parameters") or {}), **rendered}
    flow = load_flow(spec["entrypoint"])
    schema = parameter_schema(flow.fn).model_dump_for_openapi()
    # The server validates trigger-rendered parameters against this schema before creating the run.
    assert not validate(parameters, schema, raise_on_error=False)
    # The trigger's `match` (resource labels, with * wildcards) selects the sample event.
    for label, pattern in trigger["match"].items():
        value = event.resource.get(label)
        assert value is not None, f"the receiver's event has no label {label!r}"
        assert value.startswith(pattern.rstrip("*")) if pattern.endswith("*") else value == pattern


def test_every_deployment_builds_for_serve_with_its_schedules_and_triggers() -> None:
    deployments = {d.name: d for d in runner_deployments()}
    assert set(deployments) == {s["name"] for s in SPECS}
    for spec in SPECS:
        built = deployments[spec["name"]]
        assert len(built.schedules or []) == len(spec.get("schedules") or [])
        assert len(built.triggers or []) == len(triggers_for(spec))


def test_the_coalesced_trigger_passes_every_device_of_the_batch_and_triages_them_all() -> None:
    [spec] = [s for s in SPECS if s["name"] == "compliance-triage-on-event"]
    [trigger] = spec["triggers"]
    rendered = dict(trigger["parameters"])
    RunDeployment._upgrade_v1_templates(rendered)
    event = SAMPLE_EVENTS["ws1.devices.compliance-changed"]
    rendered = hydrate(
        rendered, HydrationContext(render_jinja=True, jinja_context={"event": event}, raise_on_error=True)
    )
    assert rendered == {"device_ids": [10042, 10043, 7]}  # a list of ints, not its text
    # A batch event never names more devices than one run triages.
    cap = WebhookSettings(_env_file=None).coalesce_max_devices
    assert spec["parameters"]["max_devices"] >= cap
