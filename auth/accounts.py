"""Tenants and users: creation, and the first-start bootstrap."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from auth.errors import InvalidInput, TenantExists, TenantNotFound, UserExists
from auth.passwords import MIN_PASSWORD_LENGTH, hash_password
from auth.principal import Role
from persistence.models import Tenant, User

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")

DEFAULT_TENANT = "default"
_REGISTRATION_LOCK_KEY = 0x636F6C6C6162_02  # "collab" + 2: one organisation registered at a time


@dataclass(frozen=True)
class Bootstrap:
    """What a first start created; the password is shown once and never stored in clear."""

    tenant: str
    email: str
    password: str


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def add_tenant(session: AsyncSession, slug: str, name: str | None = None) -> Tenant:
    if not _SLUG.match(slug):
        raise InvalidInput("a tenant slug is 1-63 lower-case letters, digits and dashes")
    if await session.scalar(select(Tenant).where(Tenant.slug == slug)) is not None:
        raise TenantExists(f"tenant {slug!r} already exists")
    tenant = Tenant(slug=slug, name=name or slug)
    session.add(tenant)
    await session.flush()
    return tenant


async def add_organisation(session: AsyncSession, slug: str, name: str) -> Tenant:
    """A tenant registered by its people: its name, like its slug, is unique (case and spaces aside).
    A name has no unique index (older tenants may share one), so registrations take turns: the caller
    within its process, and on PostgreSQL a transaction lock across processes."""
    name = " ".join(name.split())
    if not 0 < len(name) <= 200:
        raise InvalidInput("an organisation name has 1 to 200 characters")
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _REGISTRATION_LOCK_KEY})
    taken = await session.scalar(select(Tenant.id).where(func.lower(Tenant.name) == name.lower()).limit(1))
    if taken is not None:
        raise TenantExists(f"an organisation named {name!r} already exists")
    return await add_tenant(session, slug, name)


async def find_tenant(session: AsyncSession, slug: str) -> Tenant:
    tenant = await session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise TenantNotFound(f"no tenant {slug!r}")
    return tenant


async def add_user(
    session: AsyncSession,
    tenant: Tenant,
    *,
    email: str,
    role: str,
    password: str,
    name: str | None = None,
) -> User:
    email = normalise_email(email)
    if not _EMAIL.match(email) or len(email) > 320:
        raise InvalidInput(f"{email!r} is not an email address")
    try:
        checked_role = Role(role)
    except ValueError:
        raise InvalidInput(f"role must be one of {', '.join(r.value for r in Role)}") from None
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    existing = await session.scalar(select(User).where(User.tenant_id == tenant.id, User.email == email))
    if existing is not None:
        raise UserExists(f"user {email!r} already exists in tenant {tenant.slug!r}")
    user = User(
        tenant_id=tenant.id,
        email=email,
        name=name or email.split("@")[0],
        role=checked_role.value,
        password_hash=await hash_password(password),
    )
    session.add(user)
    await session.flush()
    return user


async def bootstrap_if_empty(
    session: AsyncSession, admin_email: str, admin_password: str | None = None
) -> Bootstrap | None:
    """On a database with no users, create tenant `default` and an admin; return the login to show once."""
    if await session.scalar(select(func.count()).select_from(User)):
        return None
    tenant = await session.scalar(select(Tenant).where(Tenant.slug == DEFAULT_TENANT))
    if tenant is None:
        tenant = await add_tenant(session, DEFAULT_TENANT, "Default")
    password = admin_password or secrets.token_urlsafe(12)
    await add_user(session, tenant, email=admin_email, role=Role.ADMIN.value, password=password, name="Admin")
    return Bootstrap(tenant=DEFAULT_TENANT, email=normalise_email(admin_email), password=password)
