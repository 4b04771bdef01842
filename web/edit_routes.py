"""Changing records over HTTP: `PATCH` with `If-Match`, soft `DELETE`, and undelete.

A PATCH goes through the live room like any other edit, so people editing the record see it at once and
it is logged with its author. The ETag is checked and the edit applied with no await in between: no
other update can land between the check and the write.
"""

from __future__ import annotations

from typing import Any

from pycrdt import Doc
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from auth.errors import Forbidden
from auth.principal import Principal
from collab import close_codes
from collab.errors import RoomBroken
from collab.live import restore
from collab.origin import Origin, OriginKind
from collab.records import records
from collab.records.document import read_fields
from collab.records.schema import check_values, specs_from_json
from collab.store.snapshotter import load_document
from collab.ycodec.etag import etag_of, if_match_holds
from persistence import events
from persistence.models import Record, utcnow
from web.errors import error_response
from web.requests import json_body
from web.security import principal_of
from web.services import Services, services


def require_editor(principal: Principal) -> None:
    if not principal.can_edit:
        raise Forbidden("your role may not change records")


async def current_document(found: Services, record_id: str) -> Doc:
    """The live room's document when the record is open, else the stored one (read-only use)."""
    room = found.registry.rooms.get(record_id)
    if room is not None:
        return room.doc
    doc, _ = await load_document(found.database, record_id)
    return doc


async def record_response(
    found: Services, principal: Principal, record_id: str, doc: Doc, status_code: int = 200
) -> JSONResponse:
    """The record as `GET` shows it, with the ETag of the same content."""
    async with found.database.session() as session:
        record, collection = await records.find_record(session, principal, record_id)
        users = await records.user_refs(
            session, principal.tenant_id, {u for u in (record.created_by, record.updated_by) if u}
        )
    fields, tag = read_fields(doc), etag_of(doc)  # one moment: no await between them
    body = records.record_json(record, collection, fields, users)
    return JSONResponse(body, status_code=status_code, headers={"ETag": tag})


async def patch_record(request: Request) -> Response:
    principal = await principal_of(request)
    require_editor(principal)
    found = services(request)
    record_id = request.path_params["record_id"]
    async with found.database.session() as session:
        _, collection = await records.find_record(session, principal, record_id)
    if_match = request.headers.get("if-match")
    if if_match is None:
        return error_response(
            428, "precondition_required", "send If-Match with the ETag of the record as you read it"
        )
    body = await json_body(request)
    specs = specs_from_json(collection.fields)
    values = check_values(specs, body.get("fields"))
    origin = Origin(OriginKind.API, principal.user_id, principal.session_id)
    async with found.registry.use(record_id) as room:
        current = etag_of(room.doc)
        if not if_match_holds(if_match, current):
            return precondition_failed(read_fields(room.doc), current)
        room.edit(specs, values, origin)
        # Answer once the edit is stored, so the record's updated_at/by already name this change.
        await found.registry.flush()
        if room.broken:  # the database refused the edit: the room is reloaded without it
            raise RoomBroken(record_id)
        return await record_response(found, principal, record_id, room.doc)


def precondition_failed(fields: dict[str, Any], current: str) -> Response:
    response = error_response(
        412,
        "precondition_failed",
        "the record changed since it was read; here it is as it is now",
        fields=fields,
        etag=current,
    )
    response.headers["ETag"] = current
    return response


async def delete_record(request: Request) -> Response:
    """Soft delete: the record answers like a missing one, and its open sockets close with 4404."""
    principal = await principal_of(request)
    require_editor(principal)
    found = services(request)
    async with found.database.session() as session:
        record, _ = await records.find_record(session, principal, request.path_params["record_id"])
        restore.mark_deleted(record, deleted=True)
        await session.commit()
    restore.close_deleted(found.registry.rooms, record.id, close_codes.NOT_FOUND)
    await _publish(found, principal, record, "record.deleted", {})
    return Response(status_code=204)


async def _publish(
    found: Services, principal: Principal, record: Record, kind: str, fields: dict[str, Any]
) -> None:
    await found.feed.publish(
        events.NewEvent(
            tenant_id=record.tenant_id,
            collection_id=record.collection_id,
            record_id=record.id,
            type=kind,
            at=utcnow(),
            user_id=principal.user_id,
            fields=fields,
        )
    )


async def undelete_record(request: Request) -> Response:
    principal = await principal_of(request)
    require_editor(principal)
    found = services(request)
    async with found.database.session() as session:
        record, _ = await records.find_record(
            session, principal, request.path_params["record_id"], include_deleted=True
        )
        restore.mark_deleted(record, deleted=False)
        await session.commit()
    doc = await current_document(found, record.id)
    await _publish(found, principal, record, "record.restored", read_fields(doc))
    return await record_response(found, principal, record.id, doc)


EDIT_ROUTES: list[BaseRoute] = [
    Route("/api/records/{record_id}", patch_record, methods=["PATCH"]),
    Route("/api/records/{record_id}", delete_record, methods=["DELETE"]),
    Route("/api/records/{record_id}/undelete", undelete_record, methods=["POST"]),
]


# -- OpenAPI -------------------------------------------------------------------------------------------

_RECORD_ID = [{"name": "record_id", "in": "path", "required": True, "schema": {"type": "string"}}]
_ETAG_HEADER = {"ETag": {"description": "Tag of the record's content", "schema": {"type": "string"}}}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _record(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": _ETAG_HEADER,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Record"}}},
    }


_PRECONDITION_FAILED = {
    "description": "The If-Match tag is not the current one; the body holds the current fields and tag",
    "headers": _ETAG_HEADER,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["error", "message", "fields", "etag"],
                "properties": {
                    "error": {"type": "string", "enum": ["precondition_failed"]},
                    "message": {"type": "string"},
                    "fields": {"type": "object", "description": "The record's fields as they are now"},
                    "etag": {"type": "string"},
                },
            }
        }
    },
}

EDIT_PATHS: dict[str, Any] = {
    "/api/records/{record_id}": {
        "patch": {
            "description": "Set field values (null clears one) as an update live editors see at once. "
            "If-Match must hold the ETag of a GET (or `*`); the check and the write are atomic.",
            "parameters": [
                *_RECORD_ID,
                {"name": "If-Match", "in": "header", "required": True, "schema": {"type": "string"}},
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["fields"],
                            "properties": {"fields": {"type": "object"}},
                        }
                    }
                },
            },
            "responses": {
                "200": _record("Applied and stored; the record with its new ETag"),
                "400": _error("Unreadable body"),
                "401": _error("Not authenticated"),
                "403": _error("Viewers may not edit"),
                "404": _error("No such record"),
                "412": _PRECONDITION_FAILED,
                "422": _error("Values that do not fit the collection; `fields` says why, per field"),
                "428": _error("If-Match is missing"),
            },
        },
        "delete": {
            "description": "Soft delete: the record then answers 404; its open WebSockets close with 4404.",
            "parameters": _RECORD_ID,
            "responses": {
                "204": {"description": "Deleted"},
                "401": _error("Not authenticated"),
                "403": _error("Viewers may not delete"),
                "404": _error("No such record"),
            },
        },
    },
    "/api/records/{record_id}/undelete": {
        "post": {
            "description": "Bring a deleted record back (a record that is not deleted is answered as is).",
            "parameters": _RECORD_ID,
            "responses": {
                "200": _record("The record"),
                "401": _error("Not authenticated"),
                "403": _error("Viewers may not undelete"),
                "404": _error("No such record"),
            },
        }
    },
}
