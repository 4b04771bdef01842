"""Owners of Yjs client ids per record (see `ClientIdRow`): read when a room loads, written with updates."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from persistence.models import ClientIdRow

# The owner the server writes under (HTTP edits, restores); a NULL user in the table.
SERVER = ""


async def owners(session: AsyncSession, record_id: str) -> dict[int, str]:
    """client id -> user id (`SERVER` for the server's own ids)."""
    rows = await session.execute(
        select(ClientIdRow.client_id, ClientIdRow.user_id).where(ClientIdRow.record_id == record_id)
    )
    return {client_id: user_id or SERVER for client_id, user_id in rows}


async def claim(executor: AsyncSession | AsyncConnection, claims: list[tuple[str, int, str | None]]) -> None:
    """Record `(record_id, client_id, user_id or None for the server)` in the caller's transaction."""
    if claims:
        await executor.execute(
            insert(ClientIdRow),
            [{"record_id": r, "client_id": c, "user_id": u or None} for r, c, u in claims],
        )
