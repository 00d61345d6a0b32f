"""Configuration, read from the environment (and a `.env` file) through pydantic-settings.

Every default points at the embedded sandbox on 127.0.0.1, and the sandbox accepts the credentials named by
the *same* environment variables, so a client configured by env talks to a sandbox started with that env.
Against a real tenant only these settings change. Secrets are `SecretStr` and never appear in logs or reprs.

This is the one place to find every setting of the library: each class below is importable from here.
`GovernanceSettings` (`WS1AI_GOVERNANCE_*`) is defined in ws1ai/governance/config.py, beside the enums that
type its fields (action kinds, risk tiers, rollout modes), and re-exported here on first use so that reading
a client's settings does not import the governance package. The webhook receiver's `WebhookSettings`
(`WS1AI_WEBHOOK_*`) belong to the app layer (deployments/webhook_config.py): the library never reads them.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

if TYPE_CHECKING:
    from ws1ai.governance.config import GovernanceSettings

__all__ = [
    "DEFAULT_SANDBOX_URL",
    "AuthMode",
    "GovernanceSettings",
    "HRISSettings",
    "IntelligenceSettings",
    "OpenAISettings",
    "SandboxSettings",
    "ServiceNowSettings",
    "UEMSettings",
    "WorkerSettings",
]

DEFAULT_SANDBOX_URL = "http://127.0.0.1:8765"


class AuthMode(StrEnum):
    BASIC = "basic"  # Authorization: Basic + aw-tenant-code
    OAUTH = "oauth"  # OAuth2 client credentials against the regional token URL


class UEMSettings(BaseSettings):
    """Workspace ONE UEM tenant (`WS1_*`)."""

    model_config = SettingsConfigDict(env_prefix="WS1_", env_file=".env", extra="ignore")

    base_url: str = Field(DEFAULT_SANDBOX_URL, description="API host, without /API (e.g. https://as1234.awmdm.com)")
    auth_mode: AuthMode = Field(AuthMode.BASIC, description="basic or oauth")
    username: str = Field("sandbox-admin", description="Basic-auth admin account")
    password: SecretStr = Field(SecretStr("sandbox-password"), description="Basic-auth password")
    tenant_code: SecretStr = Field(
        SecretStr("sandbox-tenant-code"), description="REST API key (aw-tenant-code)"
    )
    client_id: str = Field("sandbox-client", description="OAuth client id")
    client_secret: SecretStr = Field(SecretStr("sandbox-client-secret"), description="OAuth client secret")
    token_url: str = Field(
        f"{DEFAULT_SANDBOX_URL}/connect/token",
        description="OAuth token URL, e.g. https://na.uemauth.workspaceone.com/connect/token",
    )
    rate_limit_per_minute: int = Field(150, ge=1, description="client-side request budget per minute")
    daily_quota_reserve: int = Field(
        1000, ge=0, description="stop before x-ratelimit-remaining falls below this many calls"
    )
    shared_rate_limit: str = Field(
        "",
        description="Prefect global concurrency limit (with slot decay) that every process's UEM calls draw "
        "from, for several workers on one tenant; empty = each process paces itself",
    )
    read_only: bool = Field(False, description="refuse every write before it is sent")
    timeout_seconds: float = Field(30.0, gt=0, description="per-request timeout")
    max_retries: int = Field(5, ge=0, description="retries of 408/5xx and connection errors")
    throttle_wait_seconds: float = Field(
        300.0,
        ge=0,
        description="how long one request keeps waiting out the server's 429s (Retry-After honoured) "
        "before it fails; a throttle storm delays an action rather than failing it",
    )


class ServiceNowSettings(BaseSettings):
    """ServiceNow instance (`SERVICENOW_*`)."""

    model_config = SettingsConfigDict(env_prefix="SERVICENOW_", env_file=".env", extra="ignore")

    base_url: str = Field(DEFAULT_SANDBOX_URL, description="instance URL, e.g. https://acme.service-now.com")
    username: str = Field("sandbox-itsm", description="Basic-auth user")
    password: SecretStr = Field(SecretStr("sandbox-itsm-password"), description="Basic-auth password")


class HRISSettings(BaseSettings):
    """HRIS REST endpoint (`HRIS_*`)."""

    model_config = SettingsConfigDict(env_prefix="HRIS_", env_file=".env", extra="ignore")

    base_url: str = Field(f"{DEFAULT_SANDBOX_URL}/hris", description="HRIS API root")
    api_key: SecretStr = Field(SecretStr("sandbox-hris-key"), description="sent as X-API-Key")


class OpenAISettings(BaseSettings):
    """OpenAI-compatible LLM endpoint (`OPENAI_*`). With no key, the deterministic policies decide."""

    model_config = SettingsConfigDict(env_prefix="OPENAI_", env_file=".env", extra="ignore")

    base_url: str | None = Field(None, description="any OpenAI-compatible endpoint; None = api.openai.com")
    api_key: SecretStr | None = Field(None, description="unset = no LLM, deterministic policy only")
    model: str = Field("gpt-4o-mini", description="model name")
    timeout_seconds: float = Field(30.0, gt=0, description="per-call timeout before falling back")


class IntelligenceSettings(BaseSettings):
    """Intelligence report API (`WS1_INTELLIGENCE_*`). Unset base URL = the UEM host (the local sandbox)."""

    model_config = SettingsConfigDict(env_prefix="WS1_INTELLIGENCE_", env_file=".env", extra="ignore")

    base_url: str | None = None
    poll_seconds: float = 2.0
    max_wait_seconds: float = 600.0


class SandboxSettings(BaseSettings):
    """The embedded sandbox tenant (`WS1_SANDBOX_*`)."""

    model_config = SettingsConfigDict(env_prefix="WS1_SANDBOX_", env_file=".env", extra="ignore")

    host: str = Field("127.0.0.1", description="bind address (loopback only by default)")
    port: int = Field(8765, description="port")
    devices: int = Field(2000, ge=0, description="fleet size to seed")
    seed: int = Field(7, description="fleet simulator seed")
    days: int = Field(120, ge=0, description="days of telemetry history to simulate")
    rate_limit_per_minute: int = Field(180, ge=1, description="server throttle per minute (429 beyond)")
    daily_quota: int = Field(250_000, ge=1, description="daily quota per API key")


# The project's own data folder (beside ws1ai/), where `ws1ai fleet generate` and `ws1ai models train` write.
DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "data"


class WorkerSettings(BaseSettings):
    """What a flow run on this worker may read, write and send (`WS1AI_*`), whatever its parameters say.

    Anyone who can create a flow run chooses its parameters, so a parameter can narrow a run, never widen
    it: a path parameter must resolve inside `data_dir` or `allowed_dirs` (ws1ai/paths.py), and a payload
    (encryption profile, clean-up script, quarantine tag) is one this worker allows. The defaults are the
    flows' own defaults, so the sandbox and a fresh checkout work unchanged.
    """

    model_config = SettingsConfigDict(env_prefix="WS1AI_", env_file=".env", extra="ignore")

    data_dir: Path = Field(DEFAULT_DATA_DIR, description="model, candidate and bundle files flows may read")
    allowed_dirs: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="more folders path parameters may name (JSON list, or separated like PATH); reports too",
    )
    encryption_profiles: dict[str, str] = Field(
        default_factory=lambda: {"AppleOsX": "FileVault Encryption", "WinRT": "BitLocker Encryption"},
        description="platform → the encryption profile (by name) compliance triage may install",
    )
    cleanup_scripts: dict[str, str] = Field(
        default_factory=lambda: {"WinRT": "Clear temporary files"},
        description="platform → the clean-up script (by name) predictive health may run",
    )
    quarantine_tags: list[str] = Field(
        default_factory=lambda: ["Quarantine"],
        min_length=1,
        description="tags compliance triage may quarantine with; the first is the default",
    )

    reclaim_min_idle_days: int = Field(
        60, ge=0, description="licence reclamation: a run's min_idle_days may be higher, never lower"
    )
    reclaim_grace_days: int = Field(
        30, ge=0, description="licence reclamation: the least grace_days a run uses"
    )
    reclaim_min_confidence: float = Field(
        0.5, ge=0.0, le=1.0, description="licence reclamation: the least min_confidence a run uses"
    )

    def reclaim_floors(
        self, min_idle_days: int, grace_days: int, min_confidence: float
    ) -> tuple[int, int, float, list[str]]:
        """Licence reclamation's thresholds, each at least this worker's floor, and a note per raised one: a
        looser threshold would propose more uninstalls than the worker allows."""
        notes = [
            f"{name} {asked} raised to this worker's floor {floor}"
            for name, asked, floor in (
                ("min_idle_days", min_idle_days, self.reclaim_min_idle_days),
                ("grace_days", grace_days, self.reclaim_grace_days),
                ("min_confidence", min_confidence, self.reclaim_min_confidence),
            )
            if asked < floor
        ]
        return (
            max(min_idle_days, self.reclaim_min_idle_days),
            max(grace_days, self.reclaim_grace_days),
            max(min_confidence, self.reclaim_min_confidence),
            notes,
        )

    def choose(self, parameter: str, requested: dict[str, str] | None) -> dict[str, str]:
        """The `encryption_profiles` or `cleanup_scripts` a run uses: this worker's, or the subset of them a
        parameter names (fewer platforms: a narrower run). Any other choice is refused in one line."""
        allowed: dict[str, str] = getattr(self, parameter)
        if requested is None:
            return dict(allowed)
        if bad := {k: v for k, v in requested.items() if allowed.get(k) != v}:
            raise ValueError(
                f"{parameter} {bad} is not allowed on this worker (WS1AI_{parameter.upper()}: {allowed}); a "
                "run may only use a subset of them"
            )
        return dict(requested)

    def choose_quarantine_tag(self, requested: str | None) -> str:
        """The tag a run quarantines with: the parameter when this worker allows it, else the first one."""
        if requested is None:
            return self.quarantine_tags[0]
        if requested not in self.quarantine_tags:
            raise ValueError(
                f"quarantine_tag {requested!r} is not allowed on this worker (WS1AI_QUARANTINE_TAGS: "
                f"{self.quarantine_tags})"
            )
        return requested

    @field_validator("allowed_dirs", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        # `["/a", "/b"]` (JSON, as every list setting) or `/a:/b` (like PATH): both read the same.
        if isinstance(value, str):
            import json

            text = value.strip()
            return json.loads(text) if text.startswith("[") else [p for p in text.split(os.pathsep) if p]
        return value


def __getattr__(name: str) -> Any:
    # PEP 562: governance's settings load with the governance package, only when asked for.
    if name == "GovernanceSettings":
        from ws1ai.governance.config import GovernanceSettings

        return GovernanceSettings
    raise AttributeError(f"module 'ws1ai.settings' has no attribute {name!r}")
