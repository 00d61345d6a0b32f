"""Property: whatever personal data a context holds, none of it reaches the LLM endpoint.

Hypothesis generates names, emails, serials, IMEIs, phone numbers, MAC and asset numbers, places them in
nested contexts under realistic field names and inside free text, and the real `openai` client sends the
request to the fake OpenAI-compatible server, whose received bodies are searched for every generated value.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, SecretStr

from tests.connectors.fake_openai import FakeOpenAI, Reply
from ws1ai.connectors.llm import LLMDecider
from ws1ai.connectors.prompts import load_prompt
from ws1ai.sandbox.server import serve_in_background
from ws1ai.settings import OpenAISettings

_UPPER_DIGITS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
names = st.builds(
    lambda first, last: f"{first} {last}",
    st.sampled_from(["Dana", "Aiko", "Mateus", "Priya", "Olu", "Sven", "Zoë", "Jean-Luc"]),
    st.sampled_from(["Whitfield", "Tanaka", "Oliveira", "Raman", "Adeyemi", "Larsson", "O'Neil"]),
)
emails = st.builds(
    lambda user, domain: f"{user}@{domain}.com",
    st.text("abcdefghijklmnopqrstuvwxyz.", min_size=3, max_size=12).filter(
        lambda u: u[0] != "." and u[-1] != "."
    ),
    st.sampled_from(["example", "acme-corp", "contoso"]),
)
serials = st.text(_UPPER_DIGITS, min_size=10, max_size=12).filter(
    lambda v: any(c.isdigit() for c in v) and any(c.isalpha() for c in v)
)
imeis = st.text("0123456789", min_size=15, max_size=15)
phones = st.builds(
    lambda a, b, c: f"+1 {a} 555 {c}", st.integers(200, 999), st.just(0), st.integers(1000, 9999)
)
macs = st.lists(st.integers(0, 255), min_size=6, max_size=6).map(lambda b: ":".join(f"{x:02X}" for x in b))
assets = st.integers(1000, 999999).map(lambda n: f"ASSET-{n}")


class Answer(BaseModel):
    remediation: str
    rationale: str
    confidence: float


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[FakeOpenAI, str]]:
    server = FakeOpenAI()
    with serve_in_background(server.app()) as base_url:
        yield server, f"{base_url}/v1"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=names, email=emails, serial=serials, imei=imeis, phone=phones, mac=macs, asset=assets)
def test_no_generated_personal_data_reaches_the_llm(
    fake: tuple[FakeOpenAI, str],
    name: str,
    email: str,
    serial: str,
    imei: str,
    phone: str,
    mac: str,
    asset: str,
) -> None:
    server, base_url = fake
    server.requests.clear()
    server.script(
        Reply(content=json.dumps({"remediation": "escalate", "rationale": "ok", "confidence": 0.5}))
    )
    context = {
        "device": {
            "SerialNumber": serial,
            "Imei": imei,
            "MacAddress": mac,
            "AssetNumber": asset,
            "Platform": "WinRT",
            "ComplianceStatus": "NonCompliant",
        },
        "user": {"UserName": name, "UserEmailAddress": email, "PhoneNumber": phone},
        "ticket": f"{name} ({email}, {phone}) says laptop {serial} / {asset} with MAC {mac} and IMEI {imei} "
        "lost its encryption after the last update",
        "history": [{"note": f"called back {phone}"}, {"note": f"shipped {serial} to {email}"}],
    }
    decider = LLMDecider(OpenAISettings(base_url=base_url, api_key=SecretStr("sk-test"), model="fake-1"))
    decided = decider.decide(
        load_prompt("compliance_triage"),
        context,
        Answer,
        lambda: Answer(remediation="x", rationale="", confidence=0),
        known_names=[name],
    )
    assert decided.decided_by == "llm", decided.fallback_reason
    sent = json.dumps(server.requests, ensure_ascii=False)  # so "Zoë" is searched as written
    assert len(server.requests) == 1
    for value in (name, email, serial, imei, phone, mac, asset, *name.split()):
        assert value not in sent, f"{value!r} reached the LLM"
    assert "lost its encryption after the last update" in sent  # the facts still go
