"""The audit log: account and security events (logins, admin actions), readable by a tenant's admins."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
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


FORGOTTEN = "(deleted user)"


async def forget_email(session: AsyncSession, tenant_id: str, user_id: str, email: str) -> int:
    """Remove a deleted user's email from the tenant's audit entries (about them, by them, or failed
    logins typed with it); returns how many changed. Deletions are rare: the entries are read in batches."""
    changed, after = 0, 0
    while True:
        batch = list(
            await session.scalars(
                select(AuditEntry)
                .where(
                    AuditEntry.tenant_id == tenant_id,
                    AuditEntry.id > after,
                    or_(
                        AuditEntry.target_user_id == user_id,
                        AuditEntry.actor_id == user_id,
                        AuditEntry.action == "login.failed",
                    ),
                )
                .order_by(AuditEntry.id)
                .limit(500)
            )
        )
        if not batch:
            return changed
        for entry in batch:
            if (entry.detail or {}).get("email") == email:
                entry.detail = {**entry.detail, "email": FORGOTTEN}
                changed += 1
        after = batch[-1].id
