"""Two nodes against one: the same y-websocket load on one collab node, then on two nodes of one deployment.

    .venv/bin/python -m bench.nodes            # 1,000 clients over 100 records, 5 updates/s per record
    .venv/bin/python -m bench.nodes --quick    # smoke run: 20 records, 4 s measured

Both on a throw-away PostgreSQL database each. Two nodes share it and a Redis server of the run's own (so
that its CPU is the deployment's alone); each record's clients are split across the nodes, connecting to
each node directly (`--via direct`, the default: the split is exact) or all through HAProxy with
deploy/haproxy.cfg (`--via balancer`). Prints one table; writes JSON to bench/results/. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from bench import report
from bench.loadgen import LoadError, Measurement, Scenario, run_scenario
from bench.servers import (
    BENCH_DIR,
    HOST,
    CollabServer,
    RunningServer,
    ServerError,
    free_port,
    throwaway_postgres,
)

T = TypeVar("T")

POSTGRES_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
HAPROXY = "/usr/sbin/haproxy"
HAPROXY_CONFIG = BENCH_DIR.parent / "deploy" / "haproxy.cfg"
START_TIMEOUT_SECONDS = 30.0
FANOUT_P99_TARGET_MS = 50.0  # issue 18: cross-node fan-out
SAVED_P99_TARGET_MS = 50.0


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.nodes", description=__doc__.split("\n")[0])
    parser.add_argument("--rooms", type=int, help="records (default 100; 20 with --quick)")
    parser.add_argument("--clients", type=int, default=10, help="clients per record, the writer included")
    parser.add_argument("--rate", type=float, default=5.0, help="updates/s per record (one writer each)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of load before measuring")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds measured")
    parser.add_argument("--drain", type=float, default=10.0, help="max seconds to wait for stragglers")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 20 records, 1 s warm-up, 4 s measured"
    )
    parser.add_argument(
        "--via",
        choices=["direct", "balancer"],
        default="direct",
        help="two nodes: peers connect to the nodes directly (half each), or through HAProxy",
    )
    parser.add_argument(
        "--postgres", default=POSTGRES_ADMIN_URL, metavar="ADMIN_URL", help="where throw-away databases go"
    )
    parser.add_argument("--connections-per-user", type=int, default=20)
    parser.add_argument("--output", type=Path, help="JSON file (default bench/results/nodes-<time>.json)")
    parser.add_argument("--check", action="store_true", help="exit 1 when two nodes miss a target")
    args = parser.parse_args(argv)
    if args.quick:
        args.warmup, args.duration, args.drain = 1.0, 4.0, 5.0
    if args.rooms is None:
        args.rooms = 20 if args.quick else 100
    if args.clients < 2:
        parser.error("need at least 2 clients per record")
    return args


def _run_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    with contextlib.suppress(ImportError):
        import uvloop

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coroutine)


def _progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _spawned(command: list[str], name: str, port: int, log_path: Path, env: dict[str, str]) -> Iterator[int]:
    """A helper process (Redis, HAProxy) listening on `port`; its pid; stopped at the end."""
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **env})
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            if process.poll() is not None:
                raise ServerError(f"{name} exited with {process.returncode}; log {log_path}")
            with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
                break
            if time.monotonic() > deadline:
                raise ServerError(f"{name} did not listen on {port}; log {log_path}")
            time.sleep(0.05)
        yield process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _redis(workdir: Path, port: int) -> contextlib.AbstractContextManager[int]:
    """A Redis server of the run's own: nothing else on the machine adds to its CPU."""
    command = ["redis-server", "--bind", HOST, "--port", str(port), "--save", "", "--appendonly", "no"]
    return _spawned(command, "redis-server", port, workdir / "redis.log", {})


def _measure(
    urls: list[list[str]],
    scenario: Scenario,
    server: RunningServer,
    pids: dict[str, int],
    node_of: Callable[[str], str] | None,
) -> Measurement:
    def origin_of(url: str) -> str:
        return f"http://{urlsplit(url).netloc}"  # the node's own origin (or the balancer's): the Host sent

    load = run_scenario(
        urls, scenario, server.pid, origin=None, deflate=True,
        origin_of=origin_of, node_of=node_of, measure_pids=pids,
    )  # fmt: skip
    return _run_loop(load)


