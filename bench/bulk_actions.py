"""Benchmark: 10,000 push reminders and 10,000 tag adds through the bulk endpoints, beside per-device calls.

Starts the sandbox tenant on 127.0.0.1 (its own process, uvicorn, random port) with N devices and the server
throttle at `--sandbox-throttle` requests/minute (default 180, the sandbox's default), and a UEM client whose
limiter is configured the same (`--limit`). Then, in the same run:

- **bulk**: `messages.bulk_push` (bulkpush by serial number) and `tags.bulk_add_devices` over the whole
  fleet, in batches of `BULK_BATCH_SIZE`; serial numbers and ids come from one search sweep (counted apart);
- **per device**: `messages.push` and `tags.add_devices([id])`, one call per device, on a sample
  (`--sample`, default 300; 10,000 per-device calls would take about 55 min at 180/min), extrapolated to the
  fleet as measured calls/device x N and seconds/device x N.

Then the same two writes at the **executor level**, as a flow sends them: one governed action of 10,000
targets each through `execute_actions` (in-memory audit store) and `tasks.actions.ActionExecutor` (serial
numbers from the executor's own device sweep, tag members read first, per-target outcomes recorded, device
notes as the tier says: none for low tier), against the executor's per-device path (`bulk=False`: one push
per device, one unbatched tag call, and a note per device on every tier, as before bulk execution) on a
sample (`--executor-sample`, default 150), extrapolated the same way.

Prints API calls, wall time, per-value outcomes, 429s seen, and the ratios. Goal (issue 11): <= 100 calls for
each of the two actions at fleet size. No assertions.

    .venv/bin/python bench/bulk_actions.py --devices 10000 --limit 180 --sandbox-throttle 180 --sample 300
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from tasks.actions import ActionExecutor
from ws1ai.governance.actions import Action, ActionKind, RiskTier
from ws1ai.governance.audit_records import MemoryAuditStore
from ws1ai.governance.config import GovernanceSettings
from ws1ai.governance.execute import ExecutionReport, execute_actions
from ws1ai.sandbox import SandboxState, create_app
from ws1ai.sandbox.server import serve_in_background
from ws1ai.settings import UEMSettings
from ws1ai.uem import UEMClient
from ws1ai.uem.bulk import BULK_BATCH_SIZE, BulkResult
from ws1ai.uem.ratelimit import clear_registry
from ws1ai.uem.schemas import PushMessage

REMINDER = PushMessage(message_body="Your device is out of compliance: please update it today.")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=10_000, help="fleet size to seed (and to act on)")
    parser.add_argument("--seed", type=int, default=7, help="fleet simulator seed")
    parser.add_argument("--limit", type=int, default=180, help="client rate limit, requests/minute")
    parser.add_argument("--sandbox-throttle", type=int, default=180, help="server throttle, requests/minute")
    parser.add_argument("--sample", type=int, default=300, help="devices acted on one call at a time")
    parser.add_argument(
        "--executor-sample", type=int, default=150, help="devices for the executor's per-device path"
    )
    parser.add_argument("--serve-only", action="store_true", help=argparse.SUPPRESS)  # the child process
    return parser.parse_args()


def settings_for(url: str, limit: int) -> UEMSettings:
    return UEMSettings(
        _env_file=None,
        base_url=url,
        token_url=f"{url}/connect/token",
        rate_limit_per_minute=limit,
        daily_quota_reserve=100,
    )


def serve_only(args: argparse.Namespace) -> None:
    """Child process: seed, serve on loopback, announce the URL, run until the parent closes our stdin."""
    state = SandboxState.seeded(
        devices=args.devices, seed=args.seed, days=1, rate_limit_per_minute=args.sandbox_throttle
    )
    with serve_in_background(create_app(state)) as url:
        print(f"READY {url}", flush=True)
        sys.stdin.read()


@contextmanager
def sandbox() -> Iterator[str]:
    """The tenant in its own process, so the client's timing shares no GIL with the server."""
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve-only", *sys.argv[1:]],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdin is not None
    try:
        line = child.stdout.readline()
        if not line.startswith("READY "):
            raise RuntimeError(f"sandbox process did not start: {line!r}")
        yield line.split()[1]
    finally:
        child.stdin.close()
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()


@dataclass
class Run:
    calls: int
    seconds: float
    devices: int
    rate_limited: int
    accepted: int | None = None
    failed: int | None = None

    @property
    def calls_per_device(self) -> float:
        return self.calls / max(1, self.devices)

    @property
    def seconds_per_device(self) -> float:
        return self.seconds / max(1, self.devices)


def measured(uem: UEMClient, devices: int, work: Callable[[], BulkResult | None]) -> Run:
    calls, limited = uem.stats.requests, uem.stats.rate_limited
    start = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - start
    return Run(
        calls=uem.stats.requests - calls,
        seconds=seconds,
        devices=devices,
        rate_limited=uem.stats.rate_limited - limited,
        accepted=result.accepted_items if result is not None else None,
        failed=result.failed_items if result is not None else None,
    )


