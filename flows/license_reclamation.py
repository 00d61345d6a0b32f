"""Licence reclamation: paid installs vs usage → candidates → approval → uninstall → notify → savings report.

Reads the whole fleet in bulk (report export + paged searches) and decides with, first that applies:

1. `usage_model_path`, a model from `ws1ai models train usage` (decided_by `model`);
2. `candidates_path`, the parquet `ws1ai models score usage` wrote (decided_by `model`);
3. a usage model trained in this run on the tenant's own usage history (decided_by `model-in-run`), when
   that history covers at least `MIN_IN_RUN_HISTORY_DAYS` (59) days: four weeks to describe each install
   and the 30 days after to see whether it was used. A young tenant's model is trained on one snapshot
   and its threshold picked on held-out devices; history longer than what it trained on is clamped by the
   trees to the longest idle spell it saw, which errs towards "in use". Such a model must clear a trust
   floor on its held-out installs (`ws1ai.policies.licenses.usage_trust_problems`: enough of them, and at
   most 2 % false reclaims there); otherwise the run is observe-only: `SKIPPED`, nothing proposed, the
   reason in its message and an artifact (falling back to the rule would trade a thin model for a
   rougher one);
4. otherwise the stand-in idle rule in `ws1ai.policies.licenses` (decided_by `rule`).

Which one decided is in the log, the savings artifact (`decided_by`, `model_version` per row) and each
action's `decided_by`/`model_version`. The run asks for one approval of the batch with its monthly saving.
Each reclaim is an uninstall (which releases the seat/VPP licence) whose inverse is the reinstall, so
`ws1ai rollback` gives the app back.

    python -m flows.license_reclamation --help
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

import polars as pl
from prefect import State, flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NONE
from prefect.states import Completed

from flows._govern import govern_and_act
from flows._params import confined, not_after_today, refuse
from models.registry import load_model
from models.usage import UsageConfig, UsageModel, install_features, train_usage
from models.usage import candidates as usage_candidates
from tasks.apps import LicenseInputs, read_license_inputs
from ws1ai.governance.config import RolloutMode
from ws1ai.policies.licenses import (
    RULE_VERSION,
    ReclaimRules,
    candidates_from_frame,
    idle_rule_candidates,
    reclamation_actions,
    savings_by_app,
    select_candidates,
    usage_trust_problems,
)
from ws1ai.settings import WorkerSettings

__all__ = [
    "IN_RUN_USAGE_CONFIG",
    "MIN_IN_RUN_HISTORY_DAYS",
    "Source",
    "license_reclamation",
    "train_on_tenant",
]

# In-run training: four weeks of history per snapshot (a tenant's usage export is often 60-90 days), a
# snapshot a week, labels from the 30 days after each snapshot.
IN_RUN_USAGE_CONFIG = UsageConfig(min_history_days=28, snapshot_every_days=7)
# The first snapshot needs its four weeks before it and 30 labelled days after it.
MIN_IN_RUN_HISTORY_DAYS = IN_RUN_USAGE_CONFIG.min_history_days + IN_RUN_USAGE_CONFIG.horizon_days + 1


class Source(NamedTuple):
    candidates: pl.DataFrame
    decided_by: str  # model, model-in-run or rule
    version: str
    refusal: tuple[str, ...] = ()  # why an in-run model may not act (empty: it may)


def train_on_tenant(
    devices: pl.DataFrame, apps: pl.DataFrame, installs: pl.DataFrame, usage: pl.DataFrame, as_of: date
) -> tuple[UsageModel, list[str]]:
    """The usage model trained on the tenant's own usage up to `as_of` and why it may not act (empty: it
    may), judged on its held-out installs. Raises ValueError if it cannot be trained at all."""
    tables = {
        "devices": devices,
        "apps": apps,
        "app_installs": installs,
        "app_usage": usage.filter(pl.col("date") <= as_of),
    }
    model, valid = train_usage(tables, IN_RUN_USAGE_CONFIG)
    held_out = valid.filter(pl.col("protected_by").is_null())
    reclaimed = held_out.filter(pl.col("p_use") <= pl.Series(model.thresholds(held_out)))
    problems = usage_trust_problems(held_out.height, reclaimed.height, int(reclaimed["used_next"].sum()))
    return model, problems


def _history_days(usage: pl.DataFrame, as_of: date) -> int:
    first = usage.filter(pl.col("date") <= as_of).get_column("date").min()
    return (as_of - first).days + 1 if isinstance(first, date) else 0


@task(name="find-reclamation-candidates", cache_policy=NONE)  # frames: hashing them buys nothing
def find_candidates(
    inputs: LicenseInputs,
    rules: ReclaimRules,
    candidates_path: str | None,
    usage_model_path: str | None,
    train_in_run: bool = True,
) -> Source:
    """The candidate list, who decided (`model`, `model-in-run` or the stand-in `rule`) and the version.

    Sources, first that applies: a trained usage model (`ws1ai models train usage`), scored here on the
    fleet just read; a candidate file the model wrote earlier (`ws1ai models score usage`); a usage model
    trained here on the tenant's own history when it is long enough; the stand-in rule.
    """
    log = get_run_logger()
    if usage_model_path:
        model, version = _load_usage_model(usage_model_path)
        return Source(_score(model, inputs), "model", version)
    if candidates_path:
        found = candidates_from_frame(pl.read_parquet(candidates_path))
        # The model scored an earlier snapshot: keep only installs that still exist and still cost money.
        paid = inputs.apps.filter(pl.col("license_cost_usd") > 0).select("app_id")
        live = inputs.installs.select("device_id", "app_id").join(paid, on="app_id")
        kept = found.join(live, on=["device_id", "app_id"], how="semi")
        return Source(kept, "model", Path(candidates_path).name)
    history = _history_days(inputs.usage, inputs.as_of)
    why = f"{history} days of usage history, in-run training needs {MIN_IN_RUN_HISTORY_DAYS}"
    if train_in_run and history >= MIN_IN_RUN_HISTORY_DAYS:
        try:
            model, problems = train_on_tenant(
                inputs.devices, inputs.apps, inputs.installs, inputs.usage, inputs.as_of
            )
        except ValueError as exc:
            why = f"in-run training failed: {exc}"
        else:
            version = f"usage-tenant-{inputs.as_of.isoformat()}"
            if problems:
                # Observe-only: a thin model must not reclaim, and the rougher rule is no better bet.
                return Source(_score(model, inputs).clear(), "model-in-run", version, tuple(problems))
            log.warning(
                "no usage_model_path: decided by a usage model trained in this run on the tenant's own %d "
                "days of usage (%s, reclaim when P(use in 30 days) <= %.3f). Pass usage_model_path for a "
                "vetted model from `ws1ai models train usage`.",
                history,
                version,
                model.threshold,
            )
            return Source(_score(model, inputs), "model-in-run", version)
    elif not train_in_run:
        why = "in-run training switched off"
    log.warning("deciding with the stand-in idle rule %s (%s)", RULE_VERSION, why)
    found = idle_rule_candidates(
        inputs.installs,
        inputs.usage,
        inputs.apps,
        inputs.devices,
        as_of=inputs.as_of,
        rules=rules,
        window_start=inputs.window_start,
    )
    return Source(found, "rule", RULE_VERSION)


def _score(model: UsageModel, inputs: LicenseInputs) -> pl.DataFrame:
    features = install_features(inputs.devices, inputs.apps, inputs.installs, inputs.usage, [inputs.as_of])
    return candidates_from_frame(usage_candidates(model, features))


def _load_usage_model(path: str) -> tuple[UsageModel, str]:
    estimators, card = load_model(path, "usage")  # refuses another kind, schema or data contract
    return UsageModel.restore(estimators, card.params), card.model_version or Path(path).name


@flow(name="license-reclamation", log_prints=True)
def license_reclamation(
    mode: RolloutMode = RolloutMode.APPROVE,
    dry_run: bool = False,
    min_idle_days: int = 60,
    grace_days: int = 30,
    min_confidence: float = 0.5,
    max_devices: int = 200,
    lookback_days: int = 180,
    as_of: date | None = None,
    usage_model_path: str | None = None,
    candidates_path: str | None = None,
    train_in_run: bool = True,
    notify_users: bool = True,
    run_key: str | None = None,
    approval_timeout_seconds: int | None = None,
) -> State[Any]:
    """Reclaim idle paid licences across the fleet, after approval of the batch and its monthly saving."""
    log = get_run_logger()
    try:  # parameters narrow a run, never widen it: checked before anything is read
        usage_model_path = confined(usage_model_path, "usage_model_path", model=True)
        candidates_path = confined(candidates_path, "candidates_path")
        # A later as_of would count idle days that have not passed yet: more reclaims, false rationales.
        as_of = not_after_today(as_of, "as_of") if as_of is not None else None
    except ValueError as exc:
        return refuse(exc)
    # Thresholds may only make the run propose less: each is at least the worker's floor.
    min_idle_days, grace_days, min_confidence, raised = WorkerSettings().reclaim_floors(
        min_idle_days, grace_days, min_confidence
    )
    for note in raised:
        log.warning("held to the worker's floors: %s", note)
    inputs = read_license_inputs(lookback_days, as_of)
    rules = ReclaimRules(min_idle_days=min_idle_days, grace_days=grace_days)
    found, decided_by, version, refusal = find_candidates(
        inputs, rules, candidates_path, usage_model_path, train_in_run
    )
    if refusal:
        message = (
            f"observe-only, nothing proposed: the usage model trained in this run ({version}) may not act "
            f"({'; '.join(refusal)})"
        )
        create_markdown_artifact(
            key="license-reclamation-trust",
            markdown=f"### Observe-only: usage model `{version}` may not act\n\n"
            + "\n".join(f"- {why}" for why in refusal)
            + "\n\nNothing was proposed. Pass `usage_model_path` for a vetted model from "
            "`ws1ai models train usage` (see models/README.md, trust floor).",
            description="Why licence reclamation proposed nothing",
        )
        log.warning("%s", message)
        return Completed(name="SKIPPED", message=message)
    log.info("candidates decided by %s %s: %d", decided_by, version, found.height)
    batch = select_candidates(found, min_confidence=min_confidence, max_devices=max_devices)
    if batch.is_empty():
        return Completed(
            name="SKIPPED",
            message=f"no reclaimable licences ({found.height} candidates; decided by {decided_by} {version})",
        )
    # One decision per month: a re-run of the same month's batch is the same actions (same correlation ids).
    run_key = run_key or f"license-reclamation:{inputs.as_of:%Y-%m}"
    actions = reclamation_actions(
        batch,
        inputs.app_info,
        run_key=run_key,
        decided_by="rule" if decided_by == "rule" else "model",
        model_version=version,
        notify=notify_users,
    )
    names = {app_id: info.name for app_id, info in inputs.app_info.items()}
    report = savings_by_app(batch, names)
    total = round(sum(float(str(r["monthly_saving_usd"])) for r in report), 2)
    devices = batch.get_column("device_id").n_unique()
    create_table_artifact(
        key="license-reclamation-savings",
        table=[
            {**row, "decided_by": decided_by, "model_version": version}
            for row in [
                *report,
                {"app_id": "", "app": "TOTAL", "devices": devices, "monthly_saving_usd": total},
            ]
        ],
        description=(
            f"Licence reclamation as of {inputs.as_of} ({decided_by} {version}; {mode}"
            f"{', dry run' if dry_run else ''}): {batch.height} installs on {devices} devices, "
            f"${total:,.2f}/month if approved and executed"
        ),
    )
    log.info("proposing %d reclaims on %d devices, $%.2f/month", batch.height, devices, total)
    return govern_and_act(
        actions,
        title=(
            f"Licence reclamation: {batch.height} idle paid installs on {devices} devices, "
            f"saves ${total:,.2f}/month"
        ),
        mode=mode,
        dry_run=dry_run,
        approval_timeout_seconds=approval_timeout_seconds,
    )


def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", type=RolloutMode, default=RolloutMode.APPROVE, choices=list(RolloutMode))
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--min-idle-days", type=int, default=60)
    parser.add_argument("--max-devices", type=int, default=200)
    parser.add_argument("--usage-model", dest="usage_model_path", help="from `ws1ai models train usage`")
    parser.add_argument("--candidates", dest="candidates_path", help="from `ws1ai models score usage`")
    parser.add_argument(
        "--no-train-in-run",
        dest="train_in_run",
        action="store_false",
        help="without a model: use the stand-in rule instead of training on the tenant's history",
    )
    args = parser.parse_args()
    license_reclamation(
        mode=args.mode,
        dry_run=args.dry_run,
        min_idle_days=args.min_idle_days,
        max_devices=args.max_devices,
        usage_model_path=args.usage_model_path,
        candidates_path=args.candidates_path,
        train_in_run=args.train_in_run,
    )


if __name__ == "__main__":
    _main()
