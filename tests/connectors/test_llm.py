"""The LLM decision node against a fake OpenAI-compatible server, through the real `openai` client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Literal

import pytest
from pydantic import BaseModel, Field, SecretStr

from tests.connectors.fake_openai import FakeOpenAI, Reply
from ws1ai.connectors.llm import LLMDecider
from ws1ai.connectors.prompts import load_prompt
from ws1ai.sandbox.server import serve_in_background
from ws1ai.settings import OpenAISettings


class Triage(BaseModel):
    remediation: Literal["notify_user", "install_profile", "quarantine", "escalate"]
    rationale: str
    confidence: float = Field(ge=0, le=1)


POLICY = Triage(remediation="escalate", rationale="deterministic policy", confidence=0.5)
CONTEXT = {
    "device": {
        "SerialNumber": "C02XK1ZAJG5H",
        "Imei": "356938035643809",
        "UserEmailAddress": "dana.whitfield@example.com",
        "UserName": "Dana Whitfield",
        "PhoneNumber": "+1 415 555 0134",
        "MacAddress": "A4:83:E7:12:9B:0C",
        "Platform": "AppleOsX",
        "ComplianceStatus": "NonCompliant",
    },
    "violation": "FileVault disabled for 12 days",
}
PII = [
    "C02XK1ZAJG5H",
    "356938035643809",
    "dana.whitfield@example.com",
    "Dana Whitfield",
    "415 555 0134",
    "A4:83:E7:12:9B:0C",
]


@pytest.fixture
def fake() -> Iterator[tuple[FakeOpenAI, str]]:
    server = FakeOpenAI()
    with serve_in_background(server.app()) as base_url:
        yield server, f"{base_url}/v1"


def _decider(base_url: str, timeout: float = 5.0) -> LLMDecider:
    return LLMDecider(
        OpenAISettings(
            base_url=base_url, api_key=SecretStr("sk-test"), model="fake-1", timeout_seconds=timeout
        )
    )


def _decide(decider: LLMDecider):  # type: ignore[no-untyped-def]
    return decider.decide(
        load_prompt("compliance_triage"), CONTEXT, Triage, lambda: POLICY, known_names=["Dana Whitfield"]
    )


def test_without_a_key_the_policy_decides_and_says_why() -> None:
    decided = _decide(LLMDecider(OpenAISettings(api_key=None)))
    assert decided.decided_by == "policy"
    assert decided.answer == POLICY
    assert decided.fallback_reason is not None and "OPENAI_API_KEY" in decided.fallback_reason
    assert decided.prompt == load_prompt("compliance_triage").ref


def test_valid_answer_is_used_and_no_personal_data_was_sent(fake: tuple[FakeOpenAI, str]) -> None:
    server, base_url = fake
    # The model can only refer to the user by the placeholder it was given; it is restored in the answer.
    server.script(
        Reply(
            content=json.dumps(
                {
                    "remediation": "install_profile",
                    "rationale": "notify <EMAIL_1> after pushing FileVault",
                    "confidence": 0.8,
                }
            )
        )
    )
    decided = _decide(_decider(base_url))
    assert decided.decided_by == "llm", decided.fallback_reason
    assert decided.model == "fake-1"
    assert decided.answer.remediation == "install_profile"
    assert decided.answer.rationale == "notify dana.whitfield@example.com after pushing FileVault"
    sent = json.dumps(server.requests)
    assert len(server.requests) == 1
    for value in PII:
        assert value not in sent, f"{value!r} reached the LLM"
    assert "FileVault disabled" in sent  # the non-personal facts did go
    assert server.requests[0]["response_format"]["type"] == "json_schema"


@pytest.mark.parametrize(
    ("replies", "reason"),
    [
        ([Reply(content="not json at all")], "invalid"),
        (
            [
                Reply(
                    content=json.dumps({"remediation": "wipe_everything", "rationale": "x", "confidence": 1})
                )
            ],
            "invalid",
        ),
        ([Reply(status=500), Reply(status=500)], "HTTP 500"),
        ([Reply(delay_s=1.5), Reply(delay_s=1.5)], "timed out"),
    ],
    ids=["not-json", "outside-schema", "server-error", "timeout"],
)
def test_failures_fall_back_to_the_policy(
    fake: tuple[FakeOpenAI, str], replies: list[Reply], reason: str
) -> None:
    server, base_url = fake
    server.script(*replies)
    decided = _decide(_decider(base_url, timeout=0.5))
    assert decided.decided_by == "policy"
    assert decided.answer == POLICY
    assert decided.fallback_reason is not None and reason in decided.fallback_reason
