"""The pure parts of access and presence across nodes: the bus messages, applying them, merging presence,
and the session check's period while the bus is down."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, cast

import pytest

from auth.principal import Role
from auth.sessions import SessionPolicy
from collab.cluster.access import (
    AccessChanges,
    RoleChanged,
    SessionsEnded,
    UserGone,
    apply,
    decode,
    encode,
)
from collab.cluster.bus import LocalBus
from collab.cluster.presence import merge
from collab.live.session_watch import BUS_DOWN_CHECK_SECONDS, SessionWatch

pytestmark = pytest.mark.unit


class Live:
    """An in-memory `LiveEffects`: records what it was told."""

    def __init__(self) -> None:
        self.told: list[tuple[Any, ...]] = []

    def close_sessions(self, session_ids: set[str], code: int, reason: str) -> int:
        self.told.append(("sessions", frozenset(session_ids), code, reason))
        return len(session_ids)

    def close_user(self, user_id: str, code: int, reason: str) -> int:
        self.told.append(("user", user_id, code, reason))
        return 1

    def change_role(self, user_id: str, role: Role) -> None:
        self.told.append(("role", user_id, role))


@pytest.mark.parametrize(
    "change",
    [
        SessionsEnded(frozenset({"s1", "s2"}), 4401, "session revoked"),
        UserGone("u1", 4403, "user deactivated"),
        RoleChanged("u1", Role.VIEWER),
    ],
)
def test_a_change_survives_the_wire(change: Any) -> None:
    assert decode(encode(change)) == change
    assert len(encode(change)) < 200  # small: one message per change


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"[]",
        b'{"kind": "nope"}',
        b'{"kind": "role", "user": "u", "role": "owner"}',
        b'{"kind": "sessions"}',
    ],
)
def test_anything_else_is_refused(payload: bytes) -> None:
    with pytest.raises(ValueError):
        decode(payload)


def test_a_heard_change_acts_like_a_local_one() -> None:
    live = Live()
    apply(decode(encode(SessionsEnded(frozenset({"s1"}), 4401, "logged out"))), live)
    apply(decode(encode(UserGone("u1", 4403, "user deleted"))), live)
    apply(decode(encode(RoleChanged("u2", Role.EDITOR))), live)
    assert live.told == [
        ("sessions", frozenset({"s1"}), 4401, "logged out"),
        ("user", "u1", 4403, "user deleted"),
        ("role", "u2", Role.EDITOR),
    ]


async def test_on_one_node_changes_act_here() -> None:
    live = Live()
    async with AccessChanges(live, LocalBus()) as access:
        assert access.close_sessions(set(), 4401, "none") == 0  # nothing to tell anyone
        assert access.close_sessions({"s1"}, 4401, "revoked") == 1
        access.change_role("u1", Role.VIEWER)
    assert live.told == [("sessions", frozenset({"s1"}), 4401, "revoked"), ("role", "u1", Role.VIEWER)]


def test_presence_of_several_nodes_lists_each_person_once() -> None:
    a: list[dict[str, Any]] = [
        {"id": "ann", "name": "Ann", "since": "2026-01-01T10:00:05", "field": None},
        {"id": "bob", "name": "Bob", "since": "2026-01-01T10:00:01", "field": "stage"},
    ]
    b: list[dict[str, Any]] = [{"id": "ann", "name": "Ann", "since": "2026-01-01T10:00:02", "field": "email"}]
    assert merge([a, b]) == [
        {"id": "bob", "name": "Bob", "since": "2026-01-01T10:00:01", "field": "stage"},
        {"id": "ann", "name": "Ann", "since": "2026-01-01T10:00:02", "field": "email"},
    ]
    assert merge([]) == []


class DownBus(LocalBus):
    """A bus whose messages do not flow (Redis down)."""

    def __init__(self) -> None:
        super().__init__()
        self.listeners: list[Callable[[bool], None]] = []
        self.flowing = False

    @property
    def up(self) -> bool:
        return self.flowing

    def on_change(self, listener: Callable[[bool], None]) -> None:
        self.listeners.append(listener)


def test_the_session_check_runs_every_second_while_the_bus_is_down() -> None:
    bus = DownBus()
    policy = SessionPolicy(idle=timedelta(days=1), max_age=timedelta(days=2))
    watch = SessionWatch(cast(Any, None), cast(Any, None), policy, 10.0, bus)
    assert watch.period_seconds == BUS_DOWN_CHECK_SECONDS
    bus.flowing = True
    assert watch.period_seconds == 10.0
    assert SessionWatch(cast(Any, None), cast(Any, None), policy, 10.0).period_seconds == 10.0
