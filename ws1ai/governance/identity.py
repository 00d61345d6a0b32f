"""Approver identity: who may approve, and how the gate knows it was really them.

## Trust model (README-ready)

The open-source Prefect server has no users: whatever is typed into the approval form's "approver" field
proves nothing on its own. ws1ai therefore treats the name as a *claim* and checks it against a secret that
only that approver holds. The check runs **inside the flow process** (the approval gate), not in the
Prefect server or UI, so a Prefect API client cannot bypass it.

* **Per-approver tokens.** Each approver gets a personal token, either
  - derived: `token = HMAC-SHA256(WS1AI_GOVERNANCE_APPROVER_KEY, approver id)`; the key lives only in the
    environment of the processes that run flows, and an admin issues tokens with
    `ws1ai approvals issue-token <approver-id>`; or
  - registered: `WS1AI_GOVERNANCE_APPROVER_SECRET_HASHES='{"alice": "<sha256 hex of her secret>"}'`, so
    approvers choose their own secret and the server side holds only hashes.
  `WS1AI_GOVERNANCE_ALLOWED_APPROVERS` optionally narrows who may approve at all. Approver ids are
  case-insensitive (`Alice` and `alice` are one person).
* **Every decision must be verified**, approvals and rejections alike; an unverifiable submission is
  refused, recorded as a `ws1ai.approval.refused` event, and the run pauses again for a valid one.
* **The two-person rule counts verified, distinct approver ids.** A wipe needs two; the same id twice is one.
* **Tokens do not linger in Prefect.** The form's response (which contains the token) is stored by Prefect as
  flow-run input; the gate deletes it as soon as it has read it (within one poll interval). The audit trail
  records only the verified id, never the token.
* **Timeouts are decisions too.** No answer before the deadline is the configured outcome (default: reject),
  recorded in the audit trail before the run moves on.

What this does *not* protect against, and what to do about it:

* Anyone holding the approver key (the flow host's environment) can mint any approver's token: treat it
  like a signing key, and prefer registered secret hashes where the flow host is shared.
* One person holding two approvers' tokens defeats the two-person rule: issue tokens to people, not teams.
* The Prefect API/UI itself is unauthenticated in OSS: anyone who reaches it can cancel runs, and can read a
  submitted token in the short window before the gate deletes it. Keep it on 127.0.0.1 or behind an
  authenticating reverse proxy (SSO); rotate tokens by changing the key or the registered hash.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from ws1ai.governance.config import GovernanceSettings

__all__ = ["ApproverVerifier", "hash_secret", "normalise_approver"]

_CONTEXT = b"ws1ai-approver-token-v1:"


def normalise_approver(approver: str) -> str:
    return approver.strip().lower()


def hash_secret(secret: str) -> str:
    """What to put in `approver_secret_hashes` for a self-chosen secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


class ApproverVerifier:
    def __init__(self, settings: GovernanceSettings) -> None:
        self._key = settings.approver_key.get_secret_value().encode() if settings.approver_key else None
        self._hashes = {normalise_approver(k): v.lower() for k, v in settings.approver_secret_hashes.items()}
        self._allowed = {normalise_approver(a) for a in settings.allowed_approvers}

    @property
    def configured(self) -> bool:
        return self._key is not None or bool(self._hashes)

    def issue_token(self, approver: str) -> str:
        if self._key is None:
            raise RuntimeError("WS1AI_GOVERNANCE_APPROVER_KEY is not set: cannot derive approver tokens")
        who = normalise_approver(approver)
        if not who:
            raise ValueError("approver id is empty")
        digest = hmac.new(self._key, _CONTEXT + who.encode(), hashlib.sha256).digest()
        return "ws1a_" + base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def verify(self, approver: str, token: str) -> str | None:
        """The verified, normalised approver id, or None. Constant-time comparisons."""
        who = normalise_approver(approver)
        if not who or not token or (self._allowed and who not in self._allowed):
            return None
        expected_hash = self._hashes.get(who)
        if expected_hash is not None and hmac.compare_digest(hash_secret(token), expected_hash):
            return who
        if self._key is not None and hmac.compare_digest(self.issue_token(who), token):
            return who
        return None
