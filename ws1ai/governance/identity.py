"""Approver identity: who may approve, and how the gate knows a decision really came from them.

## Trust model

The open-source Prefect server has no users, and its API lets anyone who reaches it read a paused run's
input. So an approval is never a secret that is *sent*; it is a statement that is *signed*. The approver's
own machine signs an **approval code** (see `approval_code.py`) saying "I, <id>, decide <approve|reject> on
exactly these pending actions of run R, in pause round K, once (nonce), until <exp>". The gate, inside the
flow process, checks the signature, that R is this run, K is the current round, the digest matches what is
still pending and what the form says, the code has not expired and its nonce was never used. Only then does
the decision count; anything else is refused, recorded as a `ws1ai.approval.refused` event, and re-asked.

Two kinds of credential:

* **Ed25519 keys (preferred).** `ws1ai approvals keygen <id> --out <file>` writes the private key (mode 0600)
  on the approver's machine and prints the public half for
  `WS1AI_GOVERNANCE_APPROVER_PUBLIC_KEYS='{"alice": "<base64>"}'`. The flow host holds no approver secret:
  nobody there can approve in alice's name. An approver with a registered key can *only* sign with it.
* **Derived tokens.** `token = HMAC-SHA256(WS1AI_GOVERNANCE_APPROVER_KEY, id)`, handed out with
  `ws1ai approvals issue-token <id>`. The approver signs with HMAC-SHA256 keyed by the token; the token never
  leaves their machine. The flow host holds the key, so whoever holds it can sign as anyone.

`WS1AI_GOVERNANCE_ALLOWED_APPROVERS` optionally narrows who may approve at all; ids are case-insensitive.

What a reader of the Prefect API can do now: read a submitted code (worthless for any other run, round,
action set or decision, and for a second use), read the saved request and the verdicts (no secrets), and
deny service: cancel the run, or submit garbage so an approver has to sign again for the new round. They
cannot approve or reject anything. What they could still do without Prefect's own authentication is forge
the verdict an approver's CLI reads, or create runs and events; `PREFECT_SERVER_API_AUTH_STRING` on the
server is the outer wall, and the audit trail (written by the gate) is the authority on what was decided.
The two-person rule counts verified, distinct ids: one person holding two credentials defeats it, so issue
credentials to people, not teams.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ws1ai.governance.approval_code import CodePayload, MalformedCode, normalise_approver, split_code
from ws1ai.governance.config import GovernanceSettings

__all__ = ["ApproverVerifier", "CodeRefused", "generate_keypair", "normalise_approver"]

_TOKEN_CONTEXT = b"ws1ai-approver-token-v1:"


class CodeRefused(ValueError):
    """An approval code the gate will not count; the message is the reason shown to the approver."""


def generate_keypair() -> tuple[bytes, str]:
    """A new Ed25519 key: (private key as unencrypted PKCS#8 PEM, public key as base64 of its raw bytes)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return pem, base64.b64encode(raw).decode()


def _load_public_key(approver: str, text: str) -> Ed25519PublicKey:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(
            f"WS1AI_GOVERNANCE_APPROVER_PUBLIC_KEYS[{approver!r}] is not a base64 raw Ed25519 public key"
        ) from exc


class ApproverVerifier:
    def __init__(self, settings: GovernanceSettings) -> None:
        self._key = settings.approver_key.get_secret_value().encode() if settings.approver_key else None
        self._public = {
            normalise_approver(who): _load_public_key(who, text)
            for who, text in settings.approver_public_keys.items()
        }
        self._allowed = {normalise_approver(a) for a in settings.allowed_approvers}

    @property
    def configured(self) -> bool:
        return self._key is not None or bool(self._public)

    def issue_token(self, approver: str) -> str:
        if self._key is None:
            raise RuntimeError("WS1AI_GOVERNANCE_APPROVER_KEY is not set: cannot derive approver tokens")
        who = normalise_approver(approver)
        if not who:
            raise ValueError("approver id is empty")
        digest = hmac.new(self._key, _TOKEN_CONTEXT + who.encode(), hashlib.sha256).digest()
        return "ws1a_" + base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def authenticate(self, code: str) -> CodePayload:
        """The payload of a code whose signature is the claimed approver's; raises `CodeRefused` otherwise.

        This proves only who signed; the gate checks what was signed (run, round, digest, expiry, nonce).
        """
        try:
            payload, signed, signature = split_code(code)
        except MalformedCode as exc:
            raise CodeRefused(str(exc)) from exc
        who = payload.approver
        if who != normalise_approver(who) or (self._allowed and who not in self._allowed):
            raise CodeRefused(f"approver {who!r} may not approve here")
        public = self._public.get(who)
        if public is not None:
            # A registered key is the only way to speak for this approver: the holder of the derived-token
            # key (the flow host) must not be able to sign in their name.
            try:
                public.verify(signature, signed)
            except InvalidSignature:
                raise CodeRefused(
                    f"approval code for {who!r} is not signed with their registered key"
                ) from None
            return payload
        if self._key is None:
            raise CodeRefused(f"approver {who!r} is not registered (no public key, no derived-token key)")
        token = self.issue_token(who).encode()
        expected = hmac.new(token, signed, hashlib.sha256).digest()
        if not hmac.compare_digest(expected, signature):
            raise CodeRefused(f"approval code for {who!r} is not signed with their token (wrong token?)")
        return payload
