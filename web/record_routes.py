"""Collections and records over HTTP. Record content is read from the live room when there is one."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from auth.errors import Forbidden
from auth.principal import Principal
from collab.records import records
from collab.records.document import read_fields
from collab.store.snapshotter import load_document
from persistence import changes, events
from persistence.models import Collection, Record
from web.edit_routes import current_document, record_response
from web.errors import BadRequest
from web.requests import int_param, json_body
from web.security import principal_of
from web.services import Services, services


def _require_editor(principal: Principal) -> None:
    if not principal.can_edit:
        raise Forbidden("your role may not change records")


async def list_collections(request: Request) -> Response:
    principal = await principal_of(request)
    async with services(request).database.session() as session:
        found = await records.list_collections(session, principal)
    return JSONResponse({"collections": [records.collection_json(c) for c in found]})


async def create_collection(request: Request) -> Response:
    principal = await principal_of(request)
    if not principal.is_admin:
        raise Forbidden("only admins define collections")
    body = await json_body(request)
    async with services(request).database.session() as session:
        collection = await records.create_collection(session, principal.tenant_id, body)
        await session.commit()
    return JSONResponse(records.collection_json(collection), status_code=201)


async def _fields(found: Services, record_id: str) -> dict[str, Any]:
    room = found.registry.rooms.get(record_id)
    if room is not None:
        return read_fields(room.doc)
    doc, _ = await load_document(found.database, record_id)
    return read_fields(doc)


async def record_body(found: Services, principal: Principal, record: Record, collection: Collection) -> Any:
    fields = await _fields(found, record.id)
    async with found.database.session() as session:
        users = await records.user_refs(
            session, principal.tenant_id, {u for u in (record.created_by, record.updated_by) if u}
        )
    return records.record_json(record, collection, fields, users)


async def list_records(request: Request) -> Response:
    principal = await principal_of(request)
    name = request.query_params.get("collection")
    if not name:
        raise BadRequest("the collection parameter is required")
    limit = int_param(request, "limit", 50, 1, 200)
    offset = int_param(request, "offset", 0, 0, 10_000_000)
    found = services(request)
    async with found.database.session() as session:
        collection = await records.find_collection(session, principal, name)
        query = request.query_params.get("q", "").strip()[:200] or None
        rows = await records.list_records(session, principal, collection, limit, offset, query)
        users = await records.user_refs(
            session, principal.tenant_id, {u for r in rows for u in (r.created_by, r.updated_by) if u}
        )
    # Lists show the stored summaries (long texts shortened), so they never load documents.
    items = [
        records.record_json(
            r, collection, r.summary if r.summary is not None else await _fields(found, r.id), users
        )
        for r in rows
    ]
    return JSONResponse({"records": items})


async def create_record(request: Request) -> Response:
    principal = await principal_of(request)
    _require_editor(principal)
    body = await json_body(request)
    found = services(request)
    async with found.database.session() as session:
        record, collection = await records.create_record(
            session, principal, body.get("collection"), body.get("fields", {})
        )
        upto_change_id = await changes.newest_id(session, record.id)
        await session.commit()
    created = await record_body(found, principal, record, collection)
    await found.feed.publish(
        events.NewEvent(
            tenant_id=record.tenant_id,
            collection_id=collection.id,
            record_id=record.id,
            type="record.created",
            at=record.created_at,
            user_id=principal.user_id,
            fields=created["fields"],
            upto_change_id=upto_change_id,
        )
    )
    return JSONResponse(created, status_code=201)


async def get_record(request: Request) -> Response:
    principal = await principal_of(request)
    found = services(request)
    async with found.database.session() as session:
        record, _ = await records.find_record(session, principal, request.path_params["record_id"])
    return await record_response(found, principal, record.id, await current_document(found, record.id))


async def presence(request: Request) -> Response:
    principal = await principal_of(request)
    found = services(request)
    async with found.database.session() as session:
        record, _ = await records.find_record(session, principal, request.path_params["record_id"])
    room = found.registry.rooms.get(record.id)
    return JSONResponse({"users": room.presence() if room else []})
