"""Governance fixtures: settings with a test approver key (no environment needed)."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from ws1ai.governance.config import GovernanceSettings
from ws1ai.governance.identity import ApproverVerifier


@pytest.fixture
def gov_settings() -> GovernanceSettings:
    return GovernanceSettings(
        approver_key=SecretStr("test-only-approver-key"),
        approval_poll_seconds=1,
        approval_timeout_seconds=60,
        reminder_before_seconds=[],
    )


@pytest.fixture
def tokens(gov_settings: GovernanceSettings) -> dict[str, str]:
    v = ApproverVerifier(gov_settings)
    return {who: v.issue_token(who) for who in ("alice", "bob", "mallory")}