def one_node(args: argparse.Namespace, scenario: Scenario, workdir: Path) -> Measurement:
    with throwaway_postgres(args.postgres) as database_url:
        collab = CollabServer(workdir, args.connections_per_user, database_url)
        server = collab.start(args.rooms, args.clients)
        try:
            return _measure(server.peer_urls, scenario, server, {"node1": server.pid}, None)
        finally:
            server.stop()


def two_nodes(args: argparse.Namespace, scenario: Scenario, workdir: Path) -> Measurement:
    redis_port = free_port()
    with throwaway_postgres(args.postgres) as database_url, _redis(workdir, redis_port) as redis_pid:
        shared = {
            "COLLAB_REDIS_URL": f"redis://{HOST}:{redis_port}/0",
            "COLLAB_REDIS_PREFIX": f"bench-{secrets.token_hex(4)}",
        }
        collab = CollabServer(workdir, args.connections_per_user, database_url)
        first = collab.start(args.rooms, args.clients, extra_env={**shared, "COLLAB_NODE_ID": "node1"})
        servers = [first]
        try:
            records = [urlsplit(urls[0]).path.rsplit("/", 1)[1] for urls in first.peer_urls]
            second = collab.start(
                args.rooms, args.clients, record_ids=records, extra_env={**shared, "COLLAB_NODE_ID": "node2"}
            )
            servers.append(second)
            # Each record's clients alternate between the nodes: its writer (index 0) and every other
            # receiver on node1, the rest on node2.
            urls = [
                [
                    (first if index % 2 == 0 else second).peer_urls[room][index]
                    for index in range(args.clients)
                ]
                for room in range(args.rooms)
            ]
            pids = {"node1": first.pid, "node2": second.pid, "redis": redis_pid}
            nodes = {
                urlsplit(s.peer_urls[0][0]).port: name
                for s, name in zip(servers, ("node1", "node2"), strict=True)
            }
            if args.via == "direct":
                return _measure(urls, scenario, first, pids, lambda url: nodes[urlsplit(url).port])
            port = free_port()
            env = {
                "COLLAB_BALANCER_BIND": f"{HOST}:{port}",
                "COLLAB_NODE1": f"{HOST}:{urlsplit(first.peer_urls[0][0]).port}",
                "COLLAB_NODE2": f"{HOST}:{urlsplit(second.peer_urls[0][0]).port}",
            }
            command = [HAPROXY, "-f", str(HAPROXY_CONFIG), "-db"]
            with _spawned(command, "haproxy", port, workdir / "haproxy.log", env) as haproxy_pid:
                through = [[_via(url, port) for url in room] for room in urls]
                return _measure(through, scenario, first, {**pids, "haproxy": haproxy_pid}, None)
        finally:
            for server in servers:
                server.stop()


def _via(url: str, port: int) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=f"{HOST}:{port}").geturl()


def summarize(m: Measurement, scenario: Scenario) -> report.Summary:
    summary = report.summarize(m, scenario)
    window = m.window_seconds
    for name, seconds in m.process_cpu_seconds.items():
        summary[f"cpu_{name}_percent"] = 100.0 * seconds / window
    cross = m.cross_node_fanout_seconds
    summary["cross_fanout_p50_ms"] = _ms(report.percentile(cross, 0.50))
    summary["cross_fanout_p99_ms"] = _ms(report.percentile(cross, 0.99))
    measured = sum(m.process_cpu_seconds.values()) + m.loadgen_cpu_seconds
    summary["other_cpu_percent"] = max(
        0.0, m.machine_busy_percent * (os.cpu_count() or 1) - 100.0 * measured / window
    )
    return summary


def _ms(value: float | None) -> float | None:
    return None if value is None else value * 1000.0


ROWS: list[tuple[str, str, str]] = [
    ("updates/s in", "updates_per_s_in", "{:.0f}"),
    ("fan-out p50 / p99 (ms), all receivers", "fanout_p50_ms|fanout_p99_ms", "{:.1f}"),
    ("cross-node fan-out p50 / p99 (ms)", "cross_fanout_p50_ms|cross_fanout_p99_ms", "{:.1f}"),
    ("saved p50 / p99 (ms)", "saved_p50_ms|saved_p99_ms", "{:.1f}"),
    ("delivered (%)", "delivered_percent", "{:.2f}"),
    ("saved (%)", "saved_percent", "{:.2f}"),
    ("converged peers", "converged", "{}"),
    ("CPU node1 (% of a core)", "cpu_node1_percent", "{:.0f}"),
    ("CPU node2 (% of a core)", "cpu_node2_percent", "{:.0f}"),
    ("CPU Redis (% of a core)", "cpu_redis_percent", "{:.1f}"),
    ("CPU HAProxy (% of a core)", "cpu_haproxy_percent", "{:.1f}"),
    ("load generator CPU (% of a core)", "loadgen_cpu_percent", "{:.0f}"),
    ("other processes (% of a core)", "other_cpu_percent", "{:.0f}"),
    ("steal (%)", "steal_percent", "{:.1f}"),
    ("closed by server", "closed_by_server", "{}"),
]


