"""Read `prefect.yaml` (the single source of deployments) and turn its entries into runner deployments.

`prefect deploy --all` reads the same file for work-pool deployments; `ws1ai stack up` serves the same entries
in-process through `serve(...)` so that the local stack and a production server never disagree about a
schedule, a trigger or a parameter.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML ships no type hints
from prefect.deployments.runner import RunnerDeployment
from prefect.events import DeploymentTriggerTypes
from prefect.flows import Flow
from prefect.schedules import Cron, Interval, Schedule
from pydantic import TypeAdapter

__all__ = ["PROJECT_FILE", "deployment_specs", "load_flow", "runner_deployments", "triggers_for"]

PROJECT_FILE = Path(__file__).resolve().parent.parent / "prefect.yaml"
_TRIGGERS: TypeAdapter[DeploymentTriggerTypes] = TypeAdapter(DeploymentTriggerTypes)


def deployment_specs(path: Path = PROJECT_FILE) -> list[dict[str, Any]]:
    """The `deployments:` entries, YAML anchors resolved."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    specs = document.get("deployments") or []
    if not isinstance(specs, list):
        raise ValueError(f"{path.name}: 'deployments' must be a list")
    return specs


def load_flow(entrypoint: str) -> Flow[Any, Any]:
    """`flows/x.py:fn` → the flow object, imported as the module `flows.x` (the project root is on sys.path).

    Imported as a module rather than from a file path so the deployment it builds points at real source.
    """
    file, _, name = entrypoint.partition(":")
    module = importlib.import_module(file.removesuffix(".py").replace("/", "."))
    flow = getattr(module, name)
    if not isinstance(flow, Flow):
        raise TypeError(f"{entrypoint} is not a Prefect flow")
    return flow


def triggers_for(spec: dict[str, Any]) -> list[DeploymentTriggerTypes]:
    return [
        _TRIGGERS.validate_python({"name": f"{spec['name']}__automation_{i}", **trigger})
        for i, trigger in enumerate(spec.get("triggers") or [], start=1)
    ]


def _schedules(spec: dict[str, Any]) -> list[Schedule]:
    out: list[Schedule] = []
    for item in spec.get("schedules") or []:
        timezone, active = item.get("timezone"), item.get("active", True)
        if "cron" in item:
            out.append(Cron(item["cron"], timezone=timezone, active=active))
        elif "interval" in item:
            out.append(Interval(item["interval"], timezone=timezone, active=active))
        else:
            raise ValueError(f"deployment {spec['name']}: unsupported schedule {item}")
    return out


def runner_deployments(path: Path = PROJECT_FILE, *, only: set[str] | None = None) -> list[RunnerDeployment]:
    """Every deployment of the file (or those named in `only`) ready for `prefect.serve(...)`."""
    deployments: list[RunnerDeployment] = []
    for spec in deployment_specs(path):
        if only is not None and spec["name"] not in only:
            continue
        flow = load_flow(spec["entrypoint"])
        deployment = flow.to_deployment(
            name=spec["name"],
            description=spec.get("description"),
            tags=spec.get("tags"),
            parameters=spec.get("parameters"),
            schedules=_schedules(spec),
            triggers=list[Any](triggers_for(spec)),
        )
        # `to_deployment` is sync-compatible: called outside an event loop it returns the deployment itself.
        assert isinstance(deployment, RunnerDeployment)
        deployments.append(deployment)
    return deployments
