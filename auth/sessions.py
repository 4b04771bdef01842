"""Login sessions: log in, authenticate a token, log out.

A token is checked against its SHA-256 on every request, joined with its user and tenant, so a revoked
session or a deactivated user is out at the next request.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth.accounts import normalise_email
from auth.errors import InvalidCredentials, NotAuthenticated
from auth.passwords import verify_password
from auth.principal import Principal, Role
from auth.tokens import hash_token, new_token
from persistence.models import LoginSession, Tenant, User, utcnow

# Writing last_seen on every request would turn each read into a write; a minute is precise enough.
_LAST_SEEN_RESOLUTION = timedelta(minutes=1)


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
    ok = verify_password(user.password_hash if user else None, password)
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


async def authenticate(session: AsyncSession, token: str | None) -> Principal:
    if not token:
        raise NotAuthenticated("no session token")
    row = (
        await session.execute(
            select(LoginSession, User, Tenant)
            .join(User, User.id == LoginSession.user_id)
            .join(Tenant, Tenant.id == LoginSession.tenant_id)
            .where(LoginSession.token_hash == hash_token(token))
        )
    ).first()
    if row is None:
        raise NotAuthenticated("unknown session")
    login_session, user, tenant = row[0], row[1], row[2]
    if login_session.revoked_at is not None or not user.active or user.tenant_id != tenant.id:
        raise NotAuthenticated("session ended")
    now = utcnow()
    last_seen = login_session.last_seen_at
    if last_seen.tzinfo is None:  # SQLite hands back naive datetimes
        last_seen = last_seen.replace(tzinfo=now.tzinfo)
    if now - last_seen > _LAST_SEEN_RESOLUTION:
        await session.execute(
            update(LoginSession).where(LoginSession.id == login_session.id).values(last_seen_at=now)
        )
    return _principal(user, tenant, login_session.id)


async def logout(session: AsyncSession, principal: Principal) -> None:
    await session.execute(
        update(LoginSession).where(LoginSession.id == principal.session_id).values(revoked_at=utcnow())
    )
