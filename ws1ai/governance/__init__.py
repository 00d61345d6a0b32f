"""What every automated action obeys: Action model, rollout policy, approval gate, audit trail, execution,
rollback and PII redaction. Flows import from here; see each module's docstring for the rules."""

from ws1ai.governance.actions import Action, ActionKind, RiskTier, tier_for
from ws1ai.governance.config import GovernanceSettings, RolloutMode, TimeoutOutcome
from ws1ai.governance.policy import Disposition, Plan, PlannedAction, chunk_targets, plan_actions
from ws1ai.governance.redaction import Redactor

__all__ = [
    "Action",
    "ActionKind",
    "Disposition",
    "GovernanceSettings",
    "Plan",
    "PlannedAction",
    "Redactor",
    "RiskTier",
    "RolloutMode",
    "TimeoutOutcome",
    "chunk_targets",
    "plan_actions",
    "tier_for",
]
