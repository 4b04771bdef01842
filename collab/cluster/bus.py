"""The bus between the nodes of one deployment: topics of small messages, at most once, in order per topic.

Every cross-node path (room updates and awareness, feed wake-ups, presence, session and role changes,
shared counters) goes through this seam, so that room, feed and access code never speak Redis. What the
bus carries is a hint that something happened: each path can rebuild its truth from SQL (the update log,
the events table, the sessions table), because pub/sub drops messages whenever a subscriber is
disconnected. `up` says whether messages flow now; consumers poll SQL faster while it is False, and
`on_change` tells them when it flips.

- `LocalBus`: one node (no Redis configured): nothing to tell anyone; `up` is always True.
- `RedisBus`: Redis pub/sub, one channel per topic under a deployment prefix. A node never hears its own
  messages (each carries its node id). It reconnects by itself, with backoff, while the node keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from types import TracebackType
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from collab.periodic import stop_tasks

log = logging.getLogger(__name__)

Handler = Callable[[bytes, str], None]
"""Called on the event loop with (payload, the node that published it); must not block."""

_RETRY_SECONDS = (0.1, 0.2, 0.5, 1.0)
_LISTEN_SECONDS = 0.1
_NODE_ID_BYTES = 8  # hex: 16 characters on the wire


def _header(node_id: str) -> bytes:
    """Each message starts with its sender: one byte of length, then the node id (UTF-8, 1 to 255 bytes)."""
    encoded = node_id.encode()
    if not 0 < len(encoded) < 256:
        raise ValueError("a node id must be 1 to 255 bytes long")
    return bytes([len(encoded)]) + encoded


def new_node_id() -> str:
    return secrets.token_hex(_NODE_ID_BYTES)


class Bus(Protocol):
    node_id: str

    @property
    def up(self) -> bool:
        """Whether messages are flowing between nodes now (always True for one node)."""

    @property
    def shared(self) -> bool:
        """Whether other nodes may exist (False for `LocalBus`: single-node shortcuts are safe)."""

    def publish(self, topic: str, payload: bytes) -> None:
        """Send to every other node subscribed to `topic`, in order with this node's other messages on it;
        never waits and never raises (a message that cannot be sent is dropped and `up` turns False)."""

    def subscribe(self, topic: str, handler: Handler) -> Callable[[], None]:
        """Hear `topic`'s messages from other nodes until the returned function is called."""

    def on_change(self, listener: Callable[[bool], None]) -> None:
        """`listener(up)` whenever `up` flips."""

    @property
    def redis(self) -> Redis | None:
        """The Redis client for shared state (counters, presence hashes), or None for one node."""


class LocalBus:
    """One node: there is nobody to tell."""

    def __init__(self, node_id: str | None = None) -> None:
        self.node_id = node_id or new_node_id()

    @property
    def up(self) -> bool:
        return True

    @property
    def shared(self) -> bool:
        return False

    @property
    def redis(self) -> Redis | None:
        return None

    def publish(self, topic: str, payload: bytes) -> None:
        pass

    def subscribe(self, topic: str, handler: Handler) -> Callable[[], None]:
        return lambda: None

    def on_change(self, listener: Callable[[bool], None]) -> None:
        pass

    async def __aenter__(self) -> LocalBus:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        pass


