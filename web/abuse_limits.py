"""The web layer's abuse limits of one running app: request budgets, and caps on sockets and streams.

Kept on `app.state.abuse_limits`. The composition root may set it in the lifespan (a test does, to give
the rate limiter a clock it moves); otherwise the first request builds it from the settings. With several
nodes the composition root sets one counted in Redis (`shared`, entered for its heartbeats): caps and
budgets then hold for the whole deployment.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from types import TracebackType

from redis.asyncio import Redis
from starlette.requests import HTTPConnection

from collab.clock import SYSTEM_CLOCK, Clock
from collab.cluster.counters import SharedBuckets, SharedCounts
from collab.settings import Settings
from web.rate_limits import RateLimiter, budgets
from web.services import services
from web.slots import Slots


@dataclass(frozen=True)
class AbuseLimits:
    requests: RateLimiter
    sockets: Slots = field(default_factory=Slots)  # WebSocket connections per user
    streams: Slots = field(default_factory=Slots)  # feed streams per user and per session
    counts: tuple[SharedCounts, ...] = ()  # the shared counts behind the slots (their heartbeats)
    _running: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock = SYSTEM_CLOCK) -> AbuseLimits:
        return cls(RateLimiter(budgets(settings), clock))

    @classmethod
    def shared(cls, settings: Settings, redis: Redis, node_id: str) -> AbuseLimits:
        """Counted over every node in Redis, under the deployment's prefix."""
        prefix, ttl = settings.redis_prefix, settings.node_entries_ttl_seconds
        sockets = SharedCounts(redis, prefix, "sockets", node_id, ttl)
        streams = SharedCounts(redis, prefix, "streams", node_id, ttl)
        requests = RateLimiter(budgets(settings), shared=SharedBuckets(redis, prefix))
        return cls(requests, Slots(sockets), Slots(streams), (sockets, streams))

    async def __aenter__(self) -> AbuseLimits:
        for counts in self.counts:
            await self._running.enter_async_context(counts)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._running.aclose()


def abuse_limits(connection: HTTPConnection) -> AbuseLimits:
    state = connection.app.state
    found: AbuseLimits | None = getattr(state, "abuse_limits", None)
    if found is None:
        # Synchronous: two first requests cannot build two sets of counters.
        found = state.abuse_limits = AbuseLimits.from_settings(services(connection).settings)
    return found
