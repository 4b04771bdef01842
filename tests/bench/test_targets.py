"""The targets `bench.run` prints next to the join storm, the restart and the long text (issue 17)."""

from __future__ import annotations

import pytest

from bench import join, longtext, restart

pytestmark = pytest.mark.unit


def _storm(p99_ms: float, failures: float = 0, idle_kb: float = 20.0) -> dict[str, float]:
    return {"failures": failures, "p99_ms": p99_ms, "idle_kb_per_record": idle_kb}


def test_a_join_storm_meets_its_targets_within_one_and_a_half_times_node() -> None:
    met = join.checks({"node": _storm(100.0), "collab": _storm(150.0)})
    assert [ok for _, ok in met] == [True, True, True]
    missed = join.checks({"node": _storm(100.0), "collab": _storm(151.0, failures=1, idle_kb=25.0)})
    assert [ok for _, ok in missed] == [False, False, False]


def test_without_node_the_join_p99_is_not_judged() -> None:
    texts = [text for text, _ in join.checks({"collab": _storm(10_000.0), "node": "server failed: x"})]
    assert not any("p99" in text for text in texts) and len(texts) == 2


def _opened(server_ms: float, open_ms: float, complete: float = 1.0) -> restart.Result:
    return {"server_ms": server_ms, "apply_ms": open_ms - server_ms, "open_ms": open_ms, "complete": complete}


def test_a_long_record_must_open_in_time_complete_and_flat_in_the_log() -> None:
    met = restart.checks({1000: _opened(40.0, 41.0), 10000: _opened(80.0, 150.0)}, [1000, 10000])
    assert [ok for _, ok in met] == [True, True]
    slow = restart.checks({1000: _opened(40.0, 41.0), 10000: _opened(81.0, 151.0)}, [1000, 10000])
    assert [ok for _, ok in slow] == [False, False]
    incomplete = restart.checks({10000: _opened(10.0, 11.0, complete=0.0)}, [10000])
    assert [ok for _, ok in incomplete] == [False]


def test_typing_is_only_judged_at_the_issues_length() -> None:
    fast = {"chars": 300_000.0, "keys": 400.0, "us_per_key": 900.0}
    assert longtext.checks({"collab": fast}) == [(longtext.checks({"collab": fast})[0][0], True)]
    short = {**fast, "chars": 99_000.0}
    [(text, met)] = longtext.checks({"collab": short})
    assert not met and "300,000" in text
    [(_, slow)] = longtext.checks({"collab": {**fast, "us_per_key": 1001.0}})
    assert not slow