class RedisBus:
    """Redis pub/sub. Publishing goes through one ordered queue and one task (so messages of a topic leave
    in the order they were published, and a publisher never waits for Redis); listening is one pub/sub
    connection whose channel set follows `subscribe`."""

    def __init__(
        self, url: str, node_id: str | None = None, prefix: str = "collab", max_queued: int = 10_000
    ):
        self.node_id = node_id or new_node_id()
        _header(self.node_id)  # a node id that cannot be sent fails at start, not on each message
        self._url = url
        self._prefix = prefix
        self._client: Redis = Redis.from_url(url, socket_connect_timeout=2.0, health_check_interval=5)
        self._handlers: dict[str, list[Handler]] = {}
        self._outbox: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(max_queued)
        self._up = False
        self._listeners: list[Callable[[bool], None]] = []
        self._changed = asyncio.Event()  # the channel set changed: the listener re-subscribes
        self._tasks: list[asyncio.Task[None]] = []
        self.dropped = 0  # messages not sent (Redis down or the outbox full): consumers repair from SQL

    @property
    def up(self) -> bool:
        return self._up

    @property
    def shared(self) -> bool:
        return True

    @property
    def redis(self) -> Redis | None:
        return self._client

    def channel(self, topic: str) -> str:
        return f"{self._prefix}:{topic}"

    def publish(self, topic: str, payload: bytes) -> None:
        if not self._up:
            self.dropped += 1
            return
        try:
            self._outbox.put_nowait((topic, payload))
        except asyncio.QueueFull:
            self.dropped += 1

    def subscribe(self, topic: str, handler: Handler) -> Callable[[], None]:
        handlers = self._handlers.setdefault(topic, [])
        handlers.append(handler)
        if len(handlers) == 1:
            self._changed.set()

        def unsubscribe() -> None:
            current = self._handlers.get(topic)
            if current is not None and handler in current:
                current.remove(handler)
                if not current:
                    del self._handlers[topic]
                    self._changed.set()

        return unsubscribe

    def on_change(self, listener: Callable[[bool], None]) -> None:
        self._listeners.append(listener)

    async def __aenter__(self) -> RedisBus:
        self._tasks = [
            asyncio.create_task(self._listen(), name="collab-bus-listen"),
            asyncio.create_task(self._send(), name="collab-bus-send"),
        ]
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await stop_tasks(*self._tasks)
        with contextlib.suppress(RedisError, OSError):
            await self._client.aclose()

    def _set_up(self, up: bool) -> None:
        if up == self._up:
            return
        self._up = up
        log.warning(
            "bus: Redis %s", "connected: messages flow between nodes" if up else "unreachable: SQL only"
        )
        for listener in self._listeners:
            try:
                listener(up)
            except Exception:
                log.exception("bus: a listener of the Redis state failed")

    async def _send(self) -> None:
        header = _header(self.node_id)
        while True:
            topic, payload = await self._outbox.get()
            try:
                await self._client.publish(self.channel(topic), header + payload)
            except (RedisError, OSError):
                self.dropped += 1
                self._set_up(False)  # the listener finds out when it is back

    async def _listen(self) -> None:
        attempt = 0
        while True:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                # A channel that always exists, so that the connection is open (and `up` true) even
                # before any topic is subscribed.
                await pubsub.subscribe(self.channel("-"))
                subscribed: set[str] = set()
                self._changed.set()  # (re)connected: subscribe every topic wanted now
                attempt = 0
                self._set_up(True)
                while True:
                    subscribed = await self._follow(pubsub, subscribed)
                    # Short, so that a new topic is subscribed within it (the read cannot be woken early).
                    message = await pubsub.get_message(timeout=_LISTEN_SECONDS)
                    if message is not None:
                        self._dispatch(message)
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                raise
            except (RedisError, OSError) as exc:
                log.debug("bus: listening failed: %r", exc)
                self._set_up(False)
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                await asyncio.sleep(_RETRY_SECONDS[min(attempt, len(_RETRY_SECONDS) - 1)])
                attempt += 1

    async def _follow(self, pubsub: object, subscribed: set[str]) -> set[str]:
        if not self._changed.is_set():
            return subscribed
        self._changed.clear()
        wanted = {self.channel(topic) for topic in self._handlers}
        added, removed = wanted - subscribed, subscribed - wanted
        if added:
            await pubsub.subscribe(*added)  # type: ignore[attr-defined]
        if removed:
            await pubsub.unsubscribe(*removed)  # type: ignore[attr-defined]
        return wanted

    def _dispatch(self, message: dict[str, object]) -> None:
        if message.get("type") != "message":
            return
        channel, data = message.get("channel"), message.get("data")
        if not isinstance(channel, bytes) or not isinstance(data, bytes):
            return
        if not data or len(data) < 1 + data[0]:
            return
        node = data[1 : 1 + data[0]].decode("utf-8", "replace")
        if node == self.node_id:
            return
        topic = channel.decode()[len(self._prefix) + 1 :]
        for handler in list(self._handlers.get(topic, ())):
            try:
                handler(data[1 + data[0] :], node)
            except Exception:
                log.exception("bus: a handler of %s failed", topic)
