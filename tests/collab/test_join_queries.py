"""What a live join costs the database (issue 17): the database sessions and statements from the moment
`Connections.serve` is called until the connection is in its room, counted with SQLAlchemy's events on
the app's own engine, SQLite and PostgreSQL. A join that reads more fails here."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from sqlalchemy import event

from collab.errors import RecordNotFound
from collab.services.records import NewRecord
from tests.collab.services.conftest import RecordingChannel, Stack, given, running

# A join to a room that is not loaded: the record checked for the caller's tenant and the room loaded, in
# one session. To a loaded room: the record checked, one session.
SESSIONS_COLD = 1
SESSIONS_WARM = 1
# Statements (on PostgreSQL, the transaction's tenant or system setting is one more each).
STATEMENTS_COLD = {"sqlite": 4, "postgresql": 5}
STATEMENTS_WARM = {"sqlite": 1, "postgresql": 2}


SYSTEM = "SELECT set_config('app.system'"  # PostgreSQL: a session that starts as the system's


# The server's periodic tasks (collab/periodic.py and the registry's housekeeping), by name.
HOUSEKEEPING_TASKS = frozenset(
    {"collab-feed", "collab-trash-purge", "collab-retention", "collab-backups", "collab-housekeeping"}
)


@dataclass
class Counts:
    checkouts: list[int] = field(default_factory=list)  # the connection of each session that ran anything
    run: list[tuple[int, str]] = field(default_factory=list)  # (connection, statement)
    # A join to a loaded room never does system work: a session that starts as system work meanwhile is the
    # server's own (a snapshot that became due after the load, say) and is left out of what it counts.
    leave_out_system: bool = False

    def _counted(self) -> tuple[set[int], list[str]]:
        first: dict[int, str] = {}
        for conn, text in self.run:
            first.setdefault(conn, text)
        system = {conn for conn, text in first.items() if self.leave_out_system and text.startswith(SYSTEM)}
        return system, [text for conn, text in self.run if conn not in system]

    @property
    def sessions(self) -> int:
        system, _ = self._counted()
        return sum(1 for conn in self.checkouts if conn not in system)

    @property
    def statements(self) -> int:
        return len(self._counted()[1])

    @property
    def texts(self) -> list[str]:
        return self._counted()[1]


@pytest.fixture
async def stack(database_url: str) -> AsyncIterator[Stack]:
    async with running(database_url) as running_stack:
        yield running_stack


@contextmanager
def counted(stack: Stack, leave_out_system: bool = False) -> Iterator[Counts]:
    """Sessions and statements run while the join is served (see `Counts.leave_out_system`)."""
    engine = stack.services.connections._database.engine.sync_engine
    counts = Counts(leave_out_system=leave_out_system)
    # Only sessions that start while counting, and not in the server's own periodic work (the feed's first
    # prune came during the join once the start-up got faster): neither is the join's.
    mine: set[int] = set()

    def on_checkout(dbapi_connection: Any, *_: Any) -> None:
        task = asyncio.current_task()
        if task is not None and task.get_name() in HOUSEKEEPING_TASKS:
            return
        counts.checkouts.append(id(dbapi_connection))
        mine.add(id(dbapi_connection))

    def on_checkin(dbapi_connection: Any, *_: Any) -> None:
        mine.discard(id(dbapi_connection))

    def on_execute(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if (key := id(conn.connection.dbapi_connection)) in mine:
            counts.run.append((key, statement.split("\n")[0][:80]))

    event.listen(engine.pool, "checkout", on_checkout)
    event.listen(engine.pool, "checkin", on_checkin)
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield counts
    finally:
        event.remove(engine.pool, "checkout", on_checkout)
        event.remove(engine.pool, "checkin", on_checkin)
        event.remove(engine, "before_cursor_execute", on_execute)


class JoiningChannel(RecordingChannel):
    """Knows when the room first sends to it (its sync step 1): the connection is in the room."""

    def __init__(self) -> None:
        super().__init__()
        self.joined = asyncio.Event()

    async def send(self, message: bytes) -> None:
        self.joined.set()
        await super().send(message)


async def join(stack: Stack, record_id: str) -> tuple[RecordingChannel, asyncio.Task[None]]:
    """A connection of the admin's, served until it is in the room."""
    channel = JoiningChannel()
    serving = asyncio.create_task(stack.services.connections.serve(stack.admin, record_id, channel))
    joined = asyncio.create_task(channel.joined.wait())
    await asyncio.wait({serving, joined}, timeout=15, return_when=asyncio.FIRST_COMPLETED)
    joined.cancel()
    assert channel.joined.is_set(), serving
    return channel, serving


async def test_a_join_reads_the_record_once_in_one_session(stack: Stack, database_url: str) -> None:
    dialect = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    created = await stack.services.records.create(
        stack.admin, given(NewRecord("customers", {"name": "Panda"}))
    )
    record_id = created["id"]
    assert stack.services.connections._registry.open_room(record_id) is None
    with counted(stack) as cold:
        first, first_serving = await join(stack, record_id)
    with counted(stack, leave_out_system=True) as warm:
        second, second_serving = await join(stack, record_id)
    for channel, serving in ((first, first_serving), (second, second_serving)):
        await channel.close(1000)
        await serving
    print(f"join, room not loaded: {cold.sessions} sessions, {cold.statements} statements: {cold.texts}")
    print(f"join, room loaded: {warm.sessions} sessions, {warm.statements} statements: {warm.texts}")
    assert (cold.sessions, cold.statements) == (SESSIONS_COLD, STATEMENTS_COLD[dialect]), cold.texts
    assert (warm.sessions, warm.statements) == (SESSIONS_WARM, STATEMENTS_WARM[dialect]), warm.texts


async def test_a_refusal_inside_a_shared_load_is_its_callers_alone(stack: Stack) -> None:
    """A stranger's join starts the load and is refused inside it (the record is not in its tenant): the
    owner's join that waited on the same load is not refused with it, and loads the room for itself."""
    created = await stack.services.records.create(stack.admin, given(NewRecord("customers", {"name": "A"})))
    record_id = created["id"]
    stranger = replace(stack.admin, tenant_id="0" * 32, user_id="1" * 32, session_id="2" * 32)
    refused = asyncio.create_task(stack.services.connections.serve(stranger, record_id, JoiningChannel()))
    channel, serving = await join(stack, record_id)  # its task starts while the stranger's load runs
    with pytest.raises(RecordNotFound):
        await refused
    assert stack.services.connections._registry.open_room(record_id) is not None
    await channel.close(1000)
    await serving
