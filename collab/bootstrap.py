"""Bringing a database up to date, and the first start of an empty one."""

from __future__ import annotations

from sqlalchemy import select

from auth.accounts import Bootstrap, bootstrap_if_empty
from collab.records import SAMPLE_COLLECTION, create_collection
from collab.settings import Settings
from persistence.database import Database
from persistence.models import Collection, Tenant


async def prepare_database(database: Database, settings: Settings) -> Bootstrap | None:
    """Apply migrations; on a database without users, create tenant `default`, an admin and `customers`."""
    await database.migrate()
    async with database.session() as session:
        bootstrap = await bootstrap_if_empty(
            session, settings.bootstrap_admin_email, settings.bootstrap_admin_password
        )
        if bootstrap is not None:
            tenant = await session.scalar(select(Tenant).where(Tenant.slug == bootstrap.tenant))
            assert tenant is not None
            has_collection = await session.scalar(
                select(Collection.id).where(Collection.tenant_id == tenant.id)
            )
            if has_collection is None:
                await create_collection(session, tenant.id, SAMPLE_COLLECTION)
        await session.commit()
    return bootstrap
