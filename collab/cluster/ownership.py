"""Which node's room holds a record: one owner at a time, so that everything a room does happens once.

- `LocalOwnership`: one node (SQLite, or PostgreSQL without a cluster configured): this node owns every
  record, and asking costs nothing.
- `SqlOwnership`: several nodes on one PostgreSQL database. Owning a record is holding its session-level
  advisory lock (`pg_try_advisory_lock`, key `persistence.nodes.lock_key`) on one connection of this
  node's own (never one of the request pool's); the `record_owners` row written after taking the lock only
  tells other nodes where to relay. A node that dies loses its locks with its connection, so its records
  get a new owner at their next claim. The same connection beats the node's heartbeat (`nodes.seen_at`);
  when it fails, the node has lost every lock at once: `on_lost` listeners close every owned room (their
  clients reconnect, 1012, and the records are claimed afresh) and it reconnects by itself.

`hold` is for the once-per-record background work (retention folding, the trash purge): it yields True
when no node owns the record (the lock is held for the block) or this node does, False when another does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Protocol

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from collab.cluster.errors import OwnershipUnavailable, OwnerUnreachable
from collab.periodic import stop_tasks
from persistence import nodes
from persistence.database import APPLICATION_NAME, Database

log = logging.getLogger(__name__)

LostListener = Callable[[frozenset[str]], None]
"""Called with the records this node owned when its locks are gone (and with none once it reconnected):
must close at once every room of a record this node does not hold now."""

_HEARTBEAT_SECONDS = 2.0
# A statement on the lock connection that takes longer than this counts as a lost connection.
_STATEMENT_SECONDS = 5.0
# A lock held by another node whose row is not written yet (it is between the two): asked again this often,
# this many times, before the claim gives up (the client then reconnects).
_OWNER_ROW_POLL_SECONDS = 0.05
_OWNER_ROW_POLLS = 40


class Ownership(Protocol):
    def holds(self, record_id: str) -> bool:
        """Whether this node owns the record now (no database round trip)."""

    async def claim(self, record_id: str) -> str | None:
        """None: this node owns the record now; else the owner's internal address ("host:port").
        Raises `OwnershipUnavailable` when it cannot tell (this node's lock connection is down) or
        `OwnerUnreachable` when another node holds the lock without saying where it listens."""

    async def release(self, record_id: str, settle: Callable[[], Awaitable[None]] | None = None) -> None:
        """This node's room for the record is gone (or goes: `settle` runs before the lock is given
        up): another node may own it now."""

    def owned(self) -> frozenset[str]: ...

    async def elsewhere(self, record_id: str) -> str | None:
        """The internal address of another node that owns the record now, without claiming it; None when
        this node or no node does. For use-cases that need no room (a delete) but act on the owner's."""

    def hold(self, record_id: str) -> AbstractAsyncContextManager[bool]:
        """For once-per-record background work; see the module docstring."""

    def on_lost(self, listener: LostListener) -> None: ...


class LocalOwnership:
    """One node: it owns everything."""

    async def __aenter__(self) -> LocalOwnership:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None

    def holds(self, record_id: str) -> bool:
        return True

    async def claim(self, record_id: str) -> str | None:
        return None

    async def release(self, record_id: str, settle: Callable[[], Awaitable[None]] | None = None) -> None:
        return None

    def owned(self) -> frozenset[str]:
        return frozenset()

    async def elsewhere(self, record_id: str) -> str | None:
        return None

    @contextlib.asynccontextmanager
    async def hold(self, record_id: str) -> AsyncIterator[bool]:
        yield True

    def on_lost(self, listener: LostListener) -> None:
        return None


