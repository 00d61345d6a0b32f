"""The worker's ceilings on what a flow run's parameters may ask for.

Anyone who can create a flow run chooses its parameters, so a parameter can only make a run *safer* than
the worker's configuration allows, never less safe:

- the rollout mode is capped by `GovernanceSettings.max_mode`, or by a per-flow (or per-deployment) entry of
  `max_modes`: a run asking for `auto` on a worker whose ceiling is `approve` runs in `approve`, and says so
  in its log and in the approval title the approver sees;
- the approval timeout can be shortened (when silence means *reject*) but never lengthened past the
  configured one, and when silence means *approve* a caller cannot hasten that consent at all;
- `dry_run` only ever removes writes, so it needs no ceiling.

Pure functions: the flow's governed tail (`flows/_govern.py`) passes what the run asked for and its names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from ws1ai.governance.config import GovernanceSettings, RolloutMode, TimeoutOutcome

__all__ = ["MODE_ORDER", "Bounded", "cap_mode", "cap_timeout", "ceiling_for", "flow_key", "within_ceiling"]

# From least to most autonomous: a higher index may do everything a lower one may, and more.
MODE_ORDER: tuple[RolloutMode, ...] = (
    RolloutMode.OBSERVE,
    RolloutMode.RECOMMEND,
    RolloutMode.APPROVE,
    RolloutMode.AUTO,
)


def flow_key(name: str) -> str:
    """`compliance-triage` (Prefect's flow name) and `compliance_triage` (the function) are one key."""
    return name.strip().lower().replace("-", "_")


def ceiling_for(
    settings: GovernanceSettings, flow_name: str | None, deployment_name: str | None = None
) -> RolloutMode:
    """The most specific configured ceiling: `flow/deployment`, then `flow`, then `max_mode`."""
    ceilings = {flow_key(k): v for k, v in settings.max_modes.items()}
    if flow_name:
        flow = flow_key(flow_name)
        if deployment_name and (hit := ceilings.get(f"{flow}/{flow_key(deployment_name)}")) is not None:
            return hit
        if (hit := ceilings.get(flow)) is not None:
            return hit
    return settings.max_mode


def cap_mode(requested: RolloutMode | str, ceiling: RolloutMode) -> RolloutMode:
    """The requested mode, or the ceiling when the request is above it (an unknown mode is refused)."""
    mode = RolloutMode(requested)
    return mode if MODE_ORDER.index(mode) <= MODE_ORDER.index(ceiling) else ceiling


def cap_timeout(requested: int | None, settings: GovernanceSettings) -> int | None:
    """The approval wait a run may use; None means the configured one."""
    if requested is None or settings.timeout_outcome is TimeoutOutcome.APPROVE:
        return None  # a shorter wait would make "silence is consent" come sooner
    if requested < 1:
        raise ValueError(f"approval_timeout_seconds must be at least 1, got {requested}")
    return min(requested, settings.approval_timeout_seconds)


class Bounded(NamedTuple):
    mode: RolloutMode
    approval_timeout_seconds: int | None
    title: str


def within_ceiling(
    mode: RolloutMode | str,
    approval_timeout_seconds: int | None,
    title: str,
    settings: GovernanceSettings,
    flow_name: str | None,
    deployment_name: str | None = None,
    *,
    warn: Callable[[str], None] | None = None,
) -> Bounded:
    """What a run may really do; each lowered request is reported through `warn` and shown in the title."""
    ceiling = ceiling_for(settings, flow_name, deployment_name)
    effective = cap_mode(mode, ceiling)
    timeout = cap_timeout(approval_timeout_seconds, settings)
    notes: list[str] = []
    if effective is not RolloutMode(mode):
        notes.append(f"mode {RolloutMode(mode)} requested, {effective} is this worker's ceiling")
    if approval_timeout_seconds is not None and timeout != approval_timeout_seconds:
        used = timeout or settings.approval_timeout_seconds
        notes.append(f"approval timeout {approval_timeout_seconds}s requested, {used}s used")
    for note in notes:
        if warn is not None:
            warn(f"lowered by the worker's governance ceiling: {note}")
    if notes:
        title = f"{title} [{'; '.join(notes)}]"
    return Bounded(effective, timeout, title)
