"""The bus between nodes, on the real Redis: two nodes hear each other, never themselves, in order."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from collab.cluster.bus import LocalBus, RedisBus
from tests.support.polling import until

REDIS_URL = "redis://127.0.0.1:6379/0"


def sent_and_heard(bus: RedisBus, topic: str, payload: bytes, heard: list[Any]) -> bool:
    """Publish once more; whether anything was heard yet (a subscription takes effect within a short read)."""
    bus.publish(topic, payload)
    return bool(heard)


@pytest.fixture
def prefix() -> str:
    import secrets

    return f"collab-test-{secrets.token_hex(4)}"


async def test_two_nodes_hear_each_other_in_order_and_never_themselves(prefix: str) -> None:
    async with RedisBus(REDIS_URL, prefix=prefix) as a, RedisBus(REDIS_URL, prefix=prefix) as b:
        heard_a: list[tuple[bytes, str]] = []
        heard_b: list[tuple[bytes, str]] = []
        a.subscribe("room:r1", lambda payload, node: heard_a.append((payload, node)))
        b.subscribe("room:r1", lambda payload, node: heard_b.append((payload, node)))
        await until(lambda: a.up and b.up, "both nodes connected")
        # A subscription takes effect within the listener's short read: publish until b hears one.
        await until(lambda: sent_and_heard(a, "room:r1", b"probe", heard_b), "b subscribed")
        for n in range(50):
            a.publish("room:r1", str(n).encode())
        numbered = lambda: [payload for payload, _ in heard_b if payload != b"probe"]  # noqa: E731
        await until(lambda: len(numbered()) == 50, "50 messages")
        assert numbered() == [str(n).encode() for n in range(50)]
        assert {node for _, node in heard_b} == {a.node_id}
        assert heard_a == []  # its own messages never come back


async def test_unsubscribed_topics_are_not_heard(prefix: str) -> None:
    async with RedisBus(REDIS_URL, prefix=prefix) as a, RedisBus(REDIS_URL, prefix=prefix) as b:
        heard: list[bytes] = []
        stop = b.subscribe("t", lambda payload, node: heard.append(payload))
        await until(lambda: a.up and b.up, "both nodes connected")
        await until(lambda: sent_and_heard(a, "t", b"x", heard), "t subscribed")
        stop()
        other: list[bytes] = []
        b.subscribe("u", lambda payload, node: other.append(payload))
        await until(lambda: sent_and_heard(a, "u", b"y", other), "u subscribed")
        count = len(heard)
        a.publish("t", b"late")
        a.publish("u", b"z")
        await until(lambda: b"z" in other, "z heard")
        assert len(heard) == count


async def test_an_unreachable_redis_is_down_and_drops_without_raising() -> None:
    changes: list[bool] = []
    async with RedisBus("redis://127.0.0.1:1/0") as bus:
        bus.on_change(changes.append)
        bus.publish("t", b"x")
        await asyncio.sleep(0)
        assert not bus.up
        assert bus.dropped == 1


@pytest.mark.unit
async def test_one_node_has_nobody_to_tell() -> None:
    async with LocalBus() as bus:
        assert bus.up and not bus.shared and bus.redis is None
        bus.subscribe("t", lambda payload, node: None)()
        bus.publish("t", b"x")
