"""Predictive health: sweep the fleet and its telemetry → score failure risk → decide → govern → act → record.

Reads are bulk (device search pages and one telemetry report export); scoring is one frame operation; the
decision is the pure policy in `ws1ai.policies.health`: a failing battery or logic board, or a critical user,
gets a replacement (ServiceNow incident with the full context, `Status` = `Pending Replacement`, an email to
the user); a storage problem gets the clean-up script (or a reminder where the platform has none). Every
write passes through governance. The run leaves a decision table and a PNG of the risk distribution.

    python -m flows.predictive_health    # approve mode, against the tenant in the environment
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on servers and workers

import matplotlib.pyplot as plt  # after the backend is chosen
import polars as pl
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.states import Completed

from flows._govern import govern_and_act
from flows._params import confined, refuse
from models.health import HealthConfig, HealthModel, score_health, train_health
from models.metrics import ranking_metrics, threshold_metrics
from models.registry import load_model
from tasks.telemetry import (
    infer_failures,
    read_fleet,
    read_status_attributes,
    resolve_cleanup_scripts,
)
from ws1ai.governance.config import RolloutMode
from ws1ai.policies.health import (
    DEFAULT_CRITICAL_ROLES,
    STATUS_ATTRIBUTE,
    DeviceRisk,
    HealthDecision,
    HealthVerdict,
    ModelEvidence,
    TrustFloor,
    decide_health,
    flag_devices,
    health_actions,
    trust_problems,
)
from ws1ai.settings import WorkerSettings

__all__ = ["FittedModel", "health_model", "predictive_health", "validation_evidence"]

REPORT_DIR = Path(".ws1ai") / "reports"


@dataclass(frozen=True)
class FittedModel:
    """The model to score with (None: none could be trained) and why it may not act (empty: it may)."""

    model: HealthModel | None
    version: str
    refusal: list[str] = field(default_factory=list)
    evidence: ModelEvidence | None = None


@task(name="health-model", cache_policy=NO_CACHE)
def health_model(
    model_path: str | None,
    devices: pl.DataFrame,
    telemetry: pl.DataFrame,
    horizon_days: int,
    max_iter: int,
    floor: TrustFloor | None = None,
) -> FittedModel:
    """The registry's model at `model_path`, or one trained here on the tenant's own (bounded) history.

    A model trained here must clear the trust floor (`ws1ai.policies.health.trust_problems`): enough
    inferred failures to train on and to validate with, and validated quality at its own threshold. When
    it does not, `refusal` says why and the flow proposes nothing.
    """
    log = get_run_logger()
    floor = floor or TrustFloor()
    if model_path:
        estimators, card = load_model(model_path, "health")
        model = HealthModel.restore(estimators, card.features, card.params)
        if model.config.horizon_days != horizon_days:
            log.warning(
                "model %s predicts %d days ahead, not %d: using the model's horizon",
                card.model_version,
                model.config.horizon_days,
                horizon_days,
            )
        return FittedModel(model, card.model_version)
    last = telemetry["date"].max()
    assert isinstance(last, dt.date)
    version = f"health-tenant-{last.isoformat()}"
    failures = infer_failures(devices, telemetry)
    log.warning(
        "no model_path: training a health model in this run on the tenant's own history (%d devices, %d "
        "telemetry rows, %d failures inferred from devices that went quiet and were replaced). These are "
        "proxy labels; pass model_path for a vetted model from `ws1ai models train health`.",
        devices.height,
        telemetry.height,
        failures.height,
    )
    if failures.height < floor.min_failures:
        # Too few to train on, let alone validate: do not spend the CPU on a model that may not act.
        why = (
            f"{failures.height} failures inferred from the tenant's history; at least {floor.min_failures} "
            "are needed before a model trained in the run may propose anything"
        )
        return FittedModel(None, version, [why])
    cfg = HealthConfig(horizon_days=horizon_days, max_iter=max_iter)
    try:
        model, valid = train_health({"devices": devices, "telemetry": telemetry, "failures": failures}, cfg)
    except ValueError as exc:
        return FittedModel(None, version, [f"cannot train on this tenant's history: {exc}"])
    evidence = validation_evidence(model, valid, failures.height)
    return FittedModel(model, version, trust_problems(evidence, floor), evidence)


def validation_evidence(model: HealthModel, valid: pl.DataFrame, failures: int) -> ModelEvidence:
    """What the model's validation period says about it (weights count sampled negatives, as in training)."""
    y, s, w = valid["label"].to_numpy(), valid["score"].to_numpy(), valid["w"].to_numpy()
    cfg = model.config
    return ModelEvidence(
        failures=failures,
        validation_failures=valid.filter(pl.col("label") == 1)["device_id"].n_unique(),
        pr_auc=ranking_metrics(y, s, w)["pr_auc"],
        precision_at_threshold=threshold_metrics(y, s, model.threshold, w)["precision"],
        break_even_precision=cfg.cost_false_alarm / (cfg.cost_false_alarm + cfg.cost_miss),
    )