def per_device(uem: UEMClient, ids: list[int], send: Callable[[int], object]) -> BulkResult | None:
    for device_id in ids:
        send(device_id)
    return None


@dataclass
class Governed:
    """One governed action through the executor: calls, time, and the targets' recorded states."""

    run: Run
    states: dict[str, int]
    notes: int


def governed(uem: UEMClient, executor: ActionExecutor, action: Action, url: str) -> Governed:
    notes_before = _notes(url)
    report: list[ExecutionReport] = []

    def work() -> None:
        report.append(execute_actions([action], executor, store=MemoryAuditStore()))

    run = measured(uem, len(action.targets), lambda: work() or None)
    states: dict[str, int] = {}
    for state in report[0].targets.get(action.correlation_id, {}).values():
        states[state] = states.get(state, 0) + 1
    return Governed(run, states, _notes(url) - notes_before)


def _notes(url: str) -> int:
    with httpx.Client(base_url=url) as control:
        entries = control.get("/_sandbox/ledger").json()["entries"]
    return sum(1 for e in entries if e["operation"] == "AddNote")


def executor_level(
    url: str, args: argparse.Namespace, ids: list[int]
) -> dict[str, tuple[Governed, Governed]]:
    """10,000-target push and tag actions through governance, bulk vs the per-device path on a sample."""
    plain = GovernanceSettings(_env_file=None)  # type: ignore[call-arg]  # low tier: no device notes
    noted = plain.model_copy(update={"device_notes": dict.fromkeys(RiskTier, True)})
    sample = ids[: args.executor_sample]
    out: dict[str, tuple[Governed, Governed]] = {}
    clear_registry()
    with UEMClient(settings_for(url, args.limit)) as uem:
        tags = [uem.tags.create(f"ws1ai bench executor {n}", 570).value for n in ("bulk", "per-device")]
        assert tags[0] is not None and tags[1] is not None

        def push(targets: list[int], key: str) -> Action:
            body = {"channel": "push", "body": REMINDER.message_body}
            return Action(run_key=key, kind=ActionKind.MESSAGE_SEND, targets=targets, payload=body)

        def tag(targets: list[int], key: str, tag_id: int) -> Action:
            return Action(run_key=key, kind=ActionKind.TAG_ADD, targets=targets, payload={"tag_id": tag_id})

        print(f"executor: governed push reminder to {len(ids):,} devices (bulk) ...", flush=True)
        push_bulk = governed(uem, ActionExecutor(uem, settings=plain), push(ids, "bench-push"), url)
        print(f"executor: governed tag add on {len(ids):,} devices (bulk) ...", flush=True)
        tag_bulk = governed(uem, ActionExecutor(uem, settings=plain), tag(ids, "bench-tag", tags[0]), url)
        per_device = ActionExecutor(uem, settings=noted, bulk=False)
        print(f"executor: per-device path, push to {len(sample)} devices with notes ...", flush=True)
        push_one = governed(uem, per_device, push(sample, "bench-push-one"), url)
        print(f"executor: per-device path, tag {len(sample)} devices with notes ...", flush=True)
        tag_one = governed(uem, per_device, tag(sample, "bench-tag-one", tags[1]), url)
    out["push reminders"] = (push_bulk, push_one)
    out["tag adds"] = (tag_bulk, tag_one)
    return out


def print_executor(results: dict[str, tuple[Governed, Governed]], n: int) -> None:
    print()
    print("executor level (governed execute_actions + ActionExecutor, in-memory audit store)")
    print(f"{'':32}{'bulk (measured)':>18}{'per device (sample)':>22}{'per device x ' + format(n, ','):>24}")
    for name, (bulk, one) in results.items():
        print(f"{name:<32}{'':>18}{'':>22}{'(extrapolated)':>24}")
        print(f"  targets{'':<24}{bulk.run.devices:>18,}{one.run.devices:>22,}{n:>24,}")
        print(
            f"  API calls{'':<22}{bulk.run.calls:>18,}{one.run.calls:>22,}"
            f"{one.run.calls_per_device * n:>24,.0f}"
        )
        print(f"  device notes written{'':<11}{bulk.notes:>18,}{one.notes:>22,}")
        print(
            f"  wall time{'':<22}{bulk.run.seconds:>16.1f} s{one.run.seconds:>20.1f} s"
            f"{one.run.seconds_per_device * n / 60:>20.1f} min"
        )
        print(f"  429s seen by the client{'':<8}{bulk.run.rate_limited:>18}{one.run.rate_limited:>22}")
        states = ", ".join(f"{v:,} {k}" for k, v in sorted(bulk.states.items()))
        print(f"  recorded target states (bulk): {states}")
    for name, (bulk, one) in results.items():
        calls_ratio = one.run.calls_per_device * n / max(1, bulk.run.calls)
        time_ratio = one.run.seconds_per_device * n / max(1e-9, bulk.run.seconds)
        print(
            f"executor ratio per-device:bulk, {name:<15} calls {calls_ratio:,.0f}x   wall time "
            f"{time_ratio:,.0f}x (per-device figures extrapolated from {one.run.devices} devices)"
        )
    goal = all(bulk.run.calls <= 100 for bulk, _ in results.values())
    print(f"goal <= 100 calls per 10,000-device action at the executor level: {'met' if goal else 'NOT met'}")


