"""A record's snapshots over HTTP: take one, list, view, compare, and restore (admins).

Every route first finds the record in the caller's tenant; a snapshot is then looked up by record and id
together, so another record's (or tenant's) snapshot id answers exactly like a missing one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from auth.errors import Forbidden
from auth.principal import Principal, Role
from collab.errors import RoomLoadFailed
from collab.live import restore
from collab.origin import Origin, OriginKind
from collab.records import records
from collab.records.document import read_fields
from collab.records.records import iso
from collab.records.schema import specs_from_json
from collab.store.snapshotter import take_snapshot
from persistence.models import Collection, Record
from persistence.snapshots import StoredSnapshot
from web.edit_routes import current_document, record_response, require_editor
from web.errors import BadRequest
from web.requests import int_param
from web.security import principal_of
from web.services import services


def _require_reader(request: Request, principal: Principal) -> None:
    # Browsing snapshots is for the people who restore or take them; viewers only if the server allows it.
    if principal.role is Role.VIEWER and not services(request).settings.viewers_read_snapshots:
        raise Forbidden("viewers do not read snapshots")


async def _record(request: Request, principal: Principal) -> tuple[Record, Collection]:
    async with services(request).database.session() as session:
        return await records.find_record(session, principal, request.path_params["record_id"])


async def _snapshot(request: Request, record_id: str, raw_id: str) -> StoredSnapshot:
    async with services(request).database.session() as session:
        return await restore.find_snapshot(session, record_id, restore.parse_snapshot_id(raw_id))


async def _summaries(
    request: Request, principal: Principal, found: list[restore.SnapshotInfo]
) -> list[dict[str, Any]]:
    async with services(request).database.session() as session:
        users = await records.user_refs(
            session, principal.tenant_id, {s.created_by for s in found if s.created_by}
        )
    return [
        {"id": s.id, "at": iso(s.at), "reason": s.reason, "created_by": users.get(s.created_by or "")}
        for s in found
    ]


async def create_snapshot(request: Request) -> Response:
    principal = await principal_of(request)
    require_editor(principal)
    record, _ = await _record(request, principal)
    found = services(request)
    # Everything accepted so far is stored first, so the snapshot covers what the caller has seen.
    await found.registry.flush()
    snapshot_id = await take_snapshot(found.database, record.id, "manual", created_by=principal.user_id)
    if snapshot_id is None:  # every record is created with its first update, so this is corruption
        raise RoomLoadFailed(f"record {record.id} has no stored state")
    async with found.database.session() as session:
        snapshot = await restore.find_snapshot(session, record.id, snapshot_id)
    info = restore.SnapshotInfo(snapshot.id, snapshot.created_at, snapshot.reason, snapshot.created_by)
    return JSONResponse((await _summaries(request, principal, [info]))[0], status_code=201)


async def list_snapshots(request: Request) -> Response:
    principal = await principal_of(request)
    _require_reader(request, principal)
    limit = int_param(request, "limit", 50, 1, 200)
    before = int_param(request, "before", 0, 0, restore.MAX_SNAPSHOT_ID) or None
    record, _ = await _record(request, principal)
    async with services(request).database.session() as session:
        found = await restore.list_snapshots(session, record.id, limit, before)
    body: dict[str, Any] = {"snapshots": await _summaries(request, principal, found)}
    # The cursor for the next page (older snapshots), when this page is full.
    body["next_before"] = found[-1].id if len(found) == limit else None
    return JSONResponse(body)


async def get_snapshot(request: Request) -> Response:
    principal = await principal_of(request)
    _require_reader(request, principal)
    record, _ = await _record(request, principal)
    snapshot = await _snapshot(request, record.id, request.path_params["snapshot_id"])
    info = restore.SnapshotInfo(snapshot.id, snapshot.created_at, snapshot.reason, snapshot.created_by)
    body = (await _summaries(request, principal, [info]))[0]
    body["fields"] = read_fields(restore.snapshot_document(snapshot))
    return JSONResponse(body)


async def compare_snapshot(request: Request) -> Response:
    principal = await principal_of(request)
    _require_reader(request, principal)
    record, collection = await _record(request, principal)
    snapshot = await _snapshot(request, record.id, request.path_params["snapshot_id"])
    other_ref = request.query_params.get("with", "now")
    if other_ref == "now":
        other_fields = read_fields(await current_document(services(request), record.id))
        other: dict[str, Any] = {"id": None, "at": datetime.now(UTC).isoformat()}
    elif other_ref.isdigit():
        second = await _snapshot(request, record.id, other_ref)
        other_fields = read_fields(restore.snapshot_document(second))
        other = {"id": second.id, "at": iso(second.created_at)}
    else:
        raise BadRequest("with must be `now` or a snapshot id")
    fields = restore.compare_fields(
        specs_from_json(collection.fields), read_fields(restore.snapshot_document(snapshot)), other_fields
    )
    return JSONResponse(
        {"snapshot": {"id": snapshot.id, "at": iso(snapshot.created_at)}, "other": other, "fields": fields}
    )


async def restore_snapshot(request: Request) -> Response:
    """Set every field to the snapshot's value, as a forward update attributed to the admin."""
    principal = await principal_of(request)
    if not principal.is_admin:
        raise Forbidden("only admins restore snapshots")
    found = services(request)
    record, collection = await _record(request, principal)
    snapshot = await _snapshot(request, record.id, request.path_params["snapshot_id"])
    old = restore.snapshot_document(snapshot)
    origin = Origin(OriginKind.RESTORE, principal.user_id, principal.session_id)
    async with found.registry.use(record.id) as room:
        restore.restore_into(room, specs_from_json(collection.fields), old, origin)
        await found.registry.flush()
        return await record_response(found, principal, record.id, room.doc)


