"""Deterministic fleet simulator: devices, telemetry, failures, apps, HRIS and threat signals.

The tables are the data contracts of docs/design.md#data-contracts.
"""

from ws1ai.sandbox.fleet.catalog import ROLE_SENSITIVITY
from ws1ai.sandbox.fleet.contract import CONTRACT, TABLES, validate_contract
from ws1ai.sandbox.fleet.generate import DEFAULT_END, Fleet, ProgressFn, generate_fleet
from ws1ai.sandbox.fleet.io import read_fleet, write_fleet
from ws1ai.sandbox.fleet.truth import failure_truth, security_truth

__all__ = [
    "CONTRACT",
    "DEFAULT_END",
    "ROLE_SENSITIVITY",
    "TABLES",
    "Fleet",
    "ProgressFn",
    "failure_truth",
    "generate_fleet",
    "read_fleet",
    "security_truth",
    "validate_contract",
    "write_fleet",
]
