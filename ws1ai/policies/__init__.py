"""Deterministic decision policies of the blueprints: plain functions, testable without Prefect or HTTP.

Each is also the fallback of the LLM decision node, so every blueprint works with no LLM configured.
"""

from ws1ai.policies.compliance import (
    DeviceFacts,
    Remediation,
    Triage,
    remediation_actions,
    triage_by_policy,
)

__all__ = ["DeviceFacts", "Remediation", "Triage", "remediation_actions", "triage_by_policy"]
