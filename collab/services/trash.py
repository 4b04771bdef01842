"""The trash: a collection's deleted records, restorable until the retention ends, then purged.

Deleting a record (`Records.delete`) puts it here: its row stays with `deleted_at` and `deleted_by`, and
everything it needs to come back (update log, snapshots, client ids, history). Restoring is
`Records.undelete` (`POST /api/records/{id}/undelete`). `Trash.page` lists a collection's trash for the
people who may restore (editors and admins: a viewer may not bring a record back, and a deliberately
removed record is not theirs to read). `TrashPurge` removes records deleted longer ago than
`trash_retention_days` for good (persistence/trash.py says what goes and what stays), one record per
transaction, as system work, and writes one audit entry per tenant and run naming what it removed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

from auth import audit
from auth.access import Action, require
from auth.principal import Principal
from collab.errors import InvalidArgument
from collab.live.registry import RoomRegistry
from collab.periodic import Periodic
from collab.records import records
from collab.records.list_query import Cursor, ListQuery, decode_cursor, encode_cursor
from collab.records.records import iso, user_refs
from collab.records.title import title_of
from collab.store.retention import Hold, always_mine
from persistence import trash
from persistence.database import Database
from persistence.models import Collection, Record, utcnow
from persistence.tenant_scope import system_work

log = logging.getLogger(__name__)

_ORDER = ListQuery(sort="deleted_at", kind="time", descending=True)  # the cursor's sort: newest first
_MAX_LIMIT = 200
_PURGE_BATCH = 100  # records looked at per query of a purge run
_AUDIT_NAMED = 100  # records a purge's audit entry names (per tenant and run)


class Trash:
    def __init__(self, database: Database, retention_days: float) -> None:
        self._database = database
        self._retention = timedelta(days=retention_days) if retention_days > 0 else None

    @property
    def retention_days(self) -> float | None:
        """How long a deleted record can be restored; None: it stays until restored."""
        return None if self._retention is None else self._retention.total_seconds() / 86400

    async def page(
        self, principal: Principal, collection_name: str, params: Mapping[str, str]
    ) -> dict[str, Any]:
        """One page of the collection's deleted records, newest deletion first: title, when, by whom, and
        when the purge takes it; `next_cursor` for the next page (None on the last)."""
        require(principal, Action.EDIT)
        limit = _limit(params.get("limit"))
        token = params.get("cursor") or None
        cursor = decode_cursor(token, _ORDER.sort, "desc", _ORDER.kind) if token else None
        async with self._database.session() as session:
            collection = await records.find_collection(session, principal, collection_name)
            after = (cursor.value, cursor.record_id) if cursor is not None else None
            found = await trash.deleted_page(session, principal.tenant_id, collection.id, limit + 1, after)
            rows, more = found[:limit], len(found) > limit
            deleters = {row.deleted_by for row in rows if row.deleted_by}
            users = await user_refs(session, principal.tenant_id, deleters)
        last = rows[-1] if rows else None
        next_cursor = None
        if more and last is not None and last.deleted_at is not None:
            next_cursor = encode_cursor(_ORDER, Cursor(False, _utc(last.deleted_at), last.id))
        return {
            "records": [self._item(row, collection, users) for row in rows],
            "next_cursor": next_cursor,
            "retention_days": self.retention_days,
        }

    def _item(self, row: Record, collection: Collection, users: dict[str, dict[str, str]]) -> dict[str, Any]:
        deleted_at = _utc(row.deleted_at) if row.deleted_at is not None else None
        purge_at = (
            iso(deleted_at + self._retention)
            if deleted_at is not None and self._retention is not None
            else None
        )
        by = users.get(row.deleted_by or "")
        return {
            "id": row.id,
            "collection": collection.name,
            "title": title_of(row.summary, collection.fields),
            "deleted_at": iso(deleted_at) if deleted_at is not None else None,
            "deleted_by": {"id": by["id"], "name": by["name"]} if by is not None else None,
            "purge_at": purge_at,
        }


def open_room_of(registry: RoomRegistry) -> Callable[[str], bool]:
    """`TrashPurge`'s `is_open` for this node's rooms."""
    return lambda record_id: registry.open_room(record_id) is not None


class TrashPurge:
    """A background task (entered in the lifespan) purging what the retention no longer keeps; does
    nothing when `retention_days` is 0 or less. `now` is the wall-clock seam: tests move it. `is_open`
    tells whether a room of this node still holds a record (`open_room_of`): such a record waits for
    the next run, so that the room's eviction never writes a snapshot of a record that is gone."""

    def __init__(
        self,
        database: Database,
        is_open: Callable[[str], bool],
        retention_days: float,
        check_seconds: float,
        now: Callable[[], datetime] = utcnow,
        hold: Hold = always_mine,
    ) -> None:
        self._database = database
        self._is_open = is_open
        self._hold = hold  # several nodes: a record live on another node is that node's to purge
        self._retention = timedelta(days=retention_days) if retention_days > 0 else None
        self._now = now
        self._loop = Periodic(
            "collab-trash-purge", check_seconds, self.purge_once, "trash purge failed; records stay for now"
        )

    async def __aenter__(self) -> TrashPurge:
        if self._retention is not None:
            self._loop.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._loop.stop()

    @system_work  # every tenant's trash
    async def purge_once(self) -> int:
        """Purge every record deleted before now minus the retention; returns how many were purged."""
        if self._retention is None:
            return 0
        cutoff = self._now() - self._retention
        purged: dict[str, list[dict[str, Any]]] = {}
        skipped: set[str] = set()
        while True:
            async with self._database.session() as session:
                batch = [
                    due
                    for due in await trash.due(session, cutoff, _PURGE_BATCH + len(skipped))
                    if due.record_id not in skipped
                ]
                specs = await trash.collection_fields(session, {due.collection_id for due in batch})
            if not batch:
                break
            for due in batch:
                if await self._purge(due):
                    title = title_of(due.summary, specs.get(due.collection_id))
                    purged.setdefault(due.tenant_id, []).append({"record": due.record_id, "title": title})
                else:
                    skipped.add(due.record_id)  # restored meanwhile, open here, or failed: not this run
        await self._audit(purged)
        return sum(len(items) for items in purged.values())

    async def _purge(self, due: trash.Due) -> bool:
        if self._is_open(due.record_id):
            return False  # a room of this node still holds it (evicted soon): the next run purges it
        try:
            async with self._hold(due.record_id) as mine:
                if not mine or self._is_open(due.record_id):
                    return False  # live on another node, or opened here meanwhile: a later run
                async with self._database.session() as session:
                    done = await trash.purge(session, due.record_id, due.deleted_at)
                    await session.commit()
        except Exception:
            log.exception("purging record %s failed; it stays in the trash for now", due.record_id)
            return False
        if done:
            log.info("trash: purged record %s (deleted %s)", due.record_id, iso(_utc(due.deleted_at)))
        return done

    async def _audit(self, purged: dict[str, list[dict[str, Any]]]) -> None:
        if not purged:
            return
        assert self._retention is not None
        days = self._retention.total_seconds() / 86400
        async with self._database.session() as session:
            for tenant_id, items in purged.items():
                await audit.record(
                    session,
                    action="trash.purge",
                    tenant_id=tenant_id,
                    actor_id=None,
                    # The first ones by name; a huge run is told by its count.
                    detail={"count": len(items), "retention_days": days, "records": items[:_AUDIT_NAMED]},
                )
            await session.commit()


def _limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return 50
    try:
        value = int(raw)
    except ValueError:
        raise InvalidArgument("limit must be an integer") from None
    if not 1 <= value <= _MAX_LIMIT:
        raise InvalidArgument(f"limit must be between 1 and {_MAX_LIMIT}")
    return value


def _utc(moment: datetime) -> datetime:
    """SQLite hands datetimes back without their zone; they are stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