def main() -> None:
    args = parse_args()
    logging.basicConfig(level=logging.WARNING, format="  %(levelname)s %(name)s: %(message)s")
    if args.serve_only:
        serve_only(args)
        return
    print(
        f"seeding a {args.devices:,}-device sandbox (seed {args.seed}, throttle {args.sandbox_throttle}/min)",
        flush=True,
    )
    t0 = time.perf_counter()
    with sandbox() as url:
        print(
            f"  serving at {url} after {time.perf_counter() - t0:.1f} s; client limit {args.limit}/min, "
            f"batches of {BULK_BATCH_SIZE}",
            flush=True,
        )
        with UEMClient(settings_for(url, args.limit)) as uem:
            start = time.perf_counter()
            fleet = [(d.device_id, d.serial_number) for d in uem.devices.iter_search()]
            fleet_ids = [i for i, s in fleet if i is not None and s][: args.devices]
            serials = [s for i, s in fleet if i is not None and s][: args.devices]
            sweep = Run(uem.stats.requests, time.perf_counter() - start, len(serials), uem.stats.rate_limited)
            bulk_tag = uem.tags.create("ws1ai bench bulk", 570).value
            sample_tag = uem.tags.create("ws1ai bench per-device", 570).value
            assert bulk_tag is not None and sample_tag is not None
            print(f"sweep for serial numbers and ids: {sweep.calls} calls, {sweep.seconds:.1f} s", flush=True)

            print(f"bulk: push reminders to {len(serials):,} devices ...", flush=True)
            push_bulk = measured(
                uem, len(serials), lambda: uem.messages.bulk_push("Serialnumber", serials, REMINDER)
            )
            print(f"bulk: tag {len(fleet_ids):,} devices ...", flush=True)
            tag_bulk = measured(uem, len(fleet_ids), lambda: uem.tags.bulk_add_devices(bulk_tag, fleet_ids))

        clear_registry()  # a fresh limiter: the per-device runs get the same budget, not what bulk left over
        sample = fleet_ids[: args.sample]
        with UEMClient(settings_for(url, args.limit)) as uem:
            print(f"per device: push to {len(sample)} devices, one call each ...", flush=True)
            push_one = measured(
                uem, len(sample), lambda: per_device(uem, sample, lambda d: uem.messages.push(d, REMINDER))
            )
            print(f"per device: tag {len(sample)} devices, one call each ...", flush=True)
            tag_one = measured(
                uem,
                len(sample),
                lambda: per_device(uem, sample, lambda d: uem.tags.add_devices(sample_tag, [d])),
            )
        executor_results = executor_level(url, args, fleet_ids)
        with httpx.Client(base_url=url) as control:
            counts: dict[str, Any] = control.get("/_sandbox/requests").json()

    n = len(serials)
    print()
    print(f"{'':32}{'bulk (measured)':>18}{'per device (sample)':>22}{'per device x ' + format(n, ','):>24}")
    for name, bulk, one in (("push reminders", push_bulk, push_one), ("tag adds", tag_bulk, tag_one)):
        print(f"{name:<32}{'':>18}{'':>22}{'(extrapolated)':>24}")
        print(f"  devices{'':<24}{bulk.devices:>18,}{one.devices:>22,}{n:>24,}")
        print(f"  API calls{'':<22}{bulk.calls:>18,}{one.calls:>22,}{one.calls_per_device * n:>24,.0f}")
        print(
            f"  API calls per device{'':<11}{bulk.calls_per_device:>18.4f}{one.calls_per_device:>22.4f}"
            f"{one.calls_per_device:>24.4f}"
        )
        print(
            f"  wall time{'':<22}{bulk.seconds:>16.1f} s{one.seconds:>20.1f} s"
            f"{one.seconds_per_device * n / 60:>20.1f} min"
        )
        print(f"  429s seen by the client{'':<8}{bulk.rate_limited:>18}{one.rate_limited:>22}")
        print(f"  accepted / failed values{'':<7}{f'{bulk.accepted:,} / {bulk.failed:,}':>18}")
    print()
    print(
        f"search sweep for serial numbers and ids (bulk side only): {sweep.calls} calls, "
        f"{sweep.seconds:.1f} s"
    )
    print(
        f"sandbox: {counts.get('total', '?')} requests answered, "
        f"{counts.get('throttled_429', '?')} throttled (429)"
    )
    for name, bulk, one in (("push reminders", push_bulk, push_one), ("tag adds", tag_bulk, tag_one)):
        calls_ratio = one.calls_per_device * n / max(1, bulk.calls)
        time_ratio = one.seconds_per_device * n / max(1e-9, bulk.seconds)
        print(
            f"ratio per-device:bulk, {name:<15} calls {calls_ratio:,.0f}x   wall time {time_ratio:,.0f}x "
            f"(per-device figures extrapolated from {one.devices} devices)"
        )
    print("goal: <= 100 calls for each action at fleet size")
    print_executor(executor_results, n)


if __name__ == "__main__":
    main()
