"""Thin routers over `SandboxState`; order matters where a literal path shares a prefix with a `{param}`."""

from __future__ import annotations

from fastapi import APIRouter

from ws1ai.sandbox.routes import (
    attributes,
    auth,
    automation,
    commands,
    control,
    device_activity,
    device_details,
    devices,
    groups,
    hris,
    mam,
    notifications,
    reports,
    servicenow,
    system,
    tags,
    users,
)

__all__ = ["ROUTERS"]

ROUTERS: list[APIRouter] = [
    control.router,
    auth.router,
    attributes.router,
    commands.router,
    devices.router,
    device_details.router,
    device_activity.router,
    groups.router,
    tags.router,
    mam.router,
    system.router,
    users.router,
    notifications.router,
    automation.router,
    servicenow.router,
    hris.router,
    reports.router,
]
