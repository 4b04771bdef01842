"""Deleted clock ranges handled as ranges (collab/records/delete_ranges.py): any declared length, any
repetition, costs what the number of ranges costs; deletions of clocks not yet integrated wait."""

from __future__ import annotations

import pytest

from collab.records.delete_ranges import PendingDeletes, coalesced
from collab.ycodec.ystructs import DeleteSet

pytestmark = pytest.mark.unit


def test_ranges_are_sorted_and_merged_per_client() -> None:
    delete_set = DeleteSet({7: ((10, 5), (0, 3), (3, 2), (12, 10), (40, 0)), 2: ((2**53, 2**53),)})
    assert coalesced(delete_set) == [(7, 0, 5), (7, 10, 22), (2, 2**53, 2**54)]


def test_one_range_listed_many_times_is_one_range() -> None:
    delete_set = DeleteSet({1: ((0, 2**31),) * 100_000})
    assert coalesced(delete_set) == [(1, 0, 2**31)]


def test_pending_ranges_keep_who_deleted_first() -> None:
    pending = PendingDeletes(limit=100)
    pending.add(1, 10, 20, "ann")
    pending.add(1, 15, 30, "bob")  # 15-20 was Ann's already
    pending.add(1, 30, 35, "bob")  # touches Bob's: one range
    assert pending.overlapping(1, 0, 100) == [(10, 20, "ann"), (20, 35, "bob")]
    assert pending.overlapping(1, 19, 21) == [(10, 20, "ann"), (20, 35, "bob")]
    assert pending.overlapping(1, 35, 40) == [] and pending.overlapping(2, 0, 100) == []


def test_integrated_ranges_are_forgotten_and_the_limit_holds() -> None:
    pending = PendingDeletes(limit=2)
    pending.add(1, 0, 5, None)
    pending.add(1, 10, 15, None)
    pending.add(1, 20, 25, None)  # over the limit: forgotten
    assert pending.overlapping(1, 0, 100) == [(0, 5, None), (10, 15, None)]
    pending.forget({1: 12}, {1})  # only ranges that end within the integrated clocks go
    assert pending.overlapping(1, 0, 100) == [(10, 15, None)]
    pending.forget({1: 15}, {1})
    assert pending.overlapping(1, 0, 100) == []
    pending.add(1, 30, 30, None)  # empty: nothing
    assert pending.overlapping(1, 0, 100) == []
