"""A record's snapshots over HTTP: take one, list, view, compare, and restore (admins).

The use-cases are `collab.services.snapshots.Snapshots`; these routes parse, call and render.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from collab.live.restore import MAX_SNAPSHOT_ID
from collab.services.snapshots import SnapshotPage
from web.relay_http import forwarded, forwarded_to_owner
from web.requests import int_param
from web.security import principal_of
from web.services import services


@forwarded_to_owner  # only the owner can store what its room accepted before the snapshot is written
async def create_snapshot(request: Request) -> Response:
    principal = await principal_of(request)
    taken = await services(request).snapshots.take(principal, request.path_params["record_id"])
    return JSONResponse(taken, status_code=201)


async def list_snapshots(request: Request) -> Response:
    principal = await principal_of(request)
    found = await services(request).snapshots.page(
        principal, request.path_params["record_id"], lambda: _page(request)
    )
    return JSONResponse(found)


async def _page(request: Request) -> SnapshotPage:
    limit = int_param(request, "limit", 50, 1, 200)
    return SnapshotPage(limit, int_param(request, "before", 0, 0, MAX_SNAPSHOT_ID) or None)


async def get_snapshot(request: Request) -> Response:
    principal = await principal_of(request)
    found = await services(request).snapshots.get(
        principal, request.path_params["record_id"], request.path_params["snapshot_id"]
    )
    return JSONResponse(found)


async def compare_snapshot(request: Request) -> Response:
    principal = await principal_of(request)
    comparison = await services(request).snapshots.compare(
        principal,
        request.path_params["record_id"],
        request.path_params["snapshot_id"],
        request.query_params.get("with", "now"),
    )
    return JSONResponse(comparison)


@forwarded  # run on the record's owner when another node owns it
async def restore_snapshot(request: Request) -> Response:
    """Set every field to the snapshot's value, as a forward update attributed to the admin."""
    principal = await principal_of(request)
    view = await services(request).snapshots.restore(
        principal, request.path_params["record_id"], request.path_params["snapshot_id"]
    )
    return JSONResponse(view.body, headers={"ETag": view.etag})


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
