"""Bringing a database up to date, and the first start of an empty one."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from auth.accounts import bootstrap_if_empty
from collab.records.records import SAMPLE_COLLECTION, create_collection
from collab.settings import Settings
from persistence.database import Database, PoolSettings
from persistence.models import Collection, Tenant
from persistence.tenant_scope import APP_ROLE, system_work


def open_database(settings: Settings) -> Database:
    """The database the settings name, with their pool settings (enter it with `async with`)."""
    pool = PoolSettings(
        size=settings.database_pool_size,
        overflow=settings.database_pool_overflow,
        timeout_seconds=settings.database_pool_timeout_seconds,
        connect_timeout_seconds=settings.database_connect_timeout_seconds,
    )
    return Database(settings.database_url, pool, role=APP_ROLE)


@dataclass(frozen=True)
class FirstStart:
    """What a first start created. `generated_password` is set only when the server chose the password
    (it is then shown once); one the operator chose (COLLAB_BOOTSTRAP_ADMIN_PASSWORD) is never echoed."""

    tenant: str
    email: str
    generated_password: str | None

    def announcement(self, url: str) -> list[str]:
        """The lines `collab serve` prints once the server listens."""
        password = (
            f"  password {self.generated_password}"
            if self.generated_password is not None
            else "  password the one in COLLAB_BOOTSTRAP_ADMIN_PASSWORD"
        )
        return [
            "collab: first start: created tenant 'default' with an admin. Log in once with",
            f"  url {url}/  tenant {self.tenant}  email {self.email}",
            password,
        ]


@system_work  # the first start makes a tenant: nobody's yet
async def prepare_database(database: Database, settings: Settings) -> FirstStart | None:
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
    if bootstrap is None:
        return None
    chosen = settings.bootstrap_admin_password
    return FirstStart(bootstrap.tenant, bootstrap.email, None if chosen else bootstrap.password)
