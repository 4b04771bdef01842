"""The update writer stores the feed's events: they come back with their ids in commit order, to every
consumer of its outcomes and to each caller."""

import asyncio
from datetime import UTC, datetime

from collab.store.writer import SqlUpdateWriter
from collab.store.writes import Committed, WriteOutcome
from persistence.database import Database
from persistence.events import NewEvent, after


def _events(record: str, count: int) -> list[NewEvent]:
    at = datetime.now(UTC)
    return [
        NewEvent("tenant", "collection", f"{record}-{n}", "record.updated", at, None, {"n": n})
        for n in range(count)
    ]


async def test_events_come_back_with_their_ids_in_commit_order(database_url: str) -> None:
    async with Database(database_url) as database:
        await database.migrate()
        async with SqlUpdateWriter(database) as writer:
            seen: list[tuple[int, NewEvent]] = []
            writer.subscribe(
                lambda outcome: seen.extend(outcome.events) if isinstance(outcome, Committed) else None
            )
            # Three callers before the writer runs (one transaction), then one more (the next one).
            first = [
                writer.store_events(_events(name, count)) for name, count in (("a", 3), ("b", 1), ("c", 2))
            ]
            heard = await asyncio.gather(*first)
            heard.append(await writer.store_events(_events("d", 2)))
        async with database.session() as session:
            stored = await after(session, "tenant", "collection", 0, 100)

    assert [len(ids) for ids in heard] == [3, 1, 2, 2]
    flat = [event_id for ids in heard for event_id in ids]
    assert flat == sorted(flat) and [row.id for row in stored] == flat
    assert [event_id for event_id, _ in seen] == flat
    assert [event.record_id for _, event in seen] == [row.record_id for row in stored]
    assert [row.record_id for row in stored] == ["a-0", "a-1", "a-2", "b-0", "c-0", "c-1", "d-0", "d-1"]


async def test_a_failing_consumer_does_not_hold_back_the_others(database_url: str) -> None:
    async with Database(database_url) as database:
        await database.migrate()
        async with SqlUpdateWriter(database) as writer:
            heard: list[WriteOutcome] = []

            def broken(outcome: WriteOutcome) -> None:
                raise RuntimeError("a consumer that fails")

            writer.subscribe(broken)
            writer.subscribe(heard.append)
            done = [writer.store_events(_events("x", 1)), writer.store_events(_events("y", 1))]
            ids = await asyncio.wait_for(asyncio.gather(*done), timeout=10)
    assert len(heard) == 1 and isinstance(heard[0], Committed)
    assert [event_id for event_id, _ in heard[0].events] == [i for part in ids for i in part]


async def test_writes_that_come_within_the_commit_interval_share_one_transaction(database_url: str) -> None:
    async with Database(database_url) as database:
        await database.migrate()
        async with SqlUpdateWriter(database, commit_interval_seconds=0.2) as writer:
            commits: list[int] = []

            def count(outcome: WriteOutcome) -> None:
                if isinstance(outcome, Committed):
                    commits.append(len(outcome.events))

            writer.subscribe(count)
            await writer.store_events(_events("first", 1))
            later = [writer.store_events(_events("a", 1))]
            for _ in range(5):  # the writer runs meanwhile: without the interval, "a" commits alone
                await asyncio.sleep(0)
            later += [writer.store_events(_events(name, 1)) for name in ("b", "c")]
            await asyncio.gather(*later)
    assert commits == [1, 3]
