"""Receiver settings (`WS1AI_WEBHOOK_*`), read through pydantic-settings like the rest of ws1ai.

The Username/Password are the ones configured in the UEM event notification (`EventNotificationModel`):
UEM sends them as HTTP Basic on every POST to the TargetUrl. Defaults match the local sandbox, as every
other ws1ai setting does; a real deployment sets its own secret.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["WebhookSettings"]


class WebhookSettings(BaseSettings):
    """The Workspace ONE / HRIS webhook receiver (`WS1AI_WEBHOOK_*`)."""

    model_config = SettingsConfigDict(env_prefix="WS1AI_WEBHOOK_", env_file=".env", extra="ignore")

    username: str = Field("ws1ai-webhook", description="Basic-auth user UEM sends (event notification)")
    password: SecretStr = Field(
        SecretStr("sandbox-webhook-password"), description="Basic-auth password UEM sends"
    )
    host: str = Field("127.0.0.1", description="bind address (loopback unless a proxy fronts it)")
    port: int = Field(8780, description="port")
    prefect_api_url: str | None = Field(
        None, description="Prefect API root (…/api); unset = the active Prefect profile's PREFECT_API_URL"
    )
    state_dir: Path = Field(Path(".ws1ai/webhook"), description="dead letters and the outbox database")
    dead_letter_dir: Path | None = Field(None, description="malformed bodies, kept for replay")
    db_path: Path | None = Field(
        None, description="sqlite file: seen event keys + outbox (spool) of events for Prefect"
    )
    dedup_capacity: int = Field(200_000, ge=1, description="event keys remembered (oldest forgotten first)")
    batch_size: int = Field(50, ge=1, le=500, description="events per POST to Prefect; 1 turns batching off")
    emit_timeout_seconds: float = Field(5.0, gt=0, description="per POST to Prefect")
    emit_attempts: int = Field(3, ge=1, description="quick tries per batch before backing off")
    max_body_bytes: int = Field(1_000_000, ge=1024, description="larger bodies are refused (413)")

    @property
    def dead_letters(self) -> Path:
        return self.dead_letter_dir or self.state_dir / "dead-letter"

    @property
    def database(self) -> Path:
        return self.db_path or self.state_dir / "receiver.sqlite3"
