"""The LLM decision node: any OpenAI-compatible endpoint, with the deterministic policy always behind it.

Why this shape:
- The LLM only *proposes*: every call has a deterministic fallback, and a missing key, a failed call, a
  timeout or an answer that does not validate into the expected pydantic model all fall back to it.
  `Decided` records which path decided and why, so the audit trail can say "the policy decided
  because the LLM timed out".
- Personal data never leaves: the context is redacted (names, emails, serials, IMEI, phones, MACs, asset
  numbers → stable placeholders) right here, the single place that talks to the LLM, and placeholders in the
  answer are restored before anyone else sees it.
- Structured outputs: the request carries the answer model's JSON schema (`response_format`), and the reply is
  validated by pydantic, never trusted as free text.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

import httpx
import openai
from pydantic import BaseModel, ValidationError

from ws1ai.connectors.prompts import Prompt
from ws1ai.governance.redaction import Redactor
from ws1ai.settings import OpenAISettings

__all__ = ["Decided", "LLMDecider"]

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)

# The openai client retries on its own; one retry is enough for a decision that has a fallback anyway.
_LLM_MAX_RETRIES = 1


@dataclass(frozen=True)
class Decided(Generic[T]):
    """An answer and its provenance, as recorded in the audit trail."""

    answer: T
    decided_by: Literal["llm", "policy"]
    prompt: str  # e.g. "compliance_triage@v1"
    model: str | None  # the LLM model name when the LLM decided
    fallback_reason: str | None = None  # why the policy decided


class LLMDecider:
    """Ask an OpenAI-compatible model for a typed decision; fall back to the policy on any failure."""

    def __init__(
        self, settings: OpenAISettings | None = None, *, http_client: httpx.Client | None = None
    ) -> None:
        self.settings = settings or OpenAISettings()
        self._client: openai.OpenAI | None = None
        if self.settings.api_key is not None:
            self._client = openai.OpenAI(
                api_key=self.settings.api_key.get_secret_value(),
                base_url=self.settings.base_url,
                timeout=self.settings.timeout_seconds,
                max_retries=_LLM_MAX_RETRIES,
                http_client=http_client,
            )

    @property
    def enabled(self) -> bool:
        return self._client is not None

    def decide(
        self,
        prompt: Prompt,
        context: Mapping[str, Any],
        answer_type: type[T],
        fallback: Callable[[], T],
        *,
        known_names: Iterable[str] = (),
    ) -> Decided[T]:
        """Return the LLM's validated answer for `context`, or `fallback()` with the reason it was needed."""
        if self._client is None:
            why = "LLM not configured (OPENAI_API_KEY unset)"
            return Decided(fallback(), "policy", prompt.ref, None, why)
        redactor = Redactor(names=known_names)
        safe_context = redactor.redact(dict(context))
        try:
            completion = self._client.chat.completions.parse(
                model=self.settings.model,
                messages=[
                    {"role": "system", "content": prompt.text},
                    {"role": "user", "content": json.dumps(safe_context, default=str, sort_keys=True)},
                ],
                response_format=answer_type,
                temperature=0,
            )
            message = completion.choices[0].message
            if message.refusal:
                # A refusal is the model declining, not a malformed answer: the audit trail says which.
                return self._fallback(prompt, fallback, f"LLM refused: {message.refusal[:120]}")
            parsed = message.parsed
            if parsed is None:
                raise ValueError("the model returned no parsable answer")
            restored = answer_type.model_validate(redactor.restore(parsed.model_dump(mode="json")))
        except openai.APITimeoutError:
            return self._fallback(prompt, fallback, "LLM error: call timed out")
        except openai.APIStatusError as exc:
            return self._fallback(prompt, fallback, f"LLM error: endpoint answered HTTP {exc.status_code}")
        except openai.APIConnectionError:
            return self._fallback(prompt, fallback, "LLM error: endpoint unreachable")
        except (ValidationError, ValueError, openai.LengthFinishReasonError) as exc:
            return self._fallback(prompt, fallback, f"LLM answer invalid: {type(exc).__name__}")
        return Decided(restored, "llm", prompt.ref, self.settings.model)

    @staticmethod
    def _fallback(prompt: Prompt, fallback: Callable[[], T], reason: str) -> Decided[T]:
        log.warning("falling back to the deterministic policy for %s: %s", prompt.ref, reason)
        return Decided(fallback(), "policy", prompt.ref, None, reason)