SNAPSHOT_ROUTES: list[BaseRoute] = [
    Route("/api/records/{record_id}/snapshots", list_snapshots, methods=["GET"]),
    Route("/api/records/{record_id}/snapshots", create_snapshot, methods=["POST"]),
    Route("/api/records/{record_id}/snapshots/{snapshot_id}", get_snapshot, methods=["GET"]),
    Route("/api/records/{record_id}/snapshots/{snapshot_id}/compare", compare_snapshot, methods=["GET"]),
    Route("/api/records/{record_id}/snapshots/{snapshot_id}/restore", restore_snapshot, methods=["POST"]),
]


# -- OpenAPI -------------------------------------------------------------------------------------------


def _path(name: str, kind: str = "string") -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": kind}}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _ok(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_USER_REF = {"$ref": "#/components/schemas/UserRef"}
_SUMMARY = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "at": {"type": "string", "format": "date-time"},
        "reason": {"type": "string", "enum": ["manual", "auto", "evict", "shutdown", "retention"]},
        "created_by": _USER_REF,
    },
}
_STAMP = {
    "type": "object",
    "properties": {
        "id": {"type": "integer", "nullable": True, "description": "null for the record as it is now"},
        "at": {"type": "string", "format": "date-time"},
    },
}
_COMPARISON = {
    "type": "object",
    "properties": {
        "snapshot": _STAMP,
        "other": _STAMP,
        "fields": {
            "type": "array",
            "description": "Every field of the collection in schema order, then any other key either "
            "side holds; a value absent on a side is null there. `changed` compares strictly.",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "snapshot": {"description": "The value in the snapshot"},
                    "other": {"description": "The value now, or in the other snapshot"},
                    "changed": {"type": "boolean"},
                },
            },
        },
    },
}
_RECORD = {"$ref": "#/components/schemas/Record"}
_COMMON = {"401": _error("Not authenticated"), "404": _error("No such record or snapshot")}
_IDS = [_path("record_id"), _path("snapshot_id", "integer")]
_VIEWERS = _error("Viewers, unless the server lets them read snapshots (COLLAB_VIEWERS_READ_SNAPSHOTS)")

SNAPSHOT_PATHS: dict[str, Any] = {
    "/api/records/{record_id}/snapshots": {
        "get": {
            "description": "The record's snapshots, newest first. Page with `before`=`next_before`.",
            "parameters": [
                _path("record_id"),
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                {"name": "before", "in": "query", "schema": {"type": "integer", "minimum": 1}},
            ],
            "responses": {
                "200": _ok(
                    "Snapshots",
                    {
                        "type": "object",
                        "properties": {
                            "snapshots": {"type": "array", "items": _SUMMARY},
                            "next_before": {"type": "integer", "nullable": True},
                        },
                    },
                ),
                "400": _error("Bad parameters"),
                "403": _VIEWERS,
                **_COMMON,
            },
        },
        "post": {
            "description": "Take a snapshot now, covering every update accepted so far (admins, editors).",
            "parameters": [_path("record_id")],
            "responses": {"201": _ok("Taken", _SUMMARY), "403": _error("Viewers may not"), **_COMMON},
        },
    },
    "/api/records/{record_id}/snapshots/{snapshot_id}": {
        "get": {
            "parameters": _IDS,
            "responses": {
                "200": _ok(
                    "The snapshot with its fields",
                    {"allOf": [_SUMMARY, {"type": "object", "properties": {"fields": {"type": "object"}}}]},
                ),
                "403": _VIEWERS,
                **_COMMON,
            },
        }
    },
    "/api/records/{record_id}/snapshots/{snapshot_id}/compare": {
        "get": {
            "description": "Field by field: the snapshot against the record now, or another snapshot.",
            "parameters": [
                *_IDS,
                {
                    "name": "with",
                    "in": "query",
                    "description": "`now` (the default) or the id of another snapshot of this record",
                    "schema": {"type": "string"},
                },
            ],
            "responses": {
                "200": _ok("The comparison", _COMPARISON),
                "400": _error("Bad `with`"),
                "403": _VIEWERS,
                **_COMMON,
            },
        }
    },
    "/api/records/{record_id}/snapshots/{snapshot_id}/restore": {
        "post": {
            "description": "Set every field to its value in the snapshot (fields it lacks are cleared) as "
            "a new forward update attributed to the admin; live and offline editors converge on it. "
            "The document is never reset.",
            "parameters": _IDS,
            "responses": {
                "200": {
                    "description": "The record as restored",
                    "headers": {"ETag": {"schema": {"type": "string"}}},
                    "content": {"application/json": {"schema": _RECORD}},
                },
                "403": _error("Only admins restore"),
                **_COMMON,
            },
        }
    },
}