def publish_refusal(fitted: FittedModel) -> str:
    """The trust artifact of an observe-only run; returns the one-line reason for the run's state."""
    reason = "; ".join(fitted.refusal)
    ev = fitted.evidence
    facts = (
        ""
        if ev is None
        else f"\n\nValidation: {ev.failures} failures, {ev.validation_failures} in the validation period, "
        f"average precision {ev.pr_auc if ev.pr_auc is None else round(ev.pr_auc, 3)}, precision at the "
        f"threshold {ev.precision_at_threshold:.1%} (break-even {ev.break_even_precision:.1%})."
    )
    create_markdown_artifact(
        key="predictive-health-trust",
        markdown=f"### Observe-only: model `{fitted.version}` may not act\n\n"
        + "\n".join(f"- {why}" for why in fitted.refusal)
        + facts
        + "\n\nNothing was proposed. Pass `model_path` for a vetted model from `ws1ai models train health` "
        "(see models/README.md, trust floor).",
        description="Why predictive health proposed nothing",
    )
    return f"observe-only, nothing proposed: model {fitted.version} may not act ({reason})"


@task(name="score-fleet", cache_policy=NO_CACHE)
def score_fleet(
    model: HealthModel, version: str, devices: pl.DataFrame, telemetry: pl.DataFrame
) -> tuple[pl.DataFrame, dt.date]:
    as_of = telemetry["date"].max()
    assert isinstance(as_of, dt.date)
    return score_health(model, devices, telemetry, as_of, version), as_of


def device_risks(
    flagged: pl.DataFrame, devices: pl.DataFrame, telemetry: pl.DataFrame, statuses: dict[int, str]
) -> list[DeviceRisk]:
    """Flagged scores joined to the device's facts and its latest telemetry (what the incident shows)."""
    last = telemetry["date"].max()
    recent = (
        telemetry.sort("date")
        .group_by("device_id")
        .agg(
            pl.col("battery_health_pct").drop_nulls().last().alias("battery_health_pct"),
            pl.col("storage_used_pct").drop_nulls().last().alias("storage_used_pct"),
            pl.col("crash_count")
            .filter(pl.col("date") > pl.lit(last) - dt.timedelta(days=7))
            .sum()
            .alias("crashes_last_7d"),
        )
    )
    rows = flagged.join(devices, on="device_id", how="left").join(recent, on="device_id", how="left")
    out = []
    for r in rows.iter_rows(named=True):
        facts = {k: v for k, v in r.items() if v is not None and k in DeviceRisk.model_fields}
        out.append(DeviceRisk(**facts, current_status=statuses.get(int(r["device_id"]))))
    return out


@task(name="decide-health", cache_policy=NO_CACHE)
def decide(
    risks: list[DeviceRisk], critical_roles: list[str], cleanup_platforms: list[str]
) -> list[tuple[DeviceRisk, HealthVerdict]]:
    return [
        (r, decide_health(r, critical_roles=critical_roles, cleanup_platforms=cleanup_platforms))
        for r in risks
    ]


def plot_risk(scored: pl.DataFrame, cut: float | None, as_of: dt.date, out: Path) -> Path:
    """Histogram of failure probabilities (log counts: the healthy majority would hide the tail)."""
    fig, ax = plt.subplots(figsize=(7, 3.5), dpi=90)
    ax.hist(scored["failure_probability"].to_numpy(), bins=50, range=(0.0, 1.0), color="#4477aa")
    ax.set_yscale("log")
    if cut is not None:
        ax.axvline(cut, color="#cc3311", linestyle="--", label=f"action cut {cut:.2f}")
        ax.legend()
    horizon = scored["horizon_days"].max()
    ax.set_xlabel(f"probability of failure within {horizon!s} days")
    ax.set_ylabel("devices")
    ax.set_title(f"Fleet failure risk as of {as_of} ({scored.height} devices)")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


