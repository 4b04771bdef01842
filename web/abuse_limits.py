"""The web layer's abuse limits of one running app: request budgets, and caps on sockets and streams.

Kept on `app.state.abuse_limits`. The composition root may set it in the lifespan (a test does, to give
the rate limiter a clock it moves); otherwise the first request builds it from the settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import HTTPConnection

from collab.clock import SYSTEM_CLOCK, Clock
from collab.settings import Settings
from web.rate_limits import RateLimiter, budgets
from web.services import services
from web.slots import Slots


@dataclass(frozen=True)
class AbuseLimits:
    requests: RateLimiter
    sockets: Slots = field(default_factory=Slots)  # WebSocket connections per user
    streams: Slots = field(default_factory=Slots)  # feed streams per user and per session

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock = SYSTEM_CLOCK) -> AbuseLimits:
        return cls(RateLimiter(budgets(settings), clock))


def abuse_limits(connection: HTTPConnection) -> AbuseLimits:
    state = connection.app.state
    found: AbuseLimits | None = getattr(state, "abuse_limits", None)
    if found is None:
        # Synchronous: two first requests cannot build two sets of counters.
        found = state.abuse_limits = AbuseLimits.from_settings(services(connection).settings)
    return found
