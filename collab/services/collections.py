"""Collections of a tenant: list them (everyone), define one and edit its schema (admins).

Editing a schema (collab/records/schema_change.py says what may change) takes effect at once in the open
rooms of the collection (their corrections and unique checks use the new fields), is announced to the
collection's feed as `collection.updated` (open tables and lists re-read the schema) and is audit-logged.
Rooms of the collection on other nodes get it through collab/cluster/schemas.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from auth import audit
from auth.access import Action, require
from auth.principal import Principal
from collab.changefeed.feed import Feed
from collab.errors import SchemaError
from collab.live.registry import RoomRegistry
from collab.records import records
from collab.records.references import missing_targets
from collab.records.schema import specs_from_json
from collab.records.schema_change import added, newly_unique, no_longer_unique, parse_change
from collab.records.unique_claims import index_field
from collab.services.deferred import Deferred
from persistence import events, unique_values
from persistence.database import Database
from persistence.models import utcnow

COLLECTION_UPDATED = "collection.updated"


class Collections:
    def __init__(
        self,
        database: Database,
        registry: RoomRegistry,
        feed: Feed,
        changed: Callable[[str], None] | None = None,
    ) -> None:
        """`changed(collection_id)`: told after a schema edit reached this node's rooms, so that the other
        nodes' rooms get it too (collab/cluster/schemas.py)."""
        self._database = database
        self._registry = registry
        self._feed = feed
        self._changed = changed

    async def all(self, principal: Principal) -> list[dict[str, Any]]:
        require(principal, Action.READ)
        async with self._database.session() as session:
            found = await records.list_collections(session, principal)
        return [records.collection_json(collection) for collection in found]

    async def create(self, principal: Principal, read_definition: Deferred[Any]) -> dict[str, Any]:
        """Define a collection from `{name, label, fields}`; `SchemaError` lists every problem."""
        require(principal, Action.DEFINE_COLLECTIONS)
        definition = await read_definition()
        async with self._database.session() as session:
            collection = await records.create_collection(session, principal.tenant_id, definition)
            await session.commit()
        return records.collection_json(collection)

    async def update(
        self, principal: Principal, name: str, read_change: Deferred[Any], ip: str = ""
    ) -> dict[str, Any]:
        """Change a collection's label and fields from `{label?, fields}` (the whole list, in order)."""
        require(principal, Action.DEFINE_COLLECTIONS)
        async with self._database.session() as session:
            collection = await records.find_collection(session, principal, name)
        change = await read_change()
        async with self._database.session() as session:
            collection = await records.find_collection(session, principal, name)
            current = specs_from_json(collection.fields)
            label, specs = parse_change(current, change)
            new = added(current, specs)
            missing = await missing_targets(
                session, principal.tenant_id, [s for s in new if s.target != name]
            )
            if missing:
                raise SchemaError(missing)
            for key in no_longer_unique(current, specs):
                await unique_values.remove_field(session, collection.id, key)
            for spec in newly_unique(current, specs):
                await index_field(session, collection.id, principal.tenant_id, specs, spec)
            if label is not None:
                collection.label = label
            collection.fields = [spec.as_json() for spec in specs]
            await audit.record(
                session,
                action="collection.update",
                tenant_id=principal.tenant_id,
                actor_id=principal.user_id,
                ip=ip,
                detail={
                    "collection": collection.name,
                    "added": [spec.key for spec in new],
                    "archived": [spec.key for spec in specs if spec.archived],
                },
            )
            await session.commit()
            body = records.collection_json(collection)
        for room in self._registry.open_rooms(principal.tenant_id, collection.id):
            room.use_specs(specs)
        if self._changed is not None:
            self._changed(collection.id)
        await self._feed.publish(
            events.NewEvent(
                tenant_id=principal.tenant_id,
                collection_id=collection.id,
                record_id="",
                type=COLLECTION_UPDATED,
                at=utcnow(),
                user_id=principal.user_id,
                fields={"label": body["label"], "fields": body["fields"]},
            )
        )
        return body
