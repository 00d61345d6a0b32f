"""Which planned actions may run, which wait for a human, and which are only reported.

Pure functions: the flow passes the actions, the rollout mode and the devices already touched
in the last hour (from the audit trail, `audit.devices_touched_since`); nothing here talks to Prefect or UEM.

Rules, in order:
1. `observe`/`recommend` or `dry_run`: nothing runs; every action is reported with what it *would* need.
2. Destructive kinds always need approval; wipes need two distinct verified approvers.
3. `approve`: everything needs approval. `auto`: low tier runs unattended, higher tiers need approval.
4. Blast radius: per kind, devices are counted in plan order against the per-run cap and
   (recent + this run) against the per-hour cap. An action that would cross a cap — and every later action of
   that kind — needs approval even if it would otherwise be automatic. Actions are never split here, because a
   split that depends on the hour's count would change correlation ids between re-runs; flows chunk big
   batches up front with `chunk_targets` so the cap can let part of them through.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from ws1ai.governance.actions import Action, ActionKind, RiskTier
from ws1ai.governance.config import GovernanceSettings, RolloutMode

__all__ = [
    "Disposition",
    "Plan",
    "PlannedAction",
    "RolloutMode",  # re-exported for callers that plan; its home is governance.config
    "chunk_targets",
    "devices_by_kind",
    "plan_actions",
]


class Disposition(StrEnum):
    AUTO = "auto"  # may execute now
    APPROVAL = "approval"  # executes only after the gate approves it
    REPORT = "report"  # observe / recommend / dry-run: never executes in this run


class PlannedAction(BaseModel):
    model_config = ConfigDict(frozen=True)

    action: Action
    tier: RiskTier
    disposition: Disposition
    approvers_required: int  # 0 for AUTO; 2 for wipes
    reasons: tuple[str, ...] = ()
    over_cap: bool = False


class Plan(BaseModel):
    model_config = ConfigDict(frozen=True)

    mode: RolloutMode
    dry_run: bool
    items: tuple[PlannedAction, ...]

    def with_disposition(self, disposition: Disposition) -> list[PlannedAction]:
        return [p for p in self.items if p.disposition is disposition]

    @property
    def auto(self) -> list[PlannedAction]:
        return self.with_disposition(Disposition.AUTO)

    @property
    def needs_approval(self) -> list[PlannedAction]:
        return self.with_disposition(Disposition.APPROVAL)

    @property
    def report_only(self) -> list[PlannedAction]:
        return self.with_disposition(Disposition.REPORT)

    @property
    def empty(self) -> bool:
        return not self.items


def chunk_targets(action: Action, size: int) -> list[Action]:
    """Split one action into actions of at most `size` targets; deterministic for a given target set."""
    if size < 1:
        raise ValueError("size must be >= 1")
    targets = action.targets  # already sorted and deduplicated
    if len(targets) <= size:
        return [action]
    data = action.model_dump(exclude={"correlation_id", "targets"})
    return [Action(**data, targets=targets[i : i + size]) for i in range(0, len(targets), size)]


def plan_actions(
    actions: Iterable[Action],
    *,
    mode: RolloutMode,
    settings: GovernanceSettings,
    dry_run: bool = False,
    recent_devices: Mapping[ActionKind, int] | None = None,
) -> Plan:
    recent = recent_devices or {}
    run_count: dict[ActionKind, int] = defaultdict(int)
    capped: set[ActionKind] = set()
    items: list[PlannedAction] = []
    seen: set[str] = set()
    for action in actions:
        if action.correlation_id in seen:  # the same action planned twice is one action
            continue
        seen.add(action.correlation_id)
        tier = action.tier(settings.tier_overrides)
        reasons: list[str] = []
        n = len(action.targets)
        run_cap, hour_cap = settings.per_run_cap(action.kind), settings.per_hour_cap(action.kind)
        over = action.kind in capped
        if not over and run_count[action.kind] + n > run_cap:
            over = True
            reasons.append(f"per-run cap: {run_count[action.kind] + n} > {run_cap} devices for {action.kind}")
        if not over and recent.get(action.kind, 0) + run_count[action.kind] + n > hour_cap:
            over = True
            reasons.append(
                f"per-hour cap: {recent.get(action.kind, 0)} in the last hour + "
                f"{run_count[action.kind] + n} now > {hour_cap} devices for {action.kind}"
            )
        if over:
            capped.add(action.kind)
            reasons.append("over the blast-radius cap: needs approval of the excess")
        else:
            run_count[action.kind] += n

        needs = over or _needs_approval(tier, mode)
        if tier is RiskTier.DESTRUCTIVE:
            reasons.append("destructive: always needs approval")
        elif needs and not over:
            reasons.append(f"{tier} tier in {mode} mode needs approval")
        approvers = (2 if action.needs_two_approvers else 1) if needs else 0
        if action.needs_two_approvers:
            reasons.append("wipe: two distinct verified approvers")
        if mode in (RolloutMode.OBSERVE, RolloutMode.RECOMMEND) or dry_run:
            disposition = Disposition.REPORT
            reasons.append("dry run: nothing executes" if dry_run else f"{mode} mode: nothing executes")
        else:
            disposition = Disposition.APPROVAL if needs else Disposition.AUTO
        items.append(
            PlannedAction(
                action=action,
                tier=tier,
                disposition=disposition,
                approvers_required=approvers,
                reasons=tuple(reasons),
                over_cap=over,
            )
        )
    return Plan(mode=mode, dry_run=dry_run, items=tuple(items))


def _needs_approval(tier: RiskTier, mode: RolloutMode) -> bool:
    if tier is RiskTier.DESTRUCTIVE:
        return True
    if mode is RolloutMode.AUTO:
        return tier is not RiskTier.LOW
    return True  # approve mode (and what observe/recommend would need, for the report)


def devices_by_kind(actions: Sequence[Action]) -> dict[ActionKind, int]:
    counts: dict[ActionKind, int] = defaultdict(int)
    for a in actions:
        counts[a.kind] += len(a.targets)
    return dict(counts)
