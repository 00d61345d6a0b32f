"""What every automated action obeys: Action model, rollout policy, approval gate, audit trail, execution,
rollback and PII redaction. Flows import from here; see each module's docstring for the rules.

Prefect-dependent pieces (gate, audit store, execution) import Prefect lazily, so the pure parts (actions,
policy, redaction) stay cheap to import in tests, models and the LLM connector.
"""

from typing import TYPE_CHECKING, Any

from ws1ai.governance.actions import Action, ActionKind, RiskTier, tier_for
from ws1ai.governance.audit import (
    RUN_TAG,
    AuditRecord,
    AuditStatus,
    AuditStore,
    MemoryAuditStore,
    PrefectAuditStore,
)
from ws1ai.governance.audit_export import export
from ws1ai.governance.config import GovernanceSettings, RolloutMode, TimeoutOutcome
from ws1ai.governance.identity import ApproverVerifier
from ws1ai.governance.planning import Disposition, Plan, PlannedAction, chunk_targets, plan_actions
from ws1ai.governance.redaction import Redactor

if TYPE_CHECKING:
    from ws1ai.governance.approval import ApprovalOutcome, ApprovalTimeout, Decision, request_approval
    from ws1ai.governance.execute import ExecutionReport, GovernanceReport, RollbackReport, govern, rollback

# The gate and execution import Prefect's RunInput at module level; load them on first use (PEP 562) so
# `from ws1ai.governance.redaction import Redactor` does not pay for importing Prefect.
_LAZY = {
    **dict.fromkeys(["ApprovalOutcome", "ApprovalTimeout", "Decision", "request_approval"], "approval"),
    **dict.fromkeys(
        ["ExecutionReport", "GovernanceReport", "RollbackReport", "govern", "rollback"], "execute"
    ),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"ws1ai.governance.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'ws1ai.governance' has no attribute {name!r}")


__all__ = [
    "RUN_TAG",
    "Action",
    "ActionKind",
    "ApprovalOutcome",
    "ApprovalTimeout",
    "ApproverVerifier",
    "AuditRecord",
    "AuditStatus",
    "AuditStore",
    "Decision",
    "Disposition",
    "ExecutionReport",
    "GovernanceReport",
    "GovernanceSettings",
    "MemoryAuditStore",
    "Plan",
    "PlannedAction",
    "PrefectAuditStore",
    "Redactor",
    "RiskTier",
    "RollbackReport",
    "RolloutMode",
    "TimeoutOutcome",
    "chunk_targets",
    "export",
    "govern",
    "plan_actions",
    "request_approval",
    "rollback",
    "tier_for",
]
