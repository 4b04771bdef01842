"""The benchmark command: the same y-websocket load against the Node reference and collab, side by side.

    .venv/bin/python -m bench.run [--target node|collab|both] [--quick] [...]

Each scenario runs against a fresh server process per target (node first, then collab), prints one table,
and everything is written as JSON to ``bench/results/``. Besides the fan-out sweep (one scenario per rate),
the join storm (`bench/join.py`), the long record opened after a restart (`bench/restart.py`) and typing at
the end of a long text (`bench/longtext.py`), each with its targets; ``--scenarios`` picks among them.
See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

from bench import join, longtext, report, restart
from bench.loadgen import LoadError, Measurement, Scenario, run_scenario
from bench.servers import BENCH_DIR, CollabServer, RunningServer, ServerError, node_versions, start_node

T = TypeVar("T")

# `rates`: the fan-out sweep (one scenario per rate); then the join storm, the record opened after a
# restart, and typing at the end of a long text (bench/join.py, bench/restart.py, bench/longtext.py).
SCENARIOS = ("rates", "join", "restart", "longtext")


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--target", choices=["node", "collab", "both"], default="both")
    parser.add_argument("--rooms", type=int, help="rooms (default 100; 20 with --quick)")
    parser.add_argument("--clients", type=int, default=10, help="clients per room, writers included")
    parser.add_argument("--writers", type=int, default=1, help="writers per room")
    parser.add_argument(
        "--rates",
        default="5,20,50",
        help="updates/s per writer, one scenario each; the first one is checked against the targets",
    )
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of load before measuring")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds measured")
    parser.add_argument("--drain", type=float, default=10.0, help="max seconds to wait for stragglers")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: only the first rate, 20 rooms unless --rooms, 1 s warm-up, 4 s measured",
    )
    parser.add_argument(
        "--no-deflate",
        dest="deflate",
        action="store_false",
        help="do not offer permessage-deflate (browsers always offer it)",
    )
    parser.add_argument(
        "--connections-per-user",
        type=int,
        default=20,
        help="collab: spread the peers over enough editors that none holds more connections than this",
    )
    parser.add_argument("--output", type=Path, help="JSON file (default bench/results/<time>.json)")
    parser.add_argument("--check", action="store_true", help="exit 1 when collab misses a target")
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"which to run, comma-separated, in this order: {','.join(SCENARIOS)} (default all)",
    )
    parser.add_argument(
        "--join-clients", type=int, help="join storm: clients (default 1000; 100 with --quick)"
    )
    parser.add_argument(
        "--restart-lengths",
        help="restart: updates per record, one record each (default 1000,10000; 200,2000)",
    )
    parser.add_argument("--longtext-chars", type=int, help="long text: its length (default 99000; 20000)")
    parser.add_argument("--longtext-keys", type=int, help="long text: keystrokes (default 400; 100 at 50/s)")
    args = parser.parse_args(argv)
    args.scenario_list = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    if not args.scenario_list or set(args.scenario_list) - set(SCENARIOS):
        parser.error(f"--scenarios: choose from {','.join(SCENARIOS)}")
    quick = args.quick
    args.join_clients = args.join_clients or (100 if quick else 1000)
    lengths = args.restart_lengths or ("200,2000" if quick else "1000,10000")
    args.restart_length_list = sorted(int(n) for n in lengths.split(",") if n.strip())
    args.longtext_chars = args.longtext_chars or (20_000 if quick else 99_000)
    args.longtext_keys = args.longtext_keys or (100 if quick else 400)
    args.longtext_rate = 50.0 if quick else 20.0
    args.rate_list = [float(rate) for rate in args.rates.split(",") if rate.strip()]
    if args.quick:
        args.rate_list = args.rate_list[:1]
        args.warmup, args.duration, args.drain = 1.0, 4.0, 5.0
    if args.rooms is None:
        args.rooms = 20 if args.quick else 100
    if args.clients < 2 or not 1 <= args.writers <= args.clients or not args.rate_list:
        parser.error("need at least 2 clients per room, 1..clients writers, and a rate")
    return args


def _event_loop_factory() -> tuple[Callable[[], asyncio.AbstractEventLoop] | None, str]:
    try:
        import uvloop
    except ImportError:
        return None, "asyncio"
    return uvloop.new_event_loop, f"uvloop {metadata.version('uvloop')}"


def _run_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    factory, _ = _event_loop_factory()
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coroutine)


def _run_target(server: RunningServer, scenario: Scenario, deflate: bool) -> Measurement:
    try:
        load = run_scenario(server.peer_urls, scenario, server.pid, origin=server.origin, deflate=deflate)
        measurement = _run_loop(load)
        if server.process.poll() is not None:
            raise ServerError(
                f"{server.name} exited with code {server.process.returncode} during the run; "
                f"log {server.log_path}"
            )
        return measurement
    finally:
        server.stop()


def _progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    targets = ["node", "collab"] if args.target == "both" else [args.target]
    workdir = Path(tempfile.mkdtemp(prefix="collab-bench-"))
    collab = CollabServer(workdir, args.connections_per_user)
    collab_failure: str | None = None
    started = time.strftime("%Y%m%d-%H%M%S")
    document: dict[str, Any] = {
        "started_at": started,
        "command": " ".join(["python -m bench.run", *sys.argv[1:]]),
        "machine": {
            "cpus": os.cpu_count(),
            "kernel": platform.release(),
            "python": platform.python_version(),
            "event_loop": _event_loop_factory()[1],
            "pycrdt": metadata.version("pycrdt"),
            "websockets": metadata.version("websockets"),
        },
        "node_reference": node_versions() if "node" in targets else None,
        "scenarios": [],
        "checks": [],
    }
    checks: list[tuple[str, bool]] = []
    summaries: list[dict[str, report.Summary | str]] = []
    failed = False
    try:
        for number, rate in enumerate(args.rate_list if "rates" in args.scenario_list else [], start=1):
            scenario = Scenario(
                args.rooms, args.clients, args.writers, rate, args.warmup, args.duration, args.drain
            )
            title = (
                f"Scenario {number}: {scenario.rooms} rooms x {scenario.clients_per_room} clients "
                f"({scenario.clients} peers), {scenario.writers_per_room} writer(s)/room at {rate:g} "
                f"updates/s each, {scenario.duration_seconds:g} s measured after "
                f"{scenario.warmup_seconds:g} s warm-up"
            )
            results: dict[str, report.Summary | str] = {}
            for target in targets:
                if target == "collab" and collab_failure is not None:
                    results[target] = f"skipped: {collab_failure}"
                    continue
                _progress(f"scenario {number}, {target}: starting the server")
                try:
                    server = (
                        start_node(args.rooms, args.clients, f"{started}-{number}", workdir)
                        if target == "node"
                        else collab.start(args.rooms, args.clients)
                    )
                    _progress(
                        f"scenario {number}, {target}: {scenario.clients} peers, "
                        f"{scenario.warmup_seconds + scenario.duration_seconds:g} s of load"
                    )
                    results[target] = report.summarize(_run_target(server, scenario, args.deflate), scenario)
                except ServerError as error:
                    results[target] = f"server failed: {error}"
                    if target == "collab":
                        collab_failure = "collab failed to start earlier in this run"
                except LoadError as error:
                    results[target] = f"load failed: {error}"
            print("\n" + report.table(title, results), flush=True)
            summaries.append(results)
            document["scenarios"].append(
                {
                    "scenario": asdict(scenario),
                    "results": {
                        name: r if isinstance(r, dict) else {"error": r} for name, r in results.items()
                    },
                }
            )
        checks = _checks(args.rate_list, summaries) if summaries else []
        checks += _other_scenarios(args, targets, document)
    finally:
        failed = any(isinstance(result, str) for results in summaries for result in results.values())
        failed = failed or document.get("failed", False)
        if failed:
            print(f"\nserver logs and database kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if checks:
        print("\nTargets")
        for text, met in checks:
            print(f"  [{'ok' if met else 'MISSED'}] {text}")
    document["checks"] = [{"check": text, "met": met} for text, met in checks]
    output = args.output or BENCH_DIR / "results" / f"{started}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    print(f"\nresults: {output}")
    if failed:
        return 2
    missed = any(not met for text, met in checks if text.startswith("collab"))
    return 1 if args.check and (missed or not any(t.startswith("collab") for t, _ in checks)) else 0


def _other_scenarios(
    args: argparse.Namespace, targets: list[str], document: dict[str, Any]
) -> list[tuple[str, bool]]:
    """The join storm, the restart and the long text, each side by side; their tables, JSON and checks."""
    checks: list[tuple[str, bool]] = []
    if "join" in args.scenario_list:
        _progress(f"join storm: {args.join_clients} clients")
        joined = join.run(args.join_clients, targets, connections_per_user=args.connections_per_user)
        print("\n" + join.table(args.join_clients, joined), flush=True)
        checks += [(f"collab: {text}", met) for text, met in join.checks(joined)]
        document["join"] = {"clients": args.join_clients, "results": joined}
        document["failed"] = any(isinstance(r, str) for r in joined.values())
    if "restart" in args.scenario_list:
        lengths = args.restart_length_list
        reopened: dict[str, dict[int, restart.Result] | str] = {}
        for target in targets:
            folder = Path(tempfile.mkdtemp(prefix="collab-bench-restart-"))
            try:
                reopened[target] = restart.run_target(target, lengths, folder, args.connections_per_user)
            except (ServerError, TimeoutError, OSError) as error:
                reopened[target] = f"failed: {error}"
            finally:
                shutil.rmtree(folder, ignore_errors=True)
        print("\n" + restart.table(lengths, reopened), flush=True)
        collab_reopened = reopened.get("collab")
        if isinstance(collab_reopened, dict):
            checks += [(f"collab: {text}", met) for text, met in restart.checks(collab_reopened, lengths)]
        document["restart"] = {"lengths": lengths, "results": reopened}
        document["failed"] = document.get("failed") or any(isinstance(r, str) for r in reopened.values())
    if "longtext" in args.scenario_list:
        chars, keys, rate = args.longtext_chars, args.longtext_keys, args.longtext_rate
        typed = longtext.run(chars, keys, rate, targets)
        print("\n" + longtext.table(chars, keys, rate, typed), flush=True)
        checks += [(f"collab: {text}", met) for text, met in longtext.checks(typed)]
        document["longtext"] = {"chars": chars, "keys": keys, "rate": rate, "results": typed}
        document["failed"] = document.get("failed") or any(isinstance(r, str) for r in typed.values())
    return checks


def _checks(rates: list[float], summaries: list[dict[str, report.Summary | str]]) -> list[tuple[str, bool]]:
    checks: list[tuple[str, bool]] = []
    for name, result in summaries[0].items():
        if isinstance(result, dict):
            label = f"{name} at {rates[0]:g}/s"
            checks += report.target_checks(label, result, saved_expected=name == "collab")
    for rate, results in zip(rates, summaries, strict=True):
        collab, node = results.get("collab"), results.get("node")
        if isinstance(collab, dict) and isinstance(node, dict):
            ours, theirs = collab["cpu_us_per_fanout"], node["cpu_us_per_fanout"]
            if isinstance(ours, float) and isinstance(theirs, float):
                checks.append(
                    (
                        f"collab CPU per fanned-out update at {rate:g}/s ≤ node's "
                        f"({ours:.2f} vs {theirs:.2f} µs)",
                        ours <= theirs,
                    )
                )
    return checks


if __name__ == "__main__":
    sys.exit(main())
