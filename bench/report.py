"""Turning measurements into numbers, side-by-side tables and target checks."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.loadgen import Measurement, Scenario

Summary = dict[str, float | int | str | None]

OTHER_CPU_WARNING_PERCENT = 15.0
"""Above this much CPU used by processes other than the server and the load generator, say so."""

FANOUT_P99_TARGET_MS = 10.0  # issue 17
SAVED_P99_TARGET_MS = 30.0


def percentile(sorted_values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def _ms(value: float | None) -> float | None:
    return None if value is None else value * 1000.0


def _other_cpu_percent(m: Measurement) -> float:
    """CPU used during the window by everything but the server and the load generator, in % of a core."""
    cores = os.cpu_count() or 1
    own = m.server_cpu_seconds + m.loadgen_cpu_seconds
    return max(0.0, m.machine_busy_percent * cores - 100.0 * own / m.window_seconds)


def summarize(measurement: Measurement, scenario: Scenario) -> Summary:
    m = measurement
    window = m.window_seconds
    fanned_out = m.updates_in * scenario.receivers_per_update
    forwarded = m.forwarded_unchanged + m.forwarded_reencoded
    return {
        "updates_per_s_in": m.updates_in / window,
        "messages_per_s_out": m.messages_out / window,
        "fanout_p50_ms": _ms(percentile(m.fanout_seconds, 0.50)),
        "fanout_p99_ms": _ms(percentile(m.fanout_seconds, 0.99)),
        "fanout_max_ms": _ms(m.fanout_seconds[-1] if m.fanout_seconds else None),
        "saved_p50_ms": _ms(percentile(m.saved_seconds, 0.50)),
        "saved_p99_ms": _ms(percentile(m.saved_seconds, 0.99)),
        "delivered_percent": 100.0 * m.delivered / m.expected_deliveries if m.expected_deliveries else 0.0,
        "saved_percent": (
            None if m.updates_saved is None else 100.0 * m.updates_saved / max(1, m.updates_sent)
        ),
        "converged": m.converged,
        "peers": m.peers,
        "server_cpu_percent": 100.0 * m.server_cpu_seconds / window,
        "cpu_us_per_fanout": 1e6 * m.server_cpu_seconds / fanned_out if fanned_out else None,
        "server_rss_mb": m.server_rss_bytes / 2**20,
        "steal_percent": m.steal_percent,
        "machine_busy_percent": m.machine_busy_percent,
        "other_cpu_percent": _other_cpu_percent(m),
        "loadgen_cpu_percent": 100.0 * m.loadgen_cpu_seconds / window,
        "forwarded_unchanged_percent": 100.0 * m.forwarded_unchanged / forwarded if forwarded else None,
        "deflate_peers": m.deflate_negotiated,
        "drain_s": m.drain_seconds,
        "window_s": window,
        "latency_samples": len(m.fanout_seconds),
        "out_of_order": m.out_of_order,
        "undecodable": m.undecodable,
        "auth_messages": m.auth_messages,
        "closed_by_server": _closes(m.closed_by_server),
        "convergence_problem": m.convergence_problem,
    }


def _closes(closed: dict[int, int]) -> str:
    return ", ".join(f"{count} x {code}" for code, count in sorted(closed.items())) or "none"


@dataclass(frozen=True)
class Row:
    label: str
    key: str
    fmt: Callable[[Summary], str]
    ratio: bool = False


def _number(key: str, spec: str) -> Callable[[Summary], str]:
    def render(summary: Summary) -> str:
        value = summary.get(key)
        return "-" if value is None else format(value, spec)

    return render


def _converged(summary: Summary) -> str:
    return f"{summary['converged']}/{summary['peers']}"


ROWS = [
    Row("updates/s in", "updates_per_s_in", _number("updates_per_s_in", ",.0f")),
    Row("messages/s out", "messages_per_s_out", _number("messages_per_s_out", ",.0f")),
    Row("fan-out p50 (ms)", "fanout_p50_ms", _number("fanout_p50_ms", ".2f"), ratio=True),
    Row("fan-out p99 (ms)", "fanout_p99_ms", _number("fanout_p99_ms", ".2f"), ratio=True),
    Row("fan-out max (ms)", "fanout_max_ms", _number("fanout_max_ms", ".1f")),
    Row("saved p50 (ms)", "saved_p50_ms", _number("saved_p50_ms", ".2f")),
    Row("saved p99 (ms)", "saved_p99_ms", _number("saved_p99_ms", ".2f")),
    Row("delivered (%)", "delivered_percent", _number("delivered_percent", ".3f")),
    Row("saved (%)", "saved_percent", _number("saved_percent", ".3f")),
    Row("converged (peers)", "converged", _converged),
    Row("server CPU (% of a core)", "server_cpu_percent", _number("server_cpu_percent", ".1f"), ratio=True),
    Row(
        "server CPU µs / fanned-out update",
        "cpu_us_per_fanout",
        _number("cpu_us_per_fanout", ".2f"),
        ratio=True,
    ),
    Row("server RSS (MB)", "server_rss_mb", _number("server_rss_mb", ".1f"), ratio=True),
    Row("steal (% of machine)", "steal_percent", _number("steal_percent", ".1f")),
    Row("other processes (% of a core)", "other_cpu_percent", _number("other_cpu_percent", ".0f")),
    Row("load generator CPU (% of a core)", "loadgen_cpu_percent", _number("loadgen_cpu_percent", ".1f")),
    Row(
        "forwarded bytes unchanged (%)",
        "forwarded_unchanged_percent",
        _number("forwarded_unchanged_percent", ".1f"),
    ),
    Row("peers with permessage-deflate", "deflate_peers", _number("deflate_peers", "d")),
    Row("closed by server", "closed_by_server", lambda s: str(s["closed_by_server"])),
]


def table(title: str, results: dict[str, Summary | str]) -> str:
    """``results``: target name → summary, or an error message when the target failed."""
    summaries = {name: r for name, r in results.items() if isinstance(r, dict)}
    names = list(summaries)
    with_ratio = "node" in summaries and "collab" in summaries
    header = ["", *names, *(["collab/node"] if with_ratio else [])]
    body: list[list[str]] = []
    for row in ROWS:
        cells = [row.label]
        for name in names:
            cells.append(row.fmt(summaries[name]))
        if with_ratio:
            ratio = _ratio(summaries["collab"].get(row.key), summaries["node"].get(row.key))
            cells.append(ratio if row.ratio else "")
        body.append(cells)
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(cells))

    lines = [title]
    if summaries:
        lines += [line(header), "-" * len(line(header)), *(line(cells) for cells in body)]
    for name, result in results.items():
        other = result.get("other_cpu_percent") if isinstance(result, dict) else None
        if isinstance(other, float) and other > OTHER_CPU_WARNING_PERCENT:
            lines.append(
                f"{name}: the machine was shared: other processes used {other:.0f}% of a core during the "
                "window, so latencies and CPU times are inflated"
            )
        if isinstance(result, str):
            lines.append(f"{name}: {result}")
        elif result.get("convergence_problem"):
            lines.append(f"{name}: first convergence problem: {result['convergence_problem']}")
    return "\n".join(lines)


def _ratio(collab: object, node: object) -> str:
    if isinstance(collab, int | float) and isinstance(node, int | float) and node > 0:
        return f"{collab / node:.2f}x"
    return "-"


def target_checks(name: str, summary: Summary, saved_expected: bool) -> list[tuple[str, bool]]:
    """The issue's targets at the fixed load, as (description, met)."""
    checks = [
        (f"fan-out p99 ≤ {FANOUT_P99_TARGET_MS:.0f} ms", _le(summary["fanout_p99_ms"], FANOUT_P99_TARGET_MS)),
        ("100% delivered", summary["delivered_percent"] == 100.0),
        ("all converged", summary["converged"] == summary["peers"]),
    ]
    if saved_expected:
        checks.insert(
            1,
            (f"saved p99 ≤ {SAVED_P99_TARGET_MS:.0f} ms", _le(summary["saved_p99_ms"], SAVED_P99_TARGET_MS)),
        )
        checks.append(("100% saved", summary["saved_percent"] == 100.0))
    return [(f"{name}: {text}", met) for text, met in checks]


def _le(value: object, limit: float) -> bool:
    return isinstance(value, int | float) and value <= limit
