"""What a feed event says: its stream data, built from an event stored or about to be.

The same for an event pushed when it is new (on the node that stored it), read back for a resuming client,
or read by another node: `describe` reads the collection names and authors a batch of events needs at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select

from persistence import events
from persistence.models import Collection, User, utcnow


class Describable(Protocol):
    """An event, stored (`EventRow`) or about to be (`NewEvent`)."""

    @property
    def record_id(self) -> str: ...
    @property
    def collection_id(self) -> str: ...
    @property
    def user_id(self) -> str | None: ...
    @property
    def at(self) -> datetime: ...
    @property
    def fields(self) -> dict[str, Any]: ...
    @property
    def authors(self) -> Sequence[str | int] | None: ...


async def describe(session: Any, rows: Sequence[Describable]) -> list[dict[str, Any]]:
    """The contract's event data: record, collection (name), at, by {id, name, email} (the newest author),
    fields, authors (the ids of everyone whose changes it covers, newest last, at most
    `events.MAX_AUTHORS`) and more_authors (how many older authors that list leaves off)."""
    if not rows:
        return []
    collection_ids = {row.collection_id for row in rows}
    user_ids = {row.user_id for row in rows if row.user_id}
    found = await session.execute(
        select(Collection.id, Collection.name).where(Collection.id.in_(collection_ids))
    )
    # A Result has .keys(), so dict() would take it for a mapping: build the dict from its rows.
    names = {collection_id: name for collection_id, name in found}
    users = (
        {
            user.id: {"id": user.id, "name": user.name, "email": user.email}
            for user in await session.scalars(select(User).where(User.id.in_(user_ids)))
        }
        if user_ids
        else {}
    )
    return [_payload(row, names, users) for row in rows]


def _payload(row: Describable, names: dict[str, str], users: dict[str, dict[str, str]]) -> dict[str, Any]:
    authors, more = events.read_authors(row.authors, row.user_id)
    return {
        "record": row.record_id,
        "collection": names.get(row.collection_id),
        "at": (row.at if row.at.tzinfo else row.at.replace(tzinfo=utcnow().tzinfo)).isoformat(),
        "by": users.get(row.user_id or ""),
        "fields": row.fields,
        "authors": authors,
        "more_authors": more,
    }
