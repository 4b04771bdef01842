"""The update writer stores the feed's events: each caller hears its ids after the commit, in commit order."""

import asyncio
from datetime import UTC, datetime

from collab.store.writer import SqlUpdateWriter
from persistence.database import Database
from persistence.events import NewEvent, after


def _events(record: str, count: int) -> list[NewEvent]:
    at = datetime.now(UTC)
    return [
        NewEvent("tenant", "collection", f"{record}-{n}", "record.updated", at, None, {"n": n})
        for n in range(count)
    ]


async def test_callers_hear_their_ids_in_commit_order(database_url: str) -> None:
    async with Database(database_url) as database:
        await database.migrate()
        async with SqlUpdateWriter(database) as writer:
            heard: list[tuple[str, list[int]]] = []
            # Three callers before the writer runs (one transaction), then one more (the next one).
            first = [
                writer.store_events(_events(name, count), lambda ids, name=name: heard.append((name, ids)))
                for name, count in (("a", 3), ("b", 1), ("c", 2))
            ]
            await asyncio.gather(*first)
            await writer.store_events(_events("d", 2), lambda ids: heard.append(("d", ids)))
        async with database.session() as session:
            stored = await after(session, "tenant", "collection", 0, 100)

    assert [name for name, _ in heard] == ["a", "b", "c", "d"]
    assert [len(ids) for _, ids in heard] == [3, 1, 2, 2]
    flat = [event_id for _, ids in heard for event_id in ids]
    assert flat == sorted(flat) and [row.id for row in stored] == flat
    assert [row.record_id for row in stored] == ["a-0", "a-1", "a-2", "b-0", "c-0", "c-1", "d-0", "d-1"]


async def test_a_failing_listener_does_not_hold_back_the_others(database_url: str) -> None:
    async with Database(database_url) as database:
        await database.migrate()
        async with SqlUpdateWriter(database) as writer:
            heard: list[list[int]] = []

            def broken(ids: list[int]) -> None:
                raise RuntimeError("a listener that fails")

            done = [
                writer.store_events(_events("x", 1), broken),
                writer.store_events(_events("y", 1), heard.append),
            ]
            await asyncio.wait_for(asyncio.gather(*done), timeout=10)
    assert len(heard) == 1 and len(heard[0]) == 1
