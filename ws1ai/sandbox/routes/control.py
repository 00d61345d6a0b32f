"""`/_sandbox/*`: the control plane for tests and benchmarks (no auth, no throttle; no real equivalent)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ws1ai.sandbox.errors import ApiError, json_response
from ws1ai.sandbox.ops import enroll_device, set_compliance
from ws1ai.sandbox.routes.common import body_json, q_int, st

__all__ = ["router"]

router = APIRouter()


@router.get("/_sandbox/info")
def info(request: Request) -> Response:
    state = st(request)
    with state.lock:
        statuses: dict[str, int] = {}
        for rec in state.devices.values():
            statuses[rec.enrollment_status] = statuses.get(rec.enrollment_status, 0) + 1
        body = {
            "instance": state.instance_id,  # changes with every seed/reset: the tenant's identity
            "devices": len(state.devices),
            "enrollment_status": statuses,
            "start": state.start.isoformat(),
            "end": state.end.isoformat(),
            "now": state.now().isoformat(),
            "rate_limit_per_minute": state.gate.throttle.limit,
            "daily_quota": state.gate.daily_quota,
            "token_lifetime_seconds": state.gate.token_lifetime_seconds,
            "ledger_entries": len(state.ledger),
        }
    return json_response(body)


@router.post("/_sandbox/reset")
def reset(request: Request) -> Response:
    st(request).reset()
    return json_response({"reset": True})


@router.post("/_sandbox/seed")
async def seed(request: Request) -> Response:
    """Body {devices, seed, days, end?: "YYYY-MM-DD"}: a new fleet from the simulator."""
    body = await body_json(request) or {}
    try:
        devices, seed_, days = (
            int(body.get("devices", 200)),
            int(body.get("seed", 7)),
            int(body.get("days", 30)),
        )
        end = date.fromisoformat(str(body["end"])) if body.get("end") else None
    except (TypeError, ValueError) as exc:
        raise ApiError.bad_request("devices, seed and days must be integers; end an ISO date.") from exc
    state = st(request)
    state.reseed(devices, seed_, days, end)
    return json_response(
        {
            "devices": len(state.devices),
            "seed": seed_,
            "days": days,
            "start": state.start.isoformat(),
            "end": state.end.isoformat(),
        }
    )


@router.post("/_sandbox/faults")
async def add_fault(request: Request) -> Response:
    """Body: {route: regex, kind: 429|5xx|latency|drop, count, status?, retry_after?, latency_seconds?}."""
    body = await body_json(request)
    if not isinstance(body, dict):
        raise ApiError.bad_request("A JSON fault spec is required.")
    state = st(request)
    with state.lock:
        try:
            fault = state.gate.add_fault(body)
        except (ValueError, TypeError) as exc:
            raise ApiError.bad_request(str(exc)) from exc
    return json_response(fault.to_json(), 201)


@router.get("/_sandbox/faults")
def list_faults(request: Request) -> Response:
    state = st(request)
    with state.lock:
        return json_response([f.to_json() for f in state.gate.faults])


@router.delete("/_sandbox/faults")
def clear_faults(request: Request) -> Response:
    state = st(request)
    with state.lock:
        state.gate.faults.clear()
    return Response(status_code=204)


@router.get("/_sandbox/ledger")
def get_ledger(request: Request) -> Response:
    """Every write, in order. `?since=<seq>` returns only later entries."""
    state = st(request)
    since = q_int(request, "since", default=0) or 0
    with state.lock:
        entries = [e.to_json() for e in state.ledger[since:]]
    return json_response({"entries": entries, "count": len(entries)})


@router.get("/_sandbox/requests")
def request_counts(request: Request) -> Response:
    state = st(request)
    with state.lock:
        return json_response(state.gate.counts())


@router.post("/_sandbox/clock")
async def clock(request: Request) -> Response:
    """Body {"advance_seconds": N}: ages tokens, wipes in flight and the quota window without sleeping."""
    body = await body_json(request) or {}
    state = st(request)
    try:
        seconds = float(body.get("advance_seconds", 0))
    except (TypeError, ValueError) as exc:
        raise ApiError.bad_request("advance_seconds must be a number.") from exc
    state.advance_clock(seconds)
    if "token_lifetime_seconds" in body:
        with state.lock:
            state.gate.token_lifetime_seconds = int(body["token_lifetime_seconds"])
    return json_response({"now": state.now().isoformat(), "offset_seconds": state.clock_offset})


@router.post("/_sandbox/settings")
async def settings(request: Request) -> Response:
    """Live knobs: rate_limit_per_minute, daily_quota, token_lifetime_seconds, wipe_completion_seconds."""
    body: dict[str, Any] = await body_json(request) or {}
    state = st(request)
    with state.lock:
        if "rate_limit_per_minute" in body:
            state.gate.throttle.limit = int(body["rate_limit_per_minute"])
        if "daily_quota" in body:
            state.gate.daily_quota = int(body["daily_quota"])
        if "token_lifetime_seconds" in body:
            state.gate.token_lifetime_seconds = int(body["token_lifetime_seconds"])
        if "wipe_completion_seconds" in body:
            state.wipe_completion_seconds = float(body["wipe_completion_seconds"])
    return info(request)


@router.post("/_sandbox/devices/{device_id}/compliance")
async def change_compliance(device_id: int, request: Request) -> Response:
    """Body {"ComplianceStatus": "NonCompliant", "CompromisedStatus": bool?}: as if the device reported it."""
    body = await body_json(request)
    if not isinstance(body, dict) or "ComplianceStatus" not in body:
        raise ApiError.bad_request("ComplianceStatus is required.")
    state = st(request)
    with state.lock:
        rec = state.device(device_id)
        compromised = body.get("CompromisedStatus")
        changed = set_compliance(
            state, rec, str(body["ComplianceStatus"]), bool(compromised) if compromised is not None else None
        )
    return json_response(
        {"changed": changed, "ComplianceStatus": rec.compliance, "CompromisedStatus": rec.compromised}
    )


@router.post("/_sandbox/devices/enroll")
async def enroll(request: Request) -> Response:
    """Body {"user_email", "platform"?, "model"?, "ownership"?}: a device enrolls (Enrollment Complete)."""
    body = await body_json(request)
    if not isinstance(body, dict) or not body.get("user_email"):
        raise ApiError.bad_request("user_email is required.")
    state = st(request)
    with state.lock:
        rec = enroll_device(
            state,
            str(body["user_email"]),
            str(body.get("platform") or "AppleOsX"),
            body.get("model"),
            str(body.get("ownership") or "C"),
        )
    return json_response({"DeviceId": rec.id, "Uuid": rec.uuid, "SerialNumber": rec.serial}, 201)


@router.post("/_sandbox/webhooks/drain")
def drain_webhooks(request: Request) -> Response:
    dispatcher = getattr(request.app.state, "webhooks", None)
    done = dispatcher.drain() if dispatcher is not None else True
    return json_response(
        {
            "drained": done,
            "delivered": getattr(dispatcher, "delivered", 0),
            "failed": getattr(dispatcher, "failed", 0),
        }
    )
