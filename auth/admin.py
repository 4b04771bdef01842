"""User administration within one tenant (users, failed-login lockouts), each action in the audit log.

Functions return what changed so the caller can act on live connections (close or downgrade them):
auth never reaches into rooms.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth import audit, sessions
from auth.accounts import add_user
from auth.errors import InvalidInput, LastAdmin, LockoutNotFound, UserNotFound
from auth.passwords import MIN_PASSWORD_LENGTH, hash_password
from auth.principal import Principal, Role
from auth.throttle import LockKey, Lockout, LoginThrottle
from persistence.models import Tenant, User, is_id


@dataclass(frozen=True)
class UserChange:
    user: User
    ended_sessions: list[str]
    role_changed: bool
    deactivated: bool


DELETED_NAME = "Deleted user"
_UNUSABLE_HASH = "!"  # no argon2 hash: every password check fails


async def list_users(session: AsyncSession, tenant_id: str) -> list[User]:
    return list(
        await session.scalars(
            select(User).where(User.tenant_id == tenant_id, User.deleted_at.is_(None)).order_by(User.email)
        )
    )


async def find_user(session: AsyncSession, tenant_id: str, user_id: str) -> User:
    """A user of the tenant who is not deleted; `UserNotFound` otherwise."""
    if not is_id(user_id):
        raise UserNotFound("no such user")
    user = await session.scalar(
        select(User).where(User.tenant_id == tenant_id, User.id == user_id, User.deleted_at.is_(None))
    )
    if user is None:
        raise UserNotFound("no such user")
    return user


async def create_user(
    session: AsyncSession,
    admin: Principal,
    *,
    email: str,
    role: str,
    name: str | None,
    password: str | None,
    ip: str,
) -> tuple[User, str | None]:
    """Returns the user and, when none was given, the generated password (to show once)."""
    generated = None if password else secrets.token_urlsafe(12)
    tenant = await session.get(Tenant, admin.tenant_id)
    assert tenant is not None
    user = await add_user(
        session, tenant, email=email, role=role, password=password or generated or "", name=name
    )
    await audit.record(
        session,
        action="user.create",
        tenant_id=admin.tenant_id,
        actor_id=admin.user_id,
        target_user_id=user.id,
        ip=ip,
        detail={"email": user.email, "role": user.role},
    )
    return user, generated


async def _active_admins(session: AsyncSession, tenant_id: str) -> int:
    return (
        await session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.tenant_id == tenant_id, User.role == Role.ADMIN.value, User.active.is_(True))
        )
        or 0
    )


async def update_user(
    session: AsyncSession,
    admin: Principal,
    user_id: str,
    *,
    role: str | None = None,
    active: bool | None = None,
    name: str | None = None,
    ip: str,
) -> UserChange:
    user = await find_user(session, admin.tenant_id, user_id)
    if role is not None and role not in {r.value for r in Role}:
        raise InvalidInput(f"role must be one of {', '.join(r.value for r in Role)}")
    if name is not None and not (0 < len(name.strip()) <= 200):
        raise InvalidInput("a name has 1 to 200 characters")
    loses_admin = (
        user.role == Role.ADMIN.value and user.active and (active is False or role not in (None, "admin"))
    )
    if loses_admin and await _active_admins(session, admin.tenant_id) <= 1:
        raise LastAdmin("the tenant would be left without an active admin")
    role_changed = role is not None and role != user.role
    deactivated = active is False and user.active
    activated = active is True and not user.active
    if role_changed:
        await audit.record(
            session, action="user.role", tenant_id=admin.tenant_id, actor_id=admin.user_id,
            target_user_id=user.id, ip=ip, detail={"from": user.role, "to": role},
        )  # fmt: skip
        user.role = role or user.role
    if deactivated or activated:
        await audit.record(
            session, action="user.deactivate" if deactivated else "user.activate", tenant_id=admin.tenant_id,
            actor_id=admin.user_id, target_user_id=user.id, ip=ip,
        )  # fmt: skip
        user.active = bool(active)
    if name is not None and name.strip() != user.name:
        user.name = name.strip()
    ended = await sessions.revoke(session, user.id) if deactivated else []
    await session.flush()
    return UserChange(user=user, ended_sessions=ended, role_changed=role_changed, deactivated=deactivated)


async def delete_user(session: AsyncSession, admin: Principal, user_id: str, ip: str) -> UserChange:
    """Delete a user: the row stays, so history and the audit log keep their ids, but the name becomes
    "Deleted user", the email and password go (the address may be used again), every session ends, and
    emails in earlier audit entries about the user are removed."""
    user = await find_user(session, admin.tenant_id, user_id)
    if user.id == admin.user_id:
        raise InvalidInput("you cannot delete yourself; another admin can")
    if user.role == Role.ADMIN.value and user.active and await _active_admins(session, admin.tenant_id) <= 1:
        raise LastAdmin("the tenant would be left without an active admin")
    ended = await sessions.revoke(session, user.id)
    await audit.forget_email(session, admin.tenant_id, user.id, user.email)
    user.name = DELETED_NAME
    user.email = f"deleted-{user.id}@deleted.invalid"
    user.password_hash = _UNUSABLE_HASH
    user.active = False
    user.deleted_at = datetime.now(UTC)
    await audit.record(
        session, action="user.delete", tenant_id=admin.tenant_id, actor_id=admin.user_id,
        target_user_id=user.id, ip=ip, detail={"sessions_ended": len(ended)},
    )  # fmt: skip
    await session.flush()
    return UserChange(user=user, ended_sessions=ended, role_changed=False, deactivated=True)


async def reset_password(
    session: AsyncSession, admin: Principal, user_id: str, password: str | None, ip: str
) -> tuple[str | None, list[str]]:
    """Set a new password and end the user's sessions; returns the generated password (if any) and them."""
    user = await find_user(session, admin.tenant_id, user_id)
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    generated = None if password else secrets.token_urlsafe(12)
    user.password_hash = await hash_password(password or generated or "")
    ended = await sessions.revoke(session, user.id)
    await audit.record(
        session, action="user.password_reset", tenant_id=admin.tenant_id, actor_id=admin.user_id,
        target_user_id=user.id, ip=ip, detail={"sessions_ended": len(ended)},
    )  # fmt: skip
    return generated, ended


async def lockouts(admin: Principal, throttle: LoginThrottle) -> list[Lockout]:
    """Failed logins counted now against the admin's tenant: its accounts, and the addresses they used."""
    return await throttle.lockouts(admin.tenant_slug)


async def clear_lockout(
    session: AsyncSession, admin: Principal, throttle: LoginThrottle, key: str, ip: str
) -> LockKey:
    """Forget the failures under one key of `lockouts`, in the audit log; `LockoutNotFound` otherwise."""
    cleared = await throttle.clear(admin.tenant_slug, key)
    if cleared is None:
        raise LockoutNotFound("no such lockout")
    await audit.record(
        session, action="lockout.clear", tenant_id=admin.tenant_id, actor_id=admin.user_id, ip=ip,
        detail={"key": cleared.public[:400]},
    )  # fmt: skip
    return cleared
