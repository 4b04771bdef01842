"""Whether this server can do its work now: the answer of `/readyz`, for a load balancer or an orchestrator.

`/healthz` says the process answers; ready means more: the database answers within a deadline and holds
the schema this code was built for (a node started before a migration, or on a restored older database,
must not take traffic), and Redis, when one is configured, answers a PING within the deadline. What is
wrong is logged here in full and told to the caller in one word per check: the endpoint is public, so it
names no host, error text or revision.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from redis.asyncio import Redis

from persistence.database import Database, head_revision

log = logging.getLogger(__name__)

OK = "ok"
UNREACHABLE = "unreachable"
NOT_MIGRATED = "not at the current schema"


@dataclass(frozen=True)
class Readiness:
    checks: dict[str, str]

    @property
    def ready(self) -> bool:
        return all(state == OK for state in self.checks.values())


class Health:
    def __init__(
        self, database: Database, deadline_seconds: float = 2.0, redis_url: str | None = None
    ) -> None:
        self._database = database
        self._deadline = deadline_seconds
        self._redis_url = redis_url

    async def readiness(self) -> Readiness:
        checks = {"database": await self._database_state()}
        if self._redis_url is not None:
            checks["redis"] = await self._redis_state(self._redis_url)
        return Readiness(checks)

    async def redis_answers(self) -> bool:
        """Whether the configured Redis answers a PING now (True when none is configured). Asked once at
        start: collab starts without it, degraded and saying so, rather than refusing to start: one node
        needs nothing from Redis, and `/readyz` reports it until it answers."""
        return self._redis_url is None or await self._redis_state(self._redis_url) == OK

    async def _redis_state(self, url: str) -> str:
        # A connection per probe: probes come every few seconds, and a kept one would need its own upkeep.
        client = Redis.from_url(url, socket_connect_timeout=self._deadline, socket_timeout=self._deadline)
        try:
            async with asyncio.timeout(self._deadline):
                await client.ping()
        except Exception as exc:  # refused, timed out, wrong password: "unreachable"; the reason is logged
            log.warning("not ready: Redis did not answer (%s)", type(exc).__name__)
            return UNREACHABLE
        finally:
            await client.aclose()
        return OK

    async def _database_state(self) -> str:
        try:
            async with asyncio.timeout(self._deadline):
                revisions = await self._database.schema_revisions()
        except Exception as exc:  # any failure to answer in time is "unreachable"; the reason is logged
            log.warning("not ready: the database did not answer (%s)", type(exc).__name__)
            return UNREACHABLE
        if revisions != (head_revision(),):
            log.warning("not ready: the database is at %s, this server needs %s", revisions, head_revision())
            return NOT_MIGRATED
        return OK
