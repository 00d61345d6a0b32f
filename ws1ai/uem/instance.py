"""Which tenant instance the configured credentials reach: the scope of the audit trail's "already done".

An executed action is a fact about one tenant. A real tenant is identified for good by its API host and its
tenant code (kept as a short SHA-256 prefix: the code is an API key). The embedded sandbox is re-seeded by
every `make run` (and reset by tests), after which none of the earlier writes are true any more: it reports
a fresh instance id per seed or reset (`GET /_sandbox/info` → `instance`). Only loopback hosts are asked —
that is where the sandbox runs, and a real tenant never does — so a real tenant sees no extra request.

    http://127.0.0.1:8765|5c1f0e6a9b2d|9f3c…      (sandbox: host | code hash | instance)
    https://as1234.awmdm.com|a41b07c2e9f0          (real tenant: host | code hash)
"""

from __future__ import annotations

import hashlib
import ipaddress
from urllib.parse import urlsplit

import httpx

from ws1ai.settings import UEMSettings

__all__ = ["tenant_scope"]

_PROBE_TIMEOUT_SECONDS = 5.0


def tenant_scope(settings: UEMSettings | None = None) -> str:
    """`host|code hash[|instance]` for the tenant `settings` (default: the environment's) point at."""
    settings = settings or UEMSettings()
    base = settings.base_url.rstrip("/")
    code = hashlib.sha256(settings.tenant_code.get_secret_value().encode()).hexdigest()[:12]
    instance = _sandbox_instance(base) if _is_loopback(base) else None
    return f"{base}|{code}" + (f"|{instance}" if instance else "")


def _is_loopback(base_url: str) -> bool:
    host = urlsplit(base_url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _sandbox_instance(base_url: str) -> str | None:
    """The sandbox's current instance id; None when nothing (or no sandbox) answers on that host."""
    try:
        resp = httpx.get(f"{base_url}/_sandbox/info", timeout=_PROBE_TIMEOUT_SECONDS)
    except httpx.HTTPError:
        return None
    if not resp.is_success:
        return None
    try:
        instance = resp.json().get("instance")
    except ValueError:
        return None
    return str(instance) if instance else None
