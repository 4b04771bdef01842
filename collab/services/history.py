"""A record's field history, and putting a value from it back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from auth.access import Action, require
from auth.principal import Principal
from collab.errors import ChangeNotFound, InvalidArgument, SchemaError
from collab.live.registry import RoomRegistry
from collab.origin import Origin, OriginKind
from collab.records import records
from collab.records.records import iso
from collab.records.schema import specs_from_json
from collab.services.comments import comment_of, no_comment
from collab.services.conflicts import Conflicts
from collab.services.deferred import Deferred
from collab.services.records import record_view
from persistence import changes
from persistence.database import Database
from persistence.models import ChangeRow, is_id


@dataclass(frozen=True)
class HistoryQuery:
    """Which entries, newest first: by user, by field, conflicts only, within a time range, below an id
    (the next page). Filters combine."""

    user_id: str | None = None
    field: str | None = None
    conflicts_only: bool = False
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None
    limit: int = 50


def user_filter(user: str | None) -> str | None:
    """A `user` filter as given; `InvalidArgument` (400) for anything that cannot be a user id."""
    if user is not None and not is_id(user):
        raise InvalidArgument("user is a user id")
    return user


class History:
    def __init__(
        self, database: Database, registry: RoomRegistry, conflicts: Conflicts | None = None
    ) -> None:
        self._database = database
        self._registry = registry
        self._conflicts = conflicts  # putting a conflict's lost value back settles the field's conflicts

    async def page(self, principal: Principal, record_id: str, query: HistoryQuery) -> dict[str, Any]:
        """One page of entries; `next_before` (when the page read `limit` rows) is the cursor for the next."""
        require(principal, Action.READ)
        where = changes.ChangeFilter(
            user_id=user_filter(query.user_id),
            field=query.field,
            since=query.since,
            until=query.until,
            before_id=query.before_id,
            conflicts_only=query.conflicts_only,
        )
        # An entry someone is extending by typing into a long text has its newest value written at most
        # once a second (persistence/bursts.py): the flush writes it, so the page is up to date.
        await self._registry.flush()
        async with self._database.session() as session:
            # A deleted record's history stays readable to those who may read the record: it tells what
            # was there before someone decides to bring it back.
            record, _ = await records.find_record(session, principal, record_id, include_deleted=True)
            rows = await changes.page(session, record.id, where, query.limit)
            shown = [row for row in rows if not _no_op(row)]
            ids = {u for row in shown for u in (row.user_id, row.winner_user_id, row.lost_user_id) if u}
            # The first page also names everyone in the whole history, whatever the filters: who a
            # person filter can choose (later pages would only repeat it).
            people = await changes.people(session, record.id) if query.before_id is None else None
            users = await records.user_refs(session, principal.tenant_id, ids | set(people or ()))
        body: dict[str, Any] = {"changes": [change_json(row, users) for row in shown]}
        if people is not None:
            body["people"] = sorted(
                (users[user_id] for user_id in people if user_id in users),
                key=lambda user: (user["name"].casefold(), user["email"]),
            )
        if len(rows) == query.limit:
            body["next_before"] = rows[-1].id
        return body

    async def put_back(
        self, principal: Principal, record_id: str, change_id: str, read_comment: Deferred[Any] = no_comment
    ) -> dict[str, Any]:
        """Put a value from the history back, as an edit of the caller's: the losing value of a conflict,
        or the value before a change, with the caller's optional comment (why). Answers with the record
        once the edit is stored."""
        require(principal, Action.EDIT)
        number = changes.change_number(change_id)
        if number is None:
            raise ChangeNotFound("no such change")
        async with self._database.session() as session:
            record, collection = await records.find_record(session, principal, record_id)
            row = await changes.find(session, record.id, number)
        if row is None:
            raise ChangeNotFound("no such change")
        comment = comment_of(await read_comment())  # read once the caller may act on this entry
        if changes.is_lifecycle(row):
            raise SchemaError({"record": "a deletion is not put back: the record is brought back instead"})
        value = row.lost_value if row.conflict else row.before
        if row.conflict and value is None:
            raise SchemaError({row.field: "the lost value of a rich-text conflict cannot be put back"})
        origin = Origin(OriginKind.RESTORE, principal.user_id, principal.session_id, comment=comment)
        async with self._registry.use(record.id) as room:
            room.edit(specs_from_json(collection.fields), {row.field: value}, origin)
        await self._registry.flush()
        if row.conflict and self._conflicts is not None:
            await self._conflicts.settle_field(principal, record.id, row.field)
        async with self._database.session() as session:
            record, collection = await records.find_record(session, principal, record.id)
            return (await record_view(self._registry, session, principal, record, collection)).body


def _no_op(row: ChangeRow) -> bool:
    """An entry that changes nothing: a burst typed and then taken back (it is extended in place, so its
    `after` may come back to its `before`). Not shown; a page may then hold fewer entries than asked.
    Two nulls are not compared: a value stored before the checks existed and unreadable now also reads as
    null, and that entry must stay visible (a key set and removed in one burst then shows, harmlessly)."""
    return (
        not row.conflict
        and row.before is not None
        and row.before == row.after
        and not changes.is_lifecycle(row)
    )


def change_json(row: ChangeRow, users: dict[str, dict[str, str]]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": row.id,
        "at": iso(row.at),
        "user": users.get(row.user_id or ""),
        "field": row.field,
        "before": row.before,
        "after": row.after,
        "origin": row.origin,
        "conflict": row.conflict,
        "comment": row.comment,
    }
    if row.conflict:
        # Both values of a concurrent overwrite, with their authors: the one shown and the one lost.
        entry["winner"] = {"value": row.after, "user": users.get(row.winner_user_id or "")}
        entry["lost"] = {"value": row.lost_value, "user": users.get(row.lost_user_id or "")}
    return entry
