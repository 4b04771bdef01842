"""Collections of a tenant: list them (everyone), define one (admins)."""

from __future__ import annotations

from typing import Any

from auth.access import Action, require
from auth.principal import Principal
from collab.records import records
from collab.services.deferred import Deferred
from persistence.database import Database


class Collections:
    def __init__(self, database: Database) -> None:
        self._database = database

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