def table(title: str, results: dict[str, report.Summary | str]) -> str:
    names = list(results)
    lines = [title, "", "| " + " | ".join(["", *names]) + " |", "|" + "---|" * (len(names) + 1)]
    for label, keys, shape in ROWS:
        cells = []
        for name in names:
            result = results[name]
            if isinstance(result, str):
                cells.append(result)
                continue
            values = [result.get(key) for key in keys.split("|")]
            cells.append(" / ".join("-" if v is None else shape.format(v) for v in values))
        lines.append("| " + " | ".join([label, *cells]) + " |")
    return "\n".join(lines)


def checks(results: dict[str, report.Summary | str], peers: int) -> list[tuple[str, bool]]:
    two = results.get("two nodes")
    if not isinstance(two, dict):
        return [("two nodes ran", False)]
    # Through the balancer no receiver is known to be on another node: then all receivers count.
    fanout = two.get("cross_fanout_p99_ms") or two.get("fanout_p99_ms")
    saved = two.get("saved_p99_ms")
    return [
        (
            f"two nodes: cross-node fan-out p99 ≤ {FANOUT_P99_TARGET_MS:g} ms ({_shown(fanout)} ms)",
            _at_most(fanout, FANOUT_P99_TARGET_MS),
        ),
        (
            f"two nodes: saved p99 ≤ {SAVED_P99_TARGET_MS:g} ms ({_shown(saved)} ms)",
            _at_most(saved, SAVED_P99_TARGET_MS),
        ),
        ("two nodes: 100 % delivered", two.get("delivered_percent") == 100.0),
        ("two nodes: every peer converged", two.get("converged") == peers),
    ]


def _shown(value: Any) -> str:
    return f"{value:.1f}" if isinstance(value, float) else "-"


def _at_most(value: Any, limit: float) -> bool:
    return isinstance(value, float) and value <= limit


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    scenario = Scenario(args.rooms, args.clients, 1, args.rate, args.warmup, args.duration, args.drain)
    workdir = Path(tempfile.mkdtemp(prefix="collab-bench-nodes-"))
    started = time.strftime("%Y%m%d-%H%M%S")
    results: dict[str, report.Summary | str] = {}
    runs: list[tuple[str, Callable[[argparse.Namespace, Scenario, Path], Measurement]]] = [
        ("one node", one_node),
        ("two nodes", two_nodes),
    ]
    for name, run in runs:
        _progress(f"{name}: {scenario.clients} clients, {args.warmup + args.duration:g} s of load")
        try:
            results[name] = summarize(run(args, scenario, workdir), scenario)
        except (ServerError, LoadError) as error:
            results[name] = f"failed: {error}"
    how = "split across the nodes directly" if args.via == "direct" else "through HAProxy"
    title = (
        f"{scenario.rooms} records x {scenario.clients_per_room} clients ({scenario.clients} peers), one "
        f"writer per record at {args.rate:g} updates/s, {args.duration:g} s measured after {args.warmup:g} s "
        f"warm-up; two nodes: clients {how}"
    )
    print("\n" + table(title, results), flush=True)
    met = checks(results, scenario.clients)
    print("\nTargets")
    for text, ok in met:
        print(f"  [{'ok' if ok else 'MISSED'}] {text}")
    output = args.output or BENCH_DIR / "results" / f"nodes-{started}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    document = {"command": " ".join(["python -m bench.nodes", *sys.argv[1:]]), "via": args.via}
    document |= {"scenario": asdict(scenario)}
    document |= {"results": results, "checks": [{"check": t, "met": ok} for t, ok in met]}
    output.write_text(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")
    if any(isinstance(r, str) for r in results.values()):
        print(f"\nresults: {output}; server logs kept in {workdir}")
        return 2
    shutil.rmtree(workdir, ignore_errors=True)
    print(f"\nresults: {output}")
    return 1 if args.check and not all(ok for _, ok in met) else 0


if __name__ == "__main__":
    sys.exit(main())
