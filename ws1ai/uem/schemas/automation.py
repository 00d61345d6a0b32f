"""Scripts and sensors: snake_case v1 models; list results use their own paging keys.

Shapes: docs/uem-api.md#scripts-and-sensors.
"""

from __future__ import annotations

from pydantic import Field

from ws1ai.uem.schemas._base import PascalModel, SnakeModel

__all__ = [
    "CreatedUuid",
    "Script",
    "ScriptAssignment",
    "ScriptCreate",
    "ScriptSearchResult",
    "Sensor",
    "SensorAssignment",
    "SensorListResult",
]


class Sensor(SnakeModel):
    name: str | None = None
    description: str | None = None
    organization_group_name: str | None = None
    is_read_only: bool | None = None
    organization_group_uuid: str | None = None
    platform: str | int | None = None
    query_type: str | int | None = None
    query_response_type: str | int | None = None
    trigger_type: str | int | None = None
    execution_context: str | int | None = None
    execution_architecture: str | int | None = None
    script_data: str | None = None
    timeout: int | None = None
    event_trigger: list[int] | None = None
    schedule_trigger: str | None = None
    assigned_smart_groups: list[dict[str, object]] | None = None
    uuid: str | None = None


class CreatedUuid(SnakeModel):
    uuid: str | None = None


class SensorListResult(SnakeModel):
    total_results: int = 0
    result_set: list[Sensor] = Field(default_factory=list)


class SensorAssignment(SnakeModel):
    """`POST /mdm/devicesensors/assign` body (sensor uuids onto smart groups)."""

    name: str | None = None
    sensor_uuids: list[str] = Field(default_factory=list)
    smart_group_uuids: list[str] = Field(default_factory=list)


class Script(SnakeModel):
    script_uuid: str | None = None
    version: int | None = None
    name: str | None = None
    description: str | None = None
    platform: str | int | None = None
    script_type: str | int | None = None
    organization_group_uuid: str | None = None
    organization_group_name: str | None = None
    created_or_modified_by: str | None = None
    created_or_modified_on: str | None = None
    assignment_count: int | None = None


class ScriptSearchResult(PascalModel):
    """`{"SearchResults": [...], "RecordCount": n}`."""

    search_results: list[Script] = Field(default_factory=list)
    record_count: int = 0


class ScriptAssignment(SnakeModel):
    """`POST /mdm/scripts/{uuid}/assignments` body."""

    name: str
    priority: int = 0
    show_in_catalog: bool = False
    deployment_mode: str | int | None = None
    memberships: list[dict[str, object]] = Field(default_factory=list)
    script_deployment: dict[str, object] | None = None


class ScriptCreate(SnakeModel):
    """`CreateScript` body of `POST /mdm/groups/{ogUuid}/scripts` (enums are ints in the request model)."""

    name: str
    description: str | None = None
    platform: int = 1
    organization_group_uuid: str | None = None
    is_idempotent: bool | None = None
    allowed_in_catalog: bool | None = None
    script_data: str  # base64
    timeout: int = 30
    script_type: int = 1
    execution_context: int | None = None
    platform_architecture: int | None = None
    catalog_display: dict[str, object] | None = None
    script_variables: list[dict[str, object]] | None = None
    user_interaction: dict[str, object] | None = None
