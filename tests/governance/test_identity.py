"""Approver verification (pure): signed approval codes from derived tokens and Ed25519 keys, allowlist,
normalisation, and the removed secret-hash setting."""

from __future__ import annotations

import base64
import json

import pytest
from pydantic import SecretStr, ValidationError

from ws1ai.governance.approval_code import (
    Ed25519Signer,
    HmacSigner,
    decision_digest,
    make_code,
    split_code,
)
from ws1ai.governance.config import GovernanceSettings
from ws1ai.governance.identity import ApproverVerifier, CodeRefused, generate_keypair


def _code(signer: HmacSigner | Ed25519Signer, approver: str = "alice") -> str:
    code, _ = make_code(signer, run="run-1", key="k1", approver=approver, pending=["c1"], decision="approve")
    return code


def test_derived_tokens_sign_codes_that_verify_only_as_their_own_approver() -> None:
    v = ApproverVerifier(GovernanceSettings(approver_key=SecretStr("k")))
    alice = HmacSigner(v.issue_token("alice"))
    payload = v.authenticate(_code(alice, "  Alice "))  # one person, however it is typed
    assert payload.approver == "alice" and payload.run == "run-1" and payload.key == "k1"
    with pytest.raises(CodeRefused, match="not signed with their token"):
        v.authenticate(_code(alice, "bob"))  # alice's token cannot speak for bob
    with pytest.raises(CodeRefused, match="not signed with their token"):
        v.authenticate(_code(HmacSigner(v.issue_token("alice") + "x")))
    other_key = ApproverVerifier(GovernanceSettings(approver_key=SecretStr("k2")))
    with pytest.raises(CodeRefused):
        other_key.authenticate(_code(alice))  # rotating the key revokes every token


def test_a_code_cannot_be_edited_after_signing() -> None:
    v = ApproverVerifier(GovernanceSettings(approver_key=SecretStr("k")))
    code = _code(HmacSigner(v.issue_token("alice")))
    encoded, _, sig = code.partition(".")
    body = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    body["digest"] = decision_digest(["c1"], "reject", {})  # same code, other decision
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=") + "." + sig
    assert split_code(forged)[0].digest != split_code(code)[0].digest
    with pytest.raises(CodeRefused, match="not signed"):
        v.authenticate(forged)
    for garbage in ("", "ws1a_static-token", "a.b", code.replace(".", "")):
        with pytest.raises(CodeRefused, match="not an approval code"):
            v.authenticate(garbage)


def test_ed25519_keys_and_no_secret_on_the_flow_host() -> None:
    pem, public = generate_keypair()
    other_pem, _ = generate_keypair()
    v = ApproverVerifier(
        GovernanceSettings(approver_key=SecretStr("k"), approver_public_keys={"Carol": public})
    )
    assert v.authenticate(_code(Ed25519Signer(pem), "carol")).approver == "carol"
    with pytest.raises(CodeRefused, match="registered key"):
        v.authenticate(_code(Ed25519Signer(other_pem), "carol"))
    # With a registered key, the derived-token key on the flow host can no longer sign in carol's name.
    with pytest.raises(CodeRefused, match="registered key"):
        v.authenticate(_code(HmacSigner(v.issue_token("carol")), "carol"))
    keys_only = ApproverVerifier(GovernanceSettings(approver_public_keys={"carol": public}))
    assert keys_only.configured
    with pytest.raises(CodeRefused, match="not registered"):
        keys_only.authenticate(_code(HmacSigner("anything"), "dave"))
    with pytest.raises(ValueError, match="not a base64 raw Ed25519 public key"):
        ApproverVerifier(GovernanceSettings(approver_public_keys={"eve": "bm90IGEga2V5"}))


def test_allowlist_and_nothing_verifies_without_configuration() -> None:
    keyed = ApproverVerifier(GovernanceSettings(approver_key=SecretStr("k"), allowed_approvers=["alice"]))
    with pytest.raises(CodeRefused, match="may not approve"):
        keyed.authenticate(_code(HmacSigner(keyed.issue_token("bob")), "bob"))  # valid, but not allowed
    v = ApproverVerifier(GovernanceSettings())
    assert not v.configured
    with pytest.raises(CodeRefused, match="not registered"):
        v.authenticate(_code(HmacSigner("anything")))


def test_the_removed_secret_hash_setting_fails_naming_its_replacement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WS1AI_GOVERNANCE_APPROVER_SECRET_HASHES", '{"carol": "5e884898da28"}')
    with pytest.raises(ValidationError, match="WS1AI_GOVERNANCE_APPROVER_PUBLIC_KEYS"):
        GovernanceSettings()
