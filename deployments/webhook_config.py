"""Receiver settings (`WS1AI_WEBHOOK_*`), read through pydantic-settings like the rest of ws1ai.

The Username/Password are the ones configured in the UEM event notification (`EventNotificationModel`):
UEM sends them as HTTP Basic on every POST to the TargetUrl. Defaults match the local sandbox, as every
other ws1ai setting does; a real deployment sets its own secret — and the receiver refuses to listen on
anything but loopback while the published defaults are in use (`exposure_problem`).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["SANDBOX_PASSWORD", "WebhookSettings", "is_loopback"]

# Published in this repository (the sandbox's default), so it authenticates nobody off this machine.
SANDBOX_PASSWORD = "sandbox-webhook-password"
_SANDBOX_HRIS_KEY = "sandbox-hris-key"  # ws1ai.settings.HRISSettings' default, published the same way


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and `localhost`; a wildcard (0.0.0.0, ::) or any other name is not."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


class WebhookSettings(BaseSettings):
    """The Workspace ONE / HRIS webhook receiver (`WS1AI_WEBHOOK_*`)."""

    model_config = SettingsConfigDict(env_prefix="WS1AI_WEBHOOK_", env_file=".env", extra="ignore")

    username: str = Field("ws1ai-webhook", description="Basic-auth user UEM sends (event notification)")
    password: SecretStr = Field(SecretStr(SANDBOX_PASSWORD), description="Basic-auth password UEM sends")
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
    # Coalescing (docs/scale-out.md#coalesced-triggers): devices that fell out of compliance are gathered
    # into one `ws1.devices.compliance-changed` event, so a burst starts one triage run, not one per device.
    # The window closes once no new device came for `coalesce_seconds` (a burst stays one batch however
    # long it lasts up to the cap), and at the latest `coalesce_max_seconds` after its first device (a steady
    # trickle cannot hold a device back for longer); 0 and 0 send each arrival group at once.
    coalesce_seconds: float = Field(30.0, ge=0, le=3600, description="quiet time that closes the window")
    coalesce_max_seconds: float = Field(
        120.0, ge=0, le=3600, description="longest a device waits in the window (from the first device)"
    )
    coalesce_max_devices: int = Field(
        1000, ge=1, le=10_000, description="device ids per batch event (more: several events)"
    )
    fleet: str = Field(
        "default",
        pattern=r"^[A-Za-z0-9._-]+$",
        description="names this tenant in batch events (resource ws1.fleet.<fleet>); never the tenant code",
    )

    def exposure_problem(self, host: str, hris_api_key: str) -> str | None:
        """Why the receiver must not listen on `host` with these secrets, or None when it may."""
        if is_loopback(host):
            return None
        published = [
            name
            for name, value, default in (
                ("WS1AI_WEBHOOK_PASSWORD", self.password.get_secret_value(), SANDBOX_PASSWORD),
                ("HRIS_API_KEY", hris_api_key, _SANDBOX_HRIS_KEY),
            )
            if value == default
        ]
        if not published:
            return None
        return (
            f"refusing to listen on {host}: {' and '.join(published)} still hold the published sandbox "
            "default; set your own secret(s) or bind to 127.0.0.1"
        )

    @property
    def dead_letters(self) -> Path:
        return self.dead_letter_dir or self.state_dir / "dead-letter"

    @property
    def database(self) -> Path:
        return self.db_path or self.state_dir / "receiver.sqlite3"
