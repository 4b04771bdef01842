"""At start the feed publishes what a crashed run committed but never published, from the records' state."""

from datetime import timedelta

from collab.changefeed.feed import Feed
from collab.store.writer import SqlUpdateWriter
from persistence.database import Database
from persistence.events import NewEvent, after
from persistence.models import Collection, EventRow, Record, Tenant, new_id, utcnow
from web.sse_frames import SSE


async def _lifecycle_after_restart(database_url: str) -> tuple[dict[str, str], list[EventRow]]:
    """Records in every state a crash can leave behind; returns their ids by name and the events after."""
    async with Database(database_url) as database:
        await database.migrate()
        tenant, collection = new_id(), new_id()
        names = ["published", "unpublished", "deleted_unpublished", "restored_unpublished", "old_and_quiet"]
        ids = {name: new_id() for name in names}
        long_ago = utcnow() - timedelta(days=2)
        async with database.session() as session, session.begin():
            session.add(Tenant(id=tenant, slug=tenant, name="Tenant"))
            await session.flush()
            session.add(Collection(id=collection, tenant_id=tenant, name="customers", label="C", fields=[]))
            await session.flush()
            for name, record_id in ids.items():
                session.add(
                    Record(
                        id=record_id,
                        tenant_id=tenant,
                        collection_id=collection,
                        created_at=long_ago if name == "old_and_quiet" else utcnow(),
                        deleted_at=utcnow() if name == "deleted_unpublished" else None,
                        summary={"name": name},
                    )
                )
        published = [
            NewEvent(tenant, collection, ids[name], kind, utcnow(), None, {})
            for name, kind in (
                ("published", "record.created"),
                ("deleted_unpublished", "record.created"),
                ("restored_unpublished", "record.created"),
                ("restored_unpublished", "record.deleted"),
            )
        ]
        async with SqlUpdateWriter(database) as writer:
            await writer.store_events(published)
            async with Feed(database, writer, framer=SSE):  # entering it recovers
                pass
            async with Feed(database, writer, framer=SSE):  # and a second start finds nothing left to publish
                pass
        async with database.session() as session:
            stored = await after(session, tenant, collection, 0, 100)
    return ids, stored[len(published) :]


async def test_a_restart_publishes_the_lifecycle_events_a_crash_lost(database_url: str) -> None:
    ids, recovered = await _lifecycle_after_restart(database_url)
    by_record = {row.record_id: row for row in recovered}
    assert [(row.record_id, row.type) for row in recovered] == [
        (ids["unpublished"], "record.created"),
        (ids["deleted_unpublished"], "record.deleted"),
        (ids["restored_unpublished"], "record.restored"),
    ]
    assert by_record[ids["unpublished"]].fields == {"name": "unpublished"}
    assert by_record[ids["restored_unpublished"]].fields == {"name": "restored_unpublished"}
