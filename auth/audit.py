"""The audit log: account and security events (logins, admin actions), readable by a tenant's admins."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.models import AuditEntry


async def record(
    session: AsyncSession,
    *,
    action: str,
    tenant_id: str | None,
    actor_id: str | None,
    target_user_id: str | None = None,
    ip: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    """Add an entry in the caller's transaction; never put a password or token into `detail`."""
    session.add(
        AuditEntry(
            tenant_id=tenant_id,
            actor_id=actor_id,
            action=action,
            target_user_id=target_user_id,
            ip=ip[:64],
            detail=detail or {},
        )
    )


async def entries(
    session: AsyncSession, tenant_id: str, *, limit: int, before_id: int | None = None
) -> list[AuditEntry]:
    """Newest first; page with `before_id` (the smallest id of the previous page)."""
    query = select(AuditEntry).where(AuditEntry.tenant_id == tenant_id)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    return list(await session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit)))
