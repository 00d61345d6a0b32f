"""Fixtures for the UEM client tests: a sandbox tenant in-process (TestClient) or on a real socket (uvicorn).

Wire models are strict here (`WS1AI_STRICT_MODELS=1`): any field the sandbox sends that the models do not
know fails the test, so sandbox/model drift is loud.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

os.environ["WS1AI_STRICT_MODELS"] = "1"
os.environ.setdefault("WS1AI_TESTING", "1")

from ws1ai.uem.ratelimit import clear_registry


@pytest.fixture(autouse=True)
def _fresh_limiters() -> Iterator[None]:
    """Limiters are shared per credential for the life of a process; tests must not inherit pauses/quota."""
    clear_registry()
    yield
    clear_registry()
