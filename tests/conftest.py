"""Shared fixtures. Area-specific fixtures live in each test folder's own conftest.py."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# Backoff sleeps make tests slow without testing anything: the client reads this switch (stamina-style).
os.environ.setdefault("WS1AI_TESTING", "1")
# Tasks that cache across runs (the hourly risk-input export) would carry one test's tenant into the next;
# the test that checks the cache switches this off for itself.
os.environ.setdefault("PREFECT_TASKS_REFRESH_CACHE", "true")
# The test server is SQLite and CI's two cores are busy: the default 10 s statement timeout (which is also
# SQLite's busy wait) let "database is locked" through under load. The harness's server inherits these.
os.environ.setdefault("PREFECT_SERVER_DATABASE_TIMEOUT", "60")
os.environ.setdefault("PREFECT_SERVER_DATABASE_CONNECTION_TIMEOUT", "60")
# Events become readable after the persister flushes (default every 5 s); tests that read events back
# would otherwise wait that long each time.
os.environ.setdefault("PREFECT_SERVER_SERVICES_EVENT_PERSISTER_FLUSH_INTERVAL", "0.5")
# Offline: the test server and every client never report usage (a failed attempt logs an ERROR per run).
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[str]:
    """One real Prefect server (SQLite, temporary DB) for the whole session; yields its API URL.

    Starting it costs ~10 s, so it is shared, and only tests that ask for it pay.
    """
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield str(PREFECT_API_URL.value())
