"""HRIS REST client: employees and their changes (hire, termination, move), `X-API-Key` auth.

The HRIS is the source of truth for who should have a device: onboarding reads new hires, offboarding reads
leavers. Employees come back as the `employees` data contract (a polars frame), so the models and the flows
never see the wire shape.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any, Literal

import httpx
import polars as pl
from pydantic import BaseModel, ConfigDict

from ws1ai.connectors.http import ConnectorHTTP
from ws1ai.settings import HRISSettings

__all__ = ["EMPLOYEE_SCHEMA", "Employee", "EmployeeChange", "HRISClient"]

PAGE_SIZE = 500

EMPLOYEE_SCHEMA: dict[str, pl.DataType] = {
    "employee_id": pl.String(),
    "name": pl.String(),
    "email": pl.String(),
    "department": pl.String(),
    "role": pl.String(),
    "location": pl.String(),
    "manager_email": pl.String(),
    "start_date": pl.Date(),
    "end_date": pl.Date(),
    "status": pl.String(),
}


class Employee(BaseModel):
    model_config = ConfigDict(extra="allow")

    employee_id: str
    name: str
    email: str
    department: str
    role: str
    location: str = ""
    manager_email: str | None = None
    start_date: date
    end_date: date | None = None
    status: Literal["active", "pending_start", "terminated"]


class EmployeeChange(BaseModel):
    model_config = ConfigDict(extra="allow")

    employee: Employee
    change_type: Literal["hire", "termination", "move"]
    changed_on: date
    previous: dict[str, Any] | None = None


class HRISClient:
    def __init__(
        self,
        settings: HRISSettings | None = None,
        *,
        http: httpx.Client | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.settings = settings or HRISSettings()
        self.page_size = page_size
        self._http = ConnectorHTTP(
            "HRIS",
            self.settings.base_url,
            headers={"X-API-Key": self.settings.api_key.get_secret_value()},
            http=http,
            read_only=True,  # ws1ai never writes to the HRIS
        )

    def __enter__(self) -> HRISClient:
        return self

    def __exit__(self, *_: object) -> None:
        self._http.close()

    def iter_employees(self, *, status: str | None = None) -> Iterator[Employee]:
        page = 1
        while True:
            params: dict[str, Any] = {"page": page, "page_size": self.page_size}
            if status:
                params["status"] = status
            body = self._http.request("GET", "/employees", params=params).json()
            for item in body.get("employees", []):
                yield Employee.model_validate(item)
            if not body.get("has_more"):
                return
            page += 1

    def employee(self, employee_id: str) -> Employee:
        return Employee.model_validate(self._http.request("GET", f"/employees/{employee_id}").json())

    def changes(self, since: date) -> list[EmployeeChange]:
        body = self._http.request("GET", "/employees/changes", params={"since": since.isoformat()}).json()
        return [EmployeeChange.model_validate(c) for c in body.get("changes", [])]

    def employees_frame(self) -> pl.DataFrame:
        """Every employee as the `employees` data contract."""
        rows = [e.model_dump(include=set(EMPLOYEE_SCHEMA)) for e in self.iter_employees()]
        return pl.DataFrame(rows, schema=EMPLOYEE_SCHEMA)
