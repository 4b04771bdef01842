"""The time each layer of the suite took, printed at the end of a run as one short table (a pytest plugin).

A test's layer is `unit` when it is marked so, otherwise the folder under tests/ it lives in (`quality`
and `deployment` for the two modules at the top). Its time is its setup, call and teardown, as pytest's
`--durations` counts them; under xdist the layers' times add up to more than the wall time.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Mapping

import pytest

ORDER = (
    "unit",
    "collab",
    "auth",
    "persistence",
    "server",
    "web",
    "client",
    "live",
    "interop",
    "browser",
    "quality",
    "deployment",
)


def layer_of(nodeid: str, keywords: Mapping[str, object]) -> str:
    if "unit" in keywords:
        return "unit"
    parts = nodeid.split("::", 1)[0].split("/")
    if len(parts) > 2:
        return parts[1]
    return parts[-1].removeprefix("test_").removesuffix(".py")


class LayerClock:
    def __init__(self) -> None:
        self.started = time.monotonic()
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.tests: Counter[str] = Counter()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        layer = layer_of(report.nodeid, report.keywords)
        self.seconds[layer] += report.duration
        if report.when == "setup":
            self.tests[layer] += 1

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.tests:
            return
        layers = sorted(
            self.tests, key=lambda name: (ORDER.index(name) if name in ORDER else len(ORDER), name)
        )
        terminalreporter.write_sep("-", "time by layer")
        terminalreporter.write_line(f"{'layer':<12} {'tests':>6} {'seconds':>9}")
        for name in layers:
            terminalreporter.write_line(f"{name:<12} {self.tests[name]:>6} {self.seconds[name]:>9.1f}")
        terminalreporter.write_line(f"{'wall':<12} {'':>6} {time.monotonic() - self.started:>9.1f}")


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # xdist workers report to their controller, which adds up
        config.pluginmanager.register(LayerClock(), "collab-layer-clock")
