"""Per-user HTTP request budgets: a token bucket per user and kind of request; 429 with Retry-After beyond.

Kinds have budgets of their own, so a burst of reads never stops a save, and the costly kinds (search,
exports, imports) get smaller ones. A route is an export or an import when a segment of its path is
`export(s)` or `import(s)`: later routes of those kinds are budgeted by being named so. WebSocket connects
count as reads. Charged once per request where the caller is authenticated (`web.security.principal_of`).
With several nodes the buckets are in Redis (collab/cluster/counters.py), one per user and kind for the
whole deployment; while Redis fails, each node charges its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from starlette.requests import HTTPConnection

from auth.throttle import TooManyAttempts
from collab.clock import SYSTEM_CLOCK, Clock
from collab.cluster.counters import SharedBuckets
from collab.settings import Settings

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Above this many buckets, full ones (the same as no bucket) are dropped: memory follows active users.
_SWEEP_AT = 4096


class RequestKind(StrEnum):
    READ = "reads"
    WRITE = "writes"
    SEARCH = "searches"
    EXPORT = "exports"
    IMPORT = "imports"


def kind_of(connection: HTTPConnection) -> RequestKind:
    segments = set(connection.url.path.split("/"))
    if segments & {"export", "exports"}:
        return RequestKind.EXPORT
    if segments & {"import", "imports"}:
        return RequestKind.IMPORT
    method = connection.scope.get("method")  # none on a WebSocket: its connect counts as a read
    if method is not None and method not in _SAFE_METHODS:
        return RequestKind.WRITE
    return RequestKind.SEARCH if connection.query_params.get("q") else RequestKind.READ


class RateLimited(TooManyAttempts):
    """A user's requests of one kind went over its budget."""

    def __init__(self, kind: RequestKind, retry_after_seconds: int) -> None:
        super().__init__(retry_after_seconds, f"too many {kind.value}; retry in {retry_after_seconds} s")
        self.kind = kind


@dataclass(frozen=True)
class Budget:
    per_second: float
    burst: int


def budgets(settings: Settings) -> dict[RequestKind, Budget]:
    return {
        RequestKind.READ: Budget(settings.http_reads_per_second, settings.http_read_burst),
        RequestKind.WRITE: Budget(settings.http_writes_per_second, settings.http_write_burst),
        RequestKind.SEARCH: Budget(settings.http_searches_per_second, settings.http_search_burst),
        RequestKind.EXPORT: Budget(settings.http_exports_per_second, settings.http_export_burst),
        RequestKind.IMPORT: Budget(settings.http_imports_per_second, settings.http_import_burst),
    }


class RateLimiter:
    """Token buckets per (user, kind). `charge` is synchronous: no await between reading a bucket and
    taking its token, so concurrent requests cannot overdraw it."""

    def __init__(
        self,
        budgets: dict[RequestKind, Budget],
        clock: Clock = SYSTEM_CLOCK,
        shared: SharedBuckets | None = None,
    ) -> None:
        self._budgets = budgets
        self._clock = clock
        self._shared = shared
        self._buckets: dict[tuple[str, RequestKind], tuple[float, float]] = {}  # (tokens, at)
        self._sweep_at = _SWEEP_AT

    def charge(self, user_id: str, kind: RequestKind) -> None:
        """Take one request of `kind` from the user's budget, or raise `RateLimited`."""
        budget = self._budgets[kind]
        if budget.per_second <= 0:
            return  # this budget is switched off
        now = self._clock.monotonic()
        tokens = self._tokens((user_id, kind), budget, now)
        if tokens < 1:
            self._buckets[(user_id, kind)] = (tokens, now)
            raise RateLimited(kind, max(1, math.ceil((1 - tokens) / budget.per_second)))
        self._buckets[(user_id, kind)] = (tokens - 1, now)
        if len(self._buckets) > self._sweep_at:
            self._sweep(now)

    async def spend(self, user_id: str, kind: RequestKind) -> None:
        """`charge`, from the deployment's bucket when the buckets are shared (one atomic step in Redis)."""
        budget = self._budgets[kind]
        if self._shared is None or budget.per_second <= 0:
            self.charge(user_id, kind)
            return
        wait = await self._shared.take(f"{kind.value}:{user_id}", budget.per_second, budget.burst)
        if wait is None:  # Redis failed: this node's own bucket meanwhile
            self.charge(user_id, kind)
        elif wait > 0:
            raise RateLimited(kind, max(1, math.ceil(wait)))

    def _tokens(self, key: tuple[str, RequestKind], budget: Budget, now: float) -> float:
        held, at = self._buckets.get(key, (float(budget.burst), now))
        return min(float(budget.burst), held + (now - at) * budget.per_second)

    def _sweep(self, now: float) -> None:
        for key in list(self._buckets):
            budget = self._budgets[key[1]]
            if self._tokens(key, budget, now) >= budget.burst:
                del self._buckets[key]
        # Many users active at once: sweep again only once their number doubles, so sweeps stay rare.
        self._sweep_at = max(_SWEEP_AT, 2 * len(self._buckets))
