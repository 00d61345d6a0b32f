"""The approval code: a signed statement of one approver's decision, bound to one round of one request.

A code is `base64url(payload JSON) "." base64url(signature)`. The payload says

    {"v": 1, "run": flow run id, "key": the round's pause key, "digest": sha256 of what is decided,
     "approver": normalised id, "nonce": random, "exp": unix seconds}

and `digest` is the SHA-256 (hex) of the canonical JSON of the still-pending correlation ids (sorted), the
batch decision and the per-action decisions map. The signature is over the context string and the encoded
payload (so nothing has to be re-serialised to be checked): HMAC-SHA256 keyed by the approver's derived
token, or Ed25519 with the approver's private key. Whoever reads a code off the Prefect API learns a
statement that is valid for that run, that round, that action set and that decision, once, for 15 minutes.

The gate verifies a code (`identity.ApproverVerifier.verify_code`); the approver's side makes one
(`make_code`), from the CLI (`ws1ai approvals approve|reject|code`), which never sends the credential itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "CODE_TTL_SECONDS",
    "CodePayload",
    "Ed25519Signer",
    "HmacSigner",
    "MalformedCode",
    "Signer",
    "decision_digest",
    "load_signer",
    "make_code",
    "normalise_approver",
    "split_code",
]

CODE_VERSION = 1
CODE_TTL_SECONDS = 15 * 60
# Domain separation: a signature made for an approval code can never be passed off as anything else.
SIGNING_CONTEXT = b"ws1ai-approval-code-v1."


class MalformedCode(ValueError):
    """The text is not an approval code at all (wrong shape, bad base64, payload not as specified)."""


def normalise_approver(approver: str) -> str:
    """Approver ids are case- and whitespace-insensitive: `Alice` and ` alice` are one person."""
    return approver.strip().lower()


class CodePayload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    v: int = Field(CODE_VERSION, ge=CODE_VERSION, le=CODE_VERSION)
    run: str
    key: str
    digest: str = Field(pattern=r"^[0-9a-f]{64}$")
    approver: str = Field(min_length=1)
    nonce: str = Field(pattern=r"^[0-9a-f]{32}$")  # hex: it also names the verdict's flow-run input key
    exp: int


def decision_digest(pending: Iterable[str], decision: str, decisions: Mapping[str, str]) -> str:
    """What a code approves: the pending ids, the batch decision, the per-action overrides, canonically."""
    body = {
        "pending": sorted(pending),
        "decision": str(decision),
        "decisions": {str(k): str(v) for k, v in sorted(decisions.items())},
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signing_input(encoded_payload: str) -> bytes:
    return SIGNING_CONTEXT + encoded_payload.encode()


def split_code(code: str) -> tuple[CodePayload, bytes, bytes]:
    """(payload, signed bytes, signature) of a code, without checking the signature."""
    encoded, sep, sig = code.strip().partition(".")
    if not sep or not encoded or not sig:
        raise MalformedCode("not an approval code (expected <payload>.<signature>)")
    try:
        payload = CodePayload.model_validate_json(_b64d(encoded))
        signature = _b64d(sig)
    except (ValidationError, binascii.Error, ValueError) as exc:
        raise MalformedCode("not an approval code (payload or signature unreadable)") from exc
    return payload, signing_input(encoded), signature


class Signer(Protocol):
    def sign(self, message: bytes) -> bytes: ...


class HmacSigner:
    """Signs with an approver's derived token (`ws1ai approvals issue-token`): HMAC-SHA256 keyed by it."""

    def __init__(self, token: str) -> None:
        if not token.strip():
            raise ValueError("approver token is empty")
        self._key = token.strip().encode()

    def sign(self, message: bytes) -> bytes:
        return hmac.new(self._key, message, hashlib.sha256).digest()


class Ed25519Signer:
    """Signs with an approver's Ed25519 private key (`ws1ai approvals keygen`); the flow host holds only the
    public half."""

    def __init__(self, private_key_pem: bytes) -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        try:
            key = load_pem_private_key(private_key_pem, password=None)
        except (ValueError, TypeError) as exc:
            raise ValueError("not an unencrypted PEM private key") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("not an Ed25519 private key")
        self._key = key

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)


def load_signer(*, token: str | None = None, key_file: Path | None = None) -> Signer:
    """The approver's signer: an Ed25519 key file, or a derived token (exactly one of them)."""
    if key_file is not None:
        try:
            return Ed25519Signer(key_file.read_bytes())
        except OSError as exc:
            raise ValueError(f"cannot read key file {key_file}: {exc.strerror}") from exc
        except ValueError as exc:
            raise ValueError(f"{key_file}: {exc}") from exc
    if token is None:
        raise ValueError("no approver credential: give a token or a key file")
    return HmacSigner(token)


def make_code(
    signer: Signer,
    *,
    run: str,
    key: str,
    approver: str,
    pending: Iterable[str],
    decision: str,
    decisions: Mapping[str, str] | None = None,
    ttl_seconds: int = CODE_TTL_SECONDS,
    now: float | None = None,
) -> tuple[str, CodePayload]:
    """Sign a decision for one round of one request; returns the code and its payload (for the nonce)."""
    payload = CodePayload(
        run=str(run),
        key=key,
        digest=decision_digest(pending, decision, decisions or {}),
        approver=normalise_approver(approver),
        nonce=secrets.token_hex(16),
        exp=int((time.time() if now is None else now) + ttl_seconds),
    )
    if not payload.approver:
        raise ValueError("approver id is empty")
    encoded = _b64e(payload.model_dump_json().encode())
    return f"{encoded}.{_b64e(signer.sign(signing_input(encoded)))}", payload
