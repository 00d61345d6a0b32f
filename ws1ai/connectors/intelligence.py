"""Workspace ONE Intelligence-style report export: run a report, wait for its download, fetch the CSV.

Bulk reads with no UEM REST equivalent (daily telemetry, app installs and usage, asset facts) come from here,
one export per table instead of one call per device. Auth is the UEM credential (Basic + tenant code, or the
OAuth bearer); `WS1_INTELLIGENCE_BASE_URL` points at the Intelligence host of a real tenant, and unset means
the UEM host (the local sandbox serves both). Note that running a report is a `POST`, although it changes
nothing in the tenant.
"""

from __future__ import annotations

import io
import time
from datetime import UTC, date, datetime

import httpx
import polars as pl

from ws1ai.connectors.http import ConnectorHTTP
from ws1ai.settings import IntelligenceSettings, UEMSettings
from ws1ai.uem.auth import authenticator_for

__all__ = ["IntelligenceSettings", "ReportExporter"]  # its settings live in ws1ai.settings, re-exported


class ReportExporter:
    def __init__(
        self,
        settings: UEMSettings | None = None,
        intelligence: IntelligenceSettings | None = None,
        *,
        http: httpx.Client | None = None,
    ) -> None:
        self.settings = settings or UEMSettings()
        self.intelligence = intelligence or IntelligenceSettings()
        self._owned = http is None
        self._raw = http or httpx.Client(timeout=self.settings.timeout_seconds)
        # One export takes minutes, well inside a token's lifetime, so the header is fixed for the session.
        headers, _ = authenticator_for(self.settings, self._raw).headers()
        base = self.intelligence.base_url or self.settings.base_url
        self._http = ConnectorHTTP("Intelligence", base, headers=headers, http=self._raw)
        self.completed_at: datetime | None = None  # tenant time of the last finished export, if it said

    def __enter__(self) -> ReportExporter:
        return self

    def __exit__(self, *_: object) -> None:
        if self._owned:
            self._raw.close()

    def report_id(self, name: str) -> str:
        body = self._http.request("GET", "/v1/reports").json()
        for report in body.get("data", {}).get("results", []):
            if report.get("name") == name:
                return str(report["id"])
        raise LookupError(f"no Intelligence report named {name!r} in the tenant's report definitions")

    def export(self, name: str, *, start_date: date | None = None, end_date: date | None = None) -> bytes:
        """The report's CSV bytes, waiting (bounded) until its run is COMPLETED."""
        report_id = self.report_id(name)
        bounds = {k: v.isoformat() for k, v in (("start_date", start_date), ("end_date", end_date)) if v}
        tracking = str(
            self._http.request("POST", f"/v1/reports/{report_id}/run", json=bounds).json()["data"]["id"]
        )
        deadline = time.monotonic() + self.intelligence.max_wait_seconds
        while True:
            found = self._http.request(
                "POST", f"/v1/reports/{report_id}/downloads/search", json={"offset": 0, "page_size": 50}
            ).json()
            runs = {str(r.get("id")): r for r in found.get("data", {}).get("results", [])}
            status = {k: r.get("status") for k, r in runs.items()}
            if status.get(tracking) == "COMPLETED":
                # The tenant's own clock when it finished the run: "now" for ages measured in its data.
                self.completed_at = _tenant_time(runs[tracking].get("completed_at"))
                return self._http.request("GET", f"/v1/reports/tracking/{tracking}/download").content
            if status.get(tracking) in {"FAILED", "CANCELLED"} or time.monotonic() > deadline:
                raise RuntimeError(f"report {name!r} run {tracking} is {status.get(tracking) or 'missing'}")
            time.sleep(self.intelligence.poll_seconds)

    def frame(self, name: str, *, start_date: date | None = None) -> pl.DataFrame:
        csv = self.export(name, start_date=start_date)
        return pl.read_csv(io.BytesIO(csv), try_parse_dates=True) if csv.strip() else pl.DataFrame()


def _tenant_time(value: object) -> datetime | None:
    """An ISO timestamp as naive UTC (UEM's convention), or None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp.astimezone(UTC).replace(tzinfo=None) if stamp.tzinfo else stamp
