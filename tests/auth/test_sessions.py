"""A token's lookup (`auth.sessions.authenticate`): who it is, and every way a session stops counting."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from auth.errors import NotAuthenticated
from auth.principal import Role
from auth.sessions import SessionPolicy, authenticate
from auth.tokens import hash_token, new_token
from persistence.database import Database
from persistence.models import LoginSession, Tenant, User, new_id, utcnow


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    async with Database(database_url) as db:
        await db.migrate()
        yield db


async def _tenant(database: Database) -> str:
    tenant_id = new_id()
    async with database.session() as session, session.begin():
        session.add(Tenant(id=tenant_id, slug=tenant_id, name="Tenant"))
    return tenant_id


async def _user(database: Database, tenant_id: str, role: str = "editor") -> str:
    user_id = new_id()
    async with database.session() as session, session.begin():
        session.add(
            User(
                id=user_id, tenant_id=tenant_id, email=f"{user_id}@example.com", name="Ada", role=role,
                password_hash="x",
            )
        )  # fmt: skip
    return user_id


async def _login(database: Database, tenant_id: str, user_id: str, age: timedelta = timedelta()) -> str:
    """A session's token; `age`: how long ago it was created and last used."""
    token, when = new_token(), utcnow() - age
    async with database.session() as session, session.begin():
        session.add(
            LoginSession(
                tenant_id=tenant_id, user_id=user_id, token_hash=hash_token(token), created_at=when,
                last_seen_at=when,
            )
        )  # fmt: skip
    return token


async def _authenticate(database: Database, token: str | None, policy: SessionPolicy | None = None) -> Role:
    async with database.session() as session, session.begin():
        return (await authenticate(session, token, policy)).role


async def test_a_token_is_its_user_in_its_tenant(database: Database) -> None:
    tenant_id = await _tenant(database)
    user_id = await _user(database, tenant_id, "viewer")
    token = await _login(database, tenant_id, user_id)
    async with database.session() as session:
        principal = await authenticate(session, token)
    assert (principal.user_id, principal.tenant_id, principal.tenant_slug) == (user_id, tenant_id, tenant_id)
    assert (principal.email, principal.name, principal.role) == (f"{user_id}@example.com", "Ada", Role.VIEWER)
    async with database.session() as session:
        stored = await session.scalar(select(LoginSession).where(LoginSession.id == principal.session_id))
    assert stored is not None and stored.user_id == user_id


async def test_use_is_noted_at_most_once_a_minute(database: Database) -> None:
    tenant_id = await _tenant(database)
    user_id = await _user(database, tenant_id)
    fresh = await _login(database, tenant_id, user_id)
    stale = await _login(database, tenant_id, user_id, age=timedelta(hours=1))

    async def last_seen(token: str) -> timedelta:
        async with database.session() as session:
            seen = await session.scalar(
                select(LoginSession.last_seen_at).where(LoginSession.token_hash == hash_token(token))
            )
        assert seen is not None
        return utcnow() - (seen if seen.tzinfo else seen.replace(tzinfo=utcnow().tzinfo))

    before = await last_seen(fresh)
    await _authenticate(database, fresh)
    await _authenticate(database, stale)
    assert await last_seen(fresh) >= before  # not written again within the minute
    assert await last_seen(stale) < timedelta(minutes=1)


async def test_every_ended_session_is_refused(database: Database) -> None:
    tenant_id, other_tenant = await _tenant(database), await _tenant(database)
    user_id = await _user(database, tenant_id)
    await _authenticate(database, await _login(database, tenant_id, user_id))

    revoked = await _login(database, tenant_id, user_id)
    async with database.session() as session, session.begin():
        await session.execute(
            update(LoginSession)
            .where(LoginSession.token_hash == hash_token(revoked))
            .values(revoked_at=utcnow())
        )
    # A session that names another tenant than its user's (never written by collab): not that tenant's.
    foreign = await _login(database, other_tenant, user_id)
    idle = await _login(database, tenant_id, user_id, age=timedelta(days=2))
    refused = [None, "", "not-a-token", revoked, foreign]
    for token in refused:
        with pytest.raises(NotAuthenticated):
            await _authenticate(database, token)
    with pytest.raises(NotAuthenticated, match="expired"):
        await _authenticate(database, idle, SessionPolicy(idle=timedelta(days=1)))
    with pytest.raises(NotAuthenticated, match="expired"):
        await _authenticate(database, idle, SessionPolicy(max_age=timedelta(days=1)))

    deactivated = await _login(database, tenant_id, user_id)
    async with database.session() as session, session.begin():
        await session.execute(update(User).where(User.id == user_id).values(active=False))
    with pytest.raises(NotAuthenticated, match="ended"):
        await _authenticate(database, deactivated)
