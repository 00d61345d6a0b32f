"""Approver verification (pure): derived tokens, registered secret hashes, allowlist, normalisation."""

from __future__ import annotations

from pydantic import SecretStr

from ws1ai.governance.config import GovernanceSettings
from ws1ai.governance.identity import ApproverVerifier, hash_secret


def test_derived_tokens_verify_only_their_own_approver() -> None:
    v = ApproverVerifier(GovernanceSettings(approver_key=SecretStr("k")))
    alice = v.issue_token("alice")
    assert v.verify("alice", alice) == "alice"
    assert v.verify("  Alice ", alice) == "alice"  # one person, however it is typed
    assert v.verify("bob", alice) is None
    assert v.verify("alice", alice + "x") is None
    assert v.verify("", alice) is None and v.verify("alice", "") is None
    other_key = ApproverVerifier(GovernanceSettings(approver_key=SecretStr("k2")))
    assert other_key.verify("alice", alice) is None  # rotating the key revokes every token


def test_registered_secret_hashes_and_allowlist() -> None:
    v = ApproverVerifier(
        GovernanceSettings(
            approver_secret_hashes={"Carol": hash_secret("carol's own secret")},
            allowed_approvers=["carol"],
        )
    )
    assert v.configured
    assert v.verify("carol", "carol's own secret") == "carol"
    assert v.verify("carol", "guess") is None
    keyed = ApproverVerifier(GovernanceSettings(approver_key=SecretStr("k"), allowed_approvers=["alice"]))
    assert keyed.verify("bob", keyed.issue_token("bob")) is None  # valid token, but not an allowed approver


def test_nothing_verifies_without_configuration() -> None:
    v = ApproverVerifier(GovernanceSettings())
    assert not v.configured
    assert v.verify("alice", "anything") is None