class SqlOwnership:
    """Advisory locks on one PostgreSQL connection of this node's own; an async context manager (entered
    in the lifespan before the room registry, so that it is left after the registry's final snapshots)."""

    def __init__(self, database: Database, node_id: str, address: str) -> None:
        self.node_id = node_id
        self.address = address
        self._url = database.url
        self._connect_timeout = database.pool.connect_timeout_seconds
        self._engine: AsyncEngine | None = None
        self._connection: AsyncConnection | None = None
        # One statement at a time on the connection, in the order asked (asyncio.Lock is fair).
        self._lock = asyncio.Lock()
        self._owned: set[str] = set()
        self._listeners: list[LostListener] = []
        self._heartbeat: asyncio.Task[None] | None = None

    async def __aenter__(self) -> SqlOwnership:
        self._engine = create_async_engine(
            self._url,
            poolclass=NullPool,
            connect_args={
                "timeout": self._connect_timeout,
                "server_settings": {"application_name": APPLICATION_NAME},
            },
        )
        await self._connect()  # at start, a database that does not answer is an error
        self._heartbeat = asyncio.create_task(self._beat(), name="collab-ownership-heartbeat")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await stop_tasks(self._heartbeat)
        async with self._lock:
            connection, self._connection = self._connection, None
            self._owned.clear()
            if connection is not None:
                try:
                    async with asyncio.timeout(_STATEMENT_SECONDS):
                        await nodes.unregister(connection, self.node_id)
                        await connection.close()  # every lock goes with the session
                except (DBAPIError, OSError, TimeoutError) as exc:
                    log.warning("could not unregister node %s: %s", self.node_id, type(exc).__name__)
        if self._engine is not None:
            await self._engine.dispose()

    def holds(self, record_id: str) -> bool:
        return record_id in self._owned

    def owned(self) -> frozenset[str]:
        return frozenset(self._owned)

    @property
    def connected(self) -> bool:
        """Whether the lock connection is up (it is reconnected at the next heartbeat when it is not)."""
        return self._connection is not None

    def on_lost(self, listener: LostListener) -> None:
        self._listeners.append(listener)

    async def claim(self, record_id: str) -> str | None:
        # Shielded: a lock taken by a claim whose caller went away must still be recorded as owned.
        return await asyncio.shield(self._claim(record_id))

    async def _claim(self, record_id: str) -> str | None:
        for _ in range(_OWNER_ROW_POLLS):
            async with self._use() as connection:
                if record_id in self._owned:  # claimed meanwhile by another connection of this node
                    return None
                if await nodes.try_lock(connection, record_id):
                    await nodes.set_owner(connection, record_id, self.node_id)
                    self._owned.add(record_id)
                    return None
                owner = await nodes.owner_address(connection, record_id)
            if owner is not None and owner[0] != self.node_id:
                return owner[1]
            await asyncio.sleep(_OWNER_ROW_POLL_SECONDS)  # the owner is between its lock and its row
        raise OwnerUnreachable(f"record {record_id} is locked by a node that does not say where it is")

    async def release(self, record_id: str, settle: Callable[[], Awaitable[None]] | None = None) -> None:
        """`settle`: awaited between giving the record up here (a claim from then on takes the lock
        afresh) and unlocking it (what this node accepted for it must be stored before another loads it)."""
        if record_id not in self._owned:
            return
        self._owned.discard(record_id)  # before any await: a claim from now on takes the lock afresh
        if settle is not None:
            await settle()
        with contextlib.suppress(OwnershipUnavailable):  # the lock went with the connection anyway
            async with self._use() as connection:
                if record_id not in self._owned:  # else claimed here again meanwhile, with a lock of its own
                    await nodes.clear_owner(connection, record_id, self.node_id)
                await nodes.unlock(connection, record_id)

    async def elsewhere(self, record_id: str) -> str | None:
        async with self.hold(record_id) as here:
            if here:
                return None
        async with self._use() as connection:
            owner = await nodes.owner_address(connection, record_id)
        return owner[1] if owner is not None and owner[0] != self.node_id else None

    @contextlib.asynccontextmanager
    async def hold(self, record_id: str) -> AsyncIterator[bool]:
        if record_id in self._owned:
            yield True
            return
        async with self._use() as connection:
            got = await nodes.try_lock(connection, record_id)
        if not got:
            yield False
            return
        try:
            yield True
        finally:
            # One unlock for the one lock taken here; a claim made meanwhile holds its own.
            with contextlib.suppress(OwnershipUnavailable):
                async with self._use() as connection:
                    await nodes.unlock(connection, record_id)

    # -- the connection -----------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _use(self) -> AsyncIterator[AsyncConnection]:
        """The lock connection, one user at a time; a failure on it is the loss of every lock."""
        async with self._lock:
            connection = self._connection
            if connection is None:
                raise OwnershipUnavailable("the ownership connection is down")
            try:
                async with asyncio.timeout(_STATEMENT_SECONDS):
                    yield connection
            except (DBAPIError, OSError, TimeoutError) as exc:
                await self._lose(connection, exc)
                raise OwnershipUnavailable("the ownership connection is down") from exc

    async def _connect(self) -> None:
        assert self._engine is not None
        connection = await self._engine.connect()
        try:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await nodes.register(connection, self.node_id, self.address)
        except BaseException:
            await connection.close()
            raise
        self._connection = connection
        log.info("node %s owns records through its own database connection", self.node_id)

    async def _lose(self, connection: AsyncConnection, exc: BaseException) -> None:
        """Called with `_lock` held. Every lock is gone: no room of this node may go on serving."""
        if self._connection is not connection:
            return
        self._connection = None
        lost, self._owned = frozenset(self._owned), set()
        log.error(
            "node %s lost its ownership connection (%s): closing its %d rooms so that they move",
            self.node_id, type(exc).__name__, len(lost),
        )  # fmt: skip
        self._tell_lost(lost)
        with contextlib.suppress(Exception):
            await connection.invalidate()

    def _tell_lost(self, lost: frozenset[str]) -> None:
        for listener in self._listeners:
            try:
                listener(lost)
            except Exception:
                log.exception("an ownership-lost listener failed")

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(_HEARTBEAT_SECONDS)
            try:
                if self._connection is None:
                    async with self._lock:
                        await self._connect()
                    # A room loaded while the connection was down (its claim came just before) holds no
                    # lock either: the listeners drop whatever this node serves without owning it.
                    self._tell_lost(frozenset())
                    continue
                async with self._use() as connection:
                    await nodes.heartbeat(connection, self.node_id)
            except OwnershipUnavailable:
                pass  # logged by `_lose`; reconnected at the next beat
            except (DBAPIError, OSError, TimeoutError) as exc:
                log.warning(
                    "node %s cannot reach the database for ownership yet: %s",
                    self.node_id,
                    type(exc).__name__,
                )