@flow(name="predictive-health", log_prints=True)
def predictive_health(
    mode: RolloutMode = RolloutMode.APPROVE,
    dry_run: bool = False,
    threshold: float | None = None,
    review_budget: int | None = None,
    horizon_days: int = 14,
    model_path: str | None = None,
    max_devices: int = 5000,
    history_days: int = 120,
    max_train_iter: int = 60,
    critical_roles: list[str] | None = None,
    cleanup_scripts: dict[str, str] | None = None,
    run_key: str | None = None,
    report_dir: str | None = None,
    approval_timeout_seconds: int | None = None,
) -> State[Any]:
    """Act on devices at or above the model's validated threshold (`threshold` may only raise it), at most
    the `review_budget` riskiest of them. A model trained in the run that is too thin to trust acts on
    nothing: the run ends `SKIPPED` (observe-only) with the reason in its message and an artifact."""
    log = get_run_logger()
    try:  # parameters narrow a run, never widen it: checked before anything is read or written
        model_path = confined(model_path, "model_path", model=True)
        report_dir = confined(report_dir, "report_dir")  # the worker's own REPORT_DIR needs no check
        cleanup_scripts = WorkerSettings().choose("cleanup_scripts", cleanup_scripts)
        # A critical user's flagged device is replaced rather than cleaned up: a caller may name fewer
        # critical roles than the policy's, never more.
        if extra := sorted(set(critical_roles or ()) - set(DEFAULT_CRITICAL_ROLES)):
            allowed = sorted(DEFAULT_CRITICAL_ROLES)
            raise ValueError(f"critical_roles {extra} are not among the policy's critical roles {allowed}")
    except ValueError as exc:
        return refuse(exc)
    devices, telemetry = read_fleet(max_devices, history_days)
    if telemetry.height == 0:
        return Completed(name="SKIPPED", message="no telemetry to score")
    fitted = health_model(model_path, devices, telemetry, horizon_days, max_train_iter)
    if fitted.model is None:
        message = publish_refusal(fitted)
        log.warning("%s", message)
        return Completed(name="SKIPPED", message=message)
    model, version = fitted.model, fitted.version
    scored, as_of = score_fleet(model, version, devices, telemetry)
    # The model's validated threshold is a floor: a caller may ask for a stricter cut, never a looser one,
    # and the review budget only caps the list (it never fills it with devices below the cut).
    cut = model.threshold if threshold is None else max(threshold, model.threshold)
    if threshold is not None and threshold < model.threshold:
        log.warning("threshold %.4f is below the model's validated %.4f: using %.4f", threshold, cut, cut)
    png = plot_risk(scored, cut, as_of, Path(report_dir or REPORT_DIR) / f"predictive-health-{as_of}.png")
    # A model that may not act proposes nothing: the plot is still published for the operator to look at.
    flagged = (
        scored.clear() if fitted.refusal else flag_devices(scored, threshold=cut, review_budget=review_budget)
    )
    above = int((scored["failure_probability"] >= cut).sum())
    encoded = base64.b64encode(png.read_bytes()).decode()
    budget = f", at most {review_budget}" if review_budget is not None else ""
    create_markdown_artifact(
        key="predictive-health-risk",
        markdown=f"![risk distribution](data:image/png;base64,{encoded})\n\n"
        f"{above} of {scored.height} devices at or above the validated threshold {cut:.4f}; "
        f"{flagged.height} proposed{budget}; model `{version}`; plot saved as `{png}`.",
        description=f"Failure risk distribution as of {as_of}",
    )
    if fitted.refusal:
        message = publish_refusal(fitted)
        log.warning("%s (%d of %d devices at or above its threshold)", message, above, scored.height)
        return Completed(name="SKIPPED", message=message)
    log.info("%d of %d devices flagged (model %s, as of %s)", flagged.height, scored.height, version, as_of)
    if flagged.height == 0:
        return Completed(name="SKIPPED", message="no device above the threshold")

    ids = [int(i) for i in flagged["device_id"].to_list()]
    statuses = read_status_attributes(STATUS_ATTRIBUTE, ids)
    scripts = resolve_cleanup_scripts(cleanup_scripts)
    risks = device_risks(flagged, devices, telemetry, statuses)
    decided = decide(risks, list(critical_roles or DEFAULT_CRITICAL_ROLES), sorted(scripts))
    create_table_artifact(
        key="predictive-health-decisions",
        table=[
            {
                "device": r.device_id,
                "probability": round(r.failure_probability, 4),
                "component": r.likely_component,
                "decision": v.decision.value,
                "reason": v.reason,
            }
            for r, v in decided
        ],
        description=f"Predictive health decisions ({mode}, {'dry run' if dry_run else 'live'}, "
        f"as of {as_of})",
    )
    # Same data, same decisions, same correlation ids: a re-run of today's sweep repeats nothing.
    actions = health_actions(
        decided, run_key=run_key or f"predictive-health:{as_of}", cleanup_scripts=scripts
    )
    if not actions:
        pending = sum(v.decision is HealthDecision.ALREADY_PENDING for _, v in decided)
        return Completed(name="SKIPPED", message=f"{pending} flagged device(s) already pending replacement")
    devices_acted_on = len({t for a in actions for t in a.targets})
    return govern_and_act(
        actions,
        title=f"Predictive health: {len(actions)} action(s) on {devices_acted_on} at-risk device(s)",
        mode=mode,
        dry_run=dry_run,
        approval_timeout_seconds=approval_timeout_seconds,
    )


if __name__ == "__main__":
    predictive_health()
