"""Onboarding: new hires from the HRIS → UEM user, organization group, smart group and role bundle, governed.

New hires are `pending_start` employees and those who started in the last `recent_days` (or exactly one
`employee_id`, as an HRIS event passes it, or the hires reported by `changes(since)`). For each one the flow
reads what the tenant already has and plans only what is missing, so a second run changes nothing. The role
bundle comes from the bundles model: its output file (`bundles_path`, the parquet `ws1ai models score bundles`
writes) or `models.provisioning.learn_bundles` over a capped sample of the same team's devices; the
per-platform stand-in rule of `ws1ai.policies.onboarding` is the alternative (`bundle_method="peer-rule"`).

    python -m flows.onboarding --help
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any, Literal

import polars as pl
from prefect import State, flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NONE
from prefect.states import Completed

from flows._govern import govern_and_act
from flows._params import confined, refuse
from models.provisioning import learn_bundles
from tasks.apps import read_hire_state, read_peer_holdings, read_tenant_catalog
from ws1ai.connectors.hris import HRISClient
from ws1ai.governance.actions import Action
from ws1ai.governance.audit_records import audit_action
from ws1ai.governance.config import RolloutMode
from ws1ai.policies.onboarding import (
    BUNDLE_SCHEMA,
    RULE_VERSION,
    NewHire,
    bundles_from_frame,
    onboarding_actions,
    peer_bundle_rule,
    select_new_hires,
)

__all__ = ["onboarding"]

# "model": models/provisioning.py over the peer sample; "peer-rule": the per-platform stand-in rule.
BundleMethod = Literal["model", "peer-rule"]


@task(name="read-new-hires", cache_policy=NONE)
def read_new_hires(
    employee_id: str | None, since: date | None, as_of: date, recent_days: int
) -> tuple[list[NewHire], pl.DataFrame]:
    """The hires to onboard and the employee frame (peers' roles for the stand-in bundle rule)."""
    with HRISClient() as hris:
        employees = hris.employees_frame()
        wanted: set[str] | None = None
        if employee_id is not None:
            wanted = {employee_id}
        elif since is not None:
            wanted = {c.employee.employee_id for c in hris.changes(since) if c.change_type == "hire"}
    hires = select_new_hires(employees, as_of=as_of, recent_days=recent_days, employee_ids=wanted)
    return hires, employees


@task(name="learn-role-bundles", cache_policy=NONE)
def role_bundles(
    bundles_path: str | None, holdings: pl.DataFrame | None, min_support: float, method: BundleMethod
) -> tuple[pl.DataFrame, str, str]:
    """(bundle rows, who decided, version). A model's output file wins; otherwise learn from the peers."""
    if bundles_path:
        frame = bundles_from_frame(pl.read_parquet(bundles_path), min_support=min_support)
        return frame, "model", Path(bundles_path).name
    assert holdings is not None
    if method == "peer-rule":
        return peer_bundle_rule(holdings, min_support=min_support), "rule", RULE_VERSION
    # The bundles model (models/provisioning.py) over the same peer sample. Department smart groups are not
    # offered to it: their criteria are not readable through the API, and the policy handles them itself.
    held = holdings.filter(pl.col("item_id").is_not_null())
    learned = learn_bundles(
        holdings.select("device_id", "department", "role").unique(),
        held.filter(pl.col("item_kind") == "profile").select(
            "device_id", pl.col("item_id").alias("profile_id")
        ),
        held.filter(pl.col("item_kind") == "app").select("device_id", pl.col("item_id").alias("app_id")),
        pl.DataFrame(schema={"smart_group_id": pl.Int64, "department": pl.String, "role": pl.String}),
        min_support=min_support,
    )
    return bundles_from_frame(learned, min_support=min_support), "model", "provisioning.learn_bundles"


@flow(name="onboarding", log_prints=True)
def onboarding(
    employee_id: str | None = None,
    since: date | None = None,
    mode: RolloutMode = RolloutMode.APPROVE,
    dry_run: bool = False,
    recent_days: int = 14,
    as_of: date | None = None,
    bundles_path: str | None = None,
    bundle_method: BundleMethod = "model",
    min_support: float = 0.6,
    max_hires: int = 50,
    max_peers_per_team: int = 15,
    department_group_format: str = "Dept - {department}",
    run_key_prefix: str = "onboarding",
    approval_timeout_seconds: int | None = None,
) -> State[Any]:
    """Bring each new hire's UEM user and enrolled devices to their role's target state."""
    log = get_run_logger()
    try:  # parameters narrow a run, never widen it: checked before anything is read
        bundles_path = confined(bundles_path, "bundles_path")
    except ValueError as exc:
        return refuse(exc)
    today = as_of or date.today()
    hires, employees = read_new_hires(employee_id, since, today, recent_days)
    hires = hires[:max_hires]
    if not hires:
        return Completed(name="SKIPPED", message="no new hires")
    catalog = read_tenant_catalog(department_group_format)
    state = read_hire_state(hires, list(catalog.department_smart_groups.values()))
    holdings = None
    if not bundles_path and any(devices for _, devices in state.values()):
        teams = sorted({(h.department, h.role) for h in hires if state[h.employee_id][1]})
        holdings = read_peer_holdings(employees, teams, max_peers_per_team)
    bundle, decided_by, version = (
        role_bundles(bundles_path, holdings, min_support, bundle_method)
        if holdings is not None or bundles_path
        else (pl.DataFrame(schema=BUNDLE_SCHEMA), "rule", "no enrolled devices")
    )
    actions: list[Action] = []
    rows: list[dict[str, object]] = []
    for hire in hires:
        user_exists, devices = state[hire.employee_id]
        planned = onboarding_actions(
            hire,
            user_exists=user_exists,
            devices=devices,
            bundle=bundle,
            catalog=catalog,
            decided_by="model" if decided_by == "model" else "rule",
            model_version=version,
            run_key_prefix=run_key_prefix,
        )
        actions += planned
        rows.append(
            {
                "employee": hire.employee_id,
                "status": hire.status,
                "team": f"{hire.department} / {hire.role}",
                "user": "exists" if user_exists else "to create",
                "devices": len(devices),
                # Written to Prefect (an artifact): the audit copy's wording, without personal data.
                "planned": ", ".join(audit_action(a).summary() for a in planned)
                or "nothing (already provisioned)",
            }
        )
    create_table_artifact(
        key="onboarding-plan",
        table=rows,
        description=f"Onboarding ({decided_by} bundles: {version}; {mode}{', dry run' if dry_run else ''})",
    )
    if not actions:
        return Completed(name="SKIPPED", message=f"{len(hires)} new hires already provisioned")
    log.info("onboarding %d hires: %d actions", len(hires), len(actions))
    return govern_and_act(
        actions,
        title=f"Onboarding: {len(hires)} new hire(s), {len(actions)} provisioning action(s)",
        mode=mode,
        dry_run=dry_run,
        approval_timeout_seconds=approval_timeout_seconds,
    )


def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employee-id")
    parser.add_argument("--since", type=date.fromisoformat)
    parser.add_argument("--mode", type=RolloutMode, default=RolloutMode.APPROVE, choices=list(RolloutMode))
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--bundles", dest="bundles_path", help="parquet from `ws1ai models score bundles`")
    parser.add_argument("--bundle-method", choices=["model", "peer-rule"], default="model")
    args = parser.parse_args()
    onboarding(
        employee_id=args.employee_id,
        since=args.since,
        mode=args.mode,
        dry_run=args.dry_run,
        bundles_path=args.bundles_path,
        bundle_method=args.bundle_method,
    )


if __name__ == "__main__":
    _main()
