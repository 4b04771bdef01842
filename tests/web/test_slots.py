"""Caps on things held open at once: all keys or none, and every slot given back exactly once."""

from __future__ import annotations

import pytest

from web.slots import Slots

pytestmark = pytest.mark.unit


def test_a_slot_is_taken_under_every_key_or_under_none() -> None:
    slots = Slots()
    held = [slots.take({"user:ann": 3, "session:1": 2}) for _ in range(3)]
    assert held[2] is None and slots.held("user:ann") == 2  # the session's cap refused the third
    other = slots.take({"user:ann": 3, "session:2": 2})
    assert other is not None and slots.take({"user:ann": 3, "session:3": 2}) is None
    for slot in [*held[:2], other]:
        assert slot is not None
        slot.release()
        slot.release()  # every exit path may release: only the first counts
    assert slots.held("user:ann") == 0 and slots.held("session:1") == 0
    assert slots._held == {}  # nothing kept for keys that hold nothing
