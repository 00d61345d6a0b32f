"""Onboarding: what a new hire should get in UEM, as governed actions (pure; no HTTP, no Prefect).

A new hire (HRIS `pending_start`, or `active` with a start date in the last few days) gets:

1. a UEM enrollment user, unless one already exists with the same username or email — created in the
   organization group named after their HRIS location (the customer OG when no site matches);
2. for each enrolled device: membership of their department's smart group (when the device is not already
   a member through the group's criteria), and the role bundle — the profiles and apps that people in the
   same department and role hold — restricted to items built for the device's platform.

The bundle comes from the bundles model (`models/provisioning.py` / `ws1ai models score bundles`:
`department, role, item_kind, item_id, support`) when given. Otherwise `peer_bundle_rule` is a clearly
named STAND-IN: an item is in the bundle when at least `min_support` of the peers in the same department and
role *on the item's platform* hold it (at least `min_peers` such peers), so a Mac profile is not diluted by
the Windows laptops of the same team.

Idempotency: every action's run key is `onboarding:<employee_id>`, and only missing items become actions, so
a second run plans nothing for what the first run did (and governance skips any action it already executed).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

import polars as pl
from pydantic import BaseModel

from ws1ai.governance.actions import Action, ActionKind

__all__ = [
    "BUNDLE_SCHEMA",
    "HireDevice",
    "NewHire",
    "TenantCatalog",
    "bundles_from_frame",
    "onboarding_actions",
    "peer_bundle_rule",
    "select_new_hires",
    "username_for",
]

ItemKind = Literal["profile", "app", "smart_group"]
BUNDLE_SCHEMA: dict[str, pl.DataType] = {
    "department": pl.String(),
    "role": pl.String(),
    "item_kind": pl.String(),
    "item_id": pl.Int64(),
    "support": pl.Float64(),
}
RULE_VERSION = "peer-bundle-rule-v1"


class NewHire(BaseModel):
    employee_id: str
    name: str
    email: str
    department: str
    role: str
    location: str = ""
    start_date: date
    status: str


@dataclass(frozen=True)
class HireDevice:
    """An enrolled device of the hire and what it already holds."""

    device_id: int
    platform: str
    profiles: frozenset[int] = frozenset()
    apps: frozenset[int] = frozenset()
    smart_groups: frozenset[int] = frozenset()


@dataclass(frozen=True)
class TenantCatalog:
    """What the tenant offers, resolved once per run: platforms of items, OGs by site, department groups."""

    profile_platforms: Mapping[int, str] = field(default_factory=dict)
    app_platforms: Mapping[int, str] = field(default_factory=dict)
    app_kinds: Mapping[int, str] = field(default_factory=dict)  # internal / public / purchased
    og_by_location: Mapping[str, int] = field(default_factory=dict)
    default_og_id: int | None = None
    department_smart_groups: Mapping[str, int] = field(default_factory=dict)


def select_new_hires(
    employees: pl.DataFrame,
    *,
    as_of: date,
    recent_days: int = 14,
    employee_ids: Collection[str] | None = None,
) -> list[NewHire]:
    """Pending starts and recent starters, or exactly `employee_ids` (an HRIS event, a change feed) unless
    they have left by now."""
    if employee_ids is not None:
        chosen = employees.filter(
            pl.col("employee_id").is_in(sorted(employee_ids)) & (pl.col("status") != "terminated")
        )
    else:
        recent = (pl.col("status") == "active") & pl.col("start_date").is_between(
            as_of - timedelta(days=recent_days), as_of
        )
        chosen = employees.filter((pl.col("status") == "pending_start") | recent)
    return [
        NewHire.model_validate({**row, "location": row.get("location") or ""})
        for row in chosen.sort("employee_id").iter_rows(named=True)
    ]


def username_for(email: str) -> str:
    """The enrollment username convention: the email's local part (what the directory sync would create)."""
    return email.split("@", 1)[0].lower()


def peer_bundle_rule(holdings: pl.DataFrame, *, min_support: float = 0.6, min_peers: int = 3) -> pl.DataFrame:
    """STAND-IN for the bundles model. `holdings`: device_id, department, role, platform, item_kind, item_id.

    Devices that hold nothing still count as peers only if they appear in `holdings`; pass a row with a null
    item for such devices (the task that builds `holdings` does).
    """
    peers = holdings.group_by("department", "role", "platform").agg(
        pl.col("device_id").n_unique().alias("peers")
    )
    held = (
        holdings.filter(pl.col("item_id").is_not_null())
        .group_by("department", "role", "platform", "item_kind", "item_id")
        .agg(pl.col("device_id").n_unique().alias("holders"))
        .join(peers, on=["department", "role", "platform"])
        .filter(pl.col("peers") >= min_peers)
        .with_columns((pl.col("holders") / pl.col("peers")).alias("support"))
        .filter(pl.col("support") >= min_support)
    )
    out = held.select(list(BUNDLE_SCHEMA)).sort("department", "role", "item_kind", "item_id")
    return out.cast(BUNDLE_SCHEMA)  # type: ignore[arg-type]


