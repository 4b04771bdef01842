from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from persistence.database import Database
from persistence.models import Collection, Record, Tenant, new_id

MakeRecord = Callable[[], Awaitable[str]]


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """A migrated, empty database, closed after the test."""
    async with Database(database_url) as db:
        await db.migrate()
        yield db


@pytest.fixture
def make_record(database: Database) -> MakeRecord:
    """Creates a record (own tenant and collection) for update rows to point at; returns its id."""

    async def make() -> str:
        tenant_id, collection_id, record_id = new_id(), new_id(), new_id()
        async with database.session() as session, session.begin():
            session.add(Tenant(id=tenant_id, slug=tenant_id, name="Test tenant"))
            await session.flush()
            session.add(
                Collection(
                    id=collection_id, tenant_id=tenant_id, name="customers", label="Customers", fields=[]
                )
            )
            await session.flush()
            session.add(Record(id=record_id, tenant_id=tenant_id, collection_id=collection_id))
        return record_id

    return make
