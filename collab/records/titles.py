"""Records named the way people know them: collection and title (the first text field), from summaries."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.models import Collection, Record


async def record_titles(
    session: AsyncSession, tenant_id: str, record_ids: set[str]
) -> dict[str, dict[str, str | None]]:
    """Each live (not deleted) record's collection name and title, read from its stored summary."""
    if not record_ids:
        return {}
    rows = await session.execute(
        select(Record.id, Record.summary, Collection.name, Collection.fields)
        .join(Collection, Collection.id == Record.collection_id)
        .where(Record.tenant_id == tenant_id, Record.id.in_(record_ids), Record.deleted_at.is_(None))
    )
    found: dict[str, dict[str, str | None]] = {}
    for record_id, summary, collection, specs in rows:
        key = next((spec["key"] for spec in specs or () if spec.get("type") == "text"), None)
        title = (summary or {}).get(key) if key else None
        found[record_id] = {"collection": collection, "title": title if isinstance(title, str) else None}
    return found