def bundles_from_frame(frame: pl.DataFrame, *, min_support: float = 0.0) -> pl.DataFrame:
    """Validate the bundles model's output (`ws1ai models score bundles`) into the contract shape."""
    missing = [c for c in BUNDLE_SCHEMA if c not in frame.columns]
    if missing:
        raise ValueError(f"role bundles lack column(s): {', '.join(missing)}")
    out = frame.select(list(BUNDLE_SCHEMA)).cast(BUNDLE_SCHEMA)  # type: ignore[arg-type]
    unknown = set(out.get_column("item_kind").unique().to_list()) - {"profile", "app", "smart_group"}
    if unknown:
        raise ValueError(f"role bundles: unknown item_kind {sorted(unknown)}")
    if out.filter(~pl.col("support").is_between(0.0, 1.0)).height:
        raise ValueError("role bundles: support must be in [0, 1]")
    return out.filter(pl.col("support") >= min_support)


def _split_name(name: str) -> tuple[str, str]:
    first, _, last = name.strip().partition(" ")
    return first, last


def onboarding_actions(
    hire: NewHire,
    *,
    user_exists: bool,
    devices: Sequence[HireDevice],
    bundle: pl.DataFrame,
    catalog: TenantCatalog,
    decided_by: Literal["model", "rule"] = "rule",
    model_version: str | None = RULE_VERSION,
    run_key_prefix: str = "onboarding",
) -> list[Action]:
    """The actions that bring one hire to the target state; empty when they are already there.

    The run key is `<prefix>:<employee_id>`: onboarding a person is one decision, whichever run makes it.
    """
    run_key = f"{run_key_prefix}:{hire.employee_id}"
    actions: list[Action] = []
    og_id = catalog.og_by_location.get(hire.location.strip().lower(), catalog.default_og_id)
    if not user_exists:
        first, last = _split_name(hire.name)
        actions.append(
            Action(
                run_key=run_key,
                kind=ActionKind.USER_CREATE,
                targets=(hire.employee_id,),
                target_type="user",
                payload={
                    "user_name": username_for(hire.email),
                    "email": hire.email,
                    "first_name": first,
                    "last_name": last,
                    "location_group_id": og_id,
                    "external_id": hire.employee_id,
                    "department": hire.department,
                },
                rationale=(
                    f"new hire ({hire.status}, starts {hire.start_date}) in {hire.department}/{hire.role} "
                    f"at {hire.location or 'no site'}: no UEM user with this username or email"
                ),
                decided_by="rule",
            )
        )
    if not devices:
        return actions
    wanted: dict[tuple[str, int], tuple[float | None, list[int]]] = {}
    group_id = catalog.department_smart_groups.get(hire.department)
    if group_id is not None:
        missing = [d.device_id for d in devices if group_id not in d.smart_groups]
        wanted[("smart_group", group_id)] = (None, missing)
    rows = bundle.filter((pl.col("department") == hire.department) & (pl.col("role") == hire.role))
    for row in rows.sort("item_kind", "item_id").iter_rows(named=True):
        kind, item_id = str(row["item_kind"]), int(row["item_id"])
        if (kind, item_id) in wanted:
            continue
        missing = [d.device_id for d in devices if _needs(d, kind, item_id, catalog)]
        wanted[(kind, item_id)] = (float(row["support"]), missing)
    for (kind, item_id), (support, targets) in wanted.items():
        if not targets:
            continue
        why = (
            f"{hire.department} smart group for new hire {hire.employee_id}"
            if support is None
            else f"role bundle of {hire.department}/{hire.role}: held by {support:.0%} of peers"
        )
        actions.append(_item_action(kind, item_id, targets, catalog, run_key, why, decided_by, model_version))
    return actions


def _needs(device: HireDevice, kind: str, item_id: int, catalog: TenantCatalog) -> bool:
    if kind == "profile":
        return catalog.profile_platforms.get(item_id) == device.platform and item_id not in device.profiles
    if kind == "app":
        return catalog.app_platforms.get(item_id) == device.platform and item_id not in device.apps
    return item_id not in device.smart_groups


def _item_action(
    kind: str,
    item_id: int,
    targets: list[int],
    catalog: TenantCatalog,
    run_key: str,
    rationale: str,
    decided_by: Literal["model", "rule"],
    model_version: str | None,
) -> Action:
    payload: dict[str, int | str]
    if kind == "profile":
        action_kind, payload = ActionKind.PROFILE_INSTALL, {"profile_id": item_id}
    elif kind == "app":
        payload = {"app_id": item_id, "app_kind": catalog.app_kinds.get(item_id, "internal")}
        action_kind = ActionKind.APP_INSTALL
    else:
        action_kind, payload = ActionKind.SMART_GROUP_ADD, {"smart_group_id": item_id}
    return Action(
        run_key=run_key,
        kind=action_kind,
        targets=tuple(str(t) for t in targets),
        payload=payload,
        rationale=rationale,
        decided_by=decided_by,
        model_version=model_version,
    )
