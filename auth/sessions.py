"""Login sessions: log in, authenticate a token, log out.

A token is checked against its SHA-256 on every request, joined with its user and tenant, so a revoked
session or a deactivated user is out at the next request.

That lookup runs on every request and every WebSocket join: it is one Core statement over the three tables,
built once, reading only the columns a `Principal` and the checks need (issue 17: built per call, as ORM
objects of the three classes, it cost about as much CPU as all of a cold room's load statements together).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth.accounts import normalise_email
from auth.errors import InvalidCredentials, NotAuthenticated
from auth.passwords import verify_password
from auth.principal import Principal, Role
from auth.tokens import hash_token, new_token
from persistence.models import LoginSession, Tenant, User, is_id, utcnow

# Writing last_seen on every request would turn each read into a write; a minute is precise enough.
_LAST_SEEN_RESOLUTION = timedelta(minutes=1)


class _Dated(Protocol):
    """A session's two moments: a `LoginSession`, or a row of `_BY_TOKEN`."""

    @property
    def created_at(self) -> datetime: ...

    @property
    def last_seen_at(self) -> datetime: ...


@dataclass(frozen=True)
class SessionPolicy:
    """A session ends after `idle` without use, and after `max_age` whatever happens."""

    idle: timedelta = timedelta(days=7)
    max_age: timedelta = timedelta(days=30)

    def expired(self, login_session: _Dated, now: datetime) -> bool:
        return (
            now - _aware(login_session.last_seen_at) > self.idle
            or now - _aware(login_session.created_at) > self.max_age
        )


def _aware(moment: datetime) -> datetime:
    """SQLite hands datetimes back without their zone; they are stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


def _principal(user: User, tenant: Tenant, session_id: str) -> Principal:
    return Principal(
        user_id=user.id,
        tenant_id=tenant.id,
        tenant_slug=tenant.slug,
        email=user.email,
        name=user.name,
        role=Role(user.role),
        session_id=session_id,
    )


async def login(
    session: AsyncSession,
    *,
    tenant_slug: str,
    email: str,
    password: str,
    user_agent: str = "",
    ip: str = "",
) -> tuple[str, Principal]:
    row = (
        await session.execute(
            select(User, Tenant)
            .join(Tenant, Tenant.id == User.tenant_id)
            .where(Tenant.slug == tenant_slug, User.email == normalise_email(email))
        )
    ).first()
    user, tenant = (row[0], row[1]) if row else (None, None)
    if user is not None and tenant is not None:
        session.expunge(user)  # keep what was read, detached from the transaction about to end
        session.expunge(tenant)
    # The pooled connection goes back while the password is checked (tens of ms in a worker thread):
    # holding it, 15 logins in flight used up the pool and every other request waited.
    await session.rollback()
    ok = await verify_password(user.password_hash if user else None, password)
    if not ok or user is None or tenant is None or not user.active:
        raise InvalidCredentials("wrong tenant, email or password")
    token = new_token()
    login_session = LoginSession(
        tenant_id=tenant.id,
        user_id=user.id,
        token_hash=hash_token(token),
        user_agent=user_agent[:400],
        ip=ip[:64],
    )
    session.add(login_session)
    await session.flush()
    return token, _principal(user, tenant, login_session.id)


_sessions, _users, _tenants = LoginSession.__table__, User.__table__, Tenant.__table__
_BY_TOKEN = (
    select(
        _sessions.c.id,
        _sessions.c.created_at,
        _sessions.c.last_seen_at,
        _sessions.c.revoked_at,
        _users.c.id.label("user_id"),
        _users.c.tenant_id.label("user_tenant_id"),
        _users.c.email,
        _users.c.name,
        _users.c.role,
        _users.c.active,
        _tenants.c.id.label("tenant_id"),
        _tenants.c.slug,
    )
    .join(_users, _users.c.id == _sessions.c.user_id)
    .join(_tenants, _tenants.c.id == _sessions.c.tenant_id)
    .where(_sessions.c.token_hash == bindparam("token_hash"))
)
_TOUCH = (
    update(LoginSession)
    .where(LoginSession.id == bindparam("session_id"))
    .values(last_seen_at=bindparam("seen"))
)


async def authenticate(
    session: AsyncSession, token: str | None, policy: SessionPolicy | None = None
) -> Principal:
    if not token:
        raise NotAuthenticated("no session token")
    row = (await session.execute(_BY_TOKEN, {"token_hash": hash_token(token)})).first()
    if row is None:
        raise NotAuthenticated("unknown session")
    if row.revoked_at is not None or not row.active or row.user_tenant_id != row.tenant_id:
        raise NotAuthenticated("session ended")
    now = utcnow()
    if (policy or SessionPolicy()).expired(row, now):
        raise NotAuthenticated("session expired")
    if now - _aware(row.last_seen_at) > _LAST_SEEN_RESOLUTION:
        await session.execute(_TOUCH, {"session_id": row.id, "seen": now})
    return Principal(
        user_id=row.user_id,
        tenant_id=row.tenant_id,
        tenant_slug=row.slug,
        email=row.email,
        name=row.name,
        role=Role(row.role),
        session_id=row.id,
    )


async def logout(session: AsyncSession, principal: Principal) -> None:
    await session.execute(
        update(LoginSession).where(LoginSession.id == principal.session_id).values(revoked_at=utcnow())
    )


async def list_sessions(
    session: AsyncSession, user_id: str, policy: SessionPolicy | None = None
) -> list[LoginSession]:
    """The user's live sessions, newest first."""
    rows = await session.scalars(
        select(LoginSession)
        .where(LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None))
        .order_by(LoginSession.created_at.desc())
    )
    now = utcnow()
    return [row for row in rows if not (policy or SessionPolicy()).expired(row, now)]


async def revoke(session: AsyncSession, user_id: str, session_ids: list[str] | None = None) -> list[str]:
    """End sessions of one user (all of them when `session_ids` is None); returns the ids that ended."""
    query = select(LoginSession.id).where(LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None))
    if session_ids is not None:
        session_ids = [session_id for session_id in session_ids if is_id(session_id)]
        query = query.where(LoginSession.id.in_(session_ids))
    ended = list(await session.scalars(query))
    if ended:
        await session.execute(
            update(LoginSession).where(LoginSession.id.in_(ended)).values(revoked_at=utcnow())
        )
    return ended


async def session_states(
    session: AsyncSession, session_ids: set[str], policy: SessionPolicy
) -> dict[str, Role | None]:
    """For live connections: each session's current role, or None once it may no longer be used."""
    rows = await session.execute(
        select(LoginSession, User)
        .join(User, User.id == LoginSession.user_id)
        .where(LoginSession.id.in_(session_ids))
    )
    now = utcnow()
    states: dict[str, Role | None] = dict.fromkeys(session_ids)
    for login_session, user in rows:
        usable = login_session.revoked_at is None and user.active and not policy.expired(login_session, now)
        states[login_session.id] = Role(user.role) if usable else None
    return states
