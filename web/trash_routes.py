"""The trash of a collection and duplicating a record over HTTP: parse, call the use-case, render.

Restoring from the trash is the existing `POST /api/records/{id}/undelete` (web/edit_routes.py).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from web.security import principal_of
from web.services import services


async def trash(request: Request) -> Response:
    principal = await principal_of(request)
    page = await services(request).trash.page(principal, request.path_params["name"], request.query_params)
    return JSONResponse(page, headers={"Cache-Control": "no-store"})


async def duplicate(request: Request) -> Response:
    principal = await principal_of(request)
    created = await services(request).records.duplicate(principal, request.path_params["record_id"])
    return JSONResponse(created, status_code=201)


TRASH_ROUTES: list[BaseRoute] = [
    Route("/api/collections/{name}/trash", trash),
    Route("/api/records/{record_id}/duplicate", duplicate, methods=["POST"]),
]


# -- OpenAPI -------------------------------------------------------------------------------------------


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


_PERSON = {
    "type": "object",
    "nullable": True,
    "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
    "description": "Who deleted it (null for records deleted before the trash existed)",
}
_DELETED_RECORD = {
    "type": "object",
    "required": ["id", "collection", "title", "deleted_at", "deleted_by", "purge_at"],
    "properties": {
        "id": {"type": "string"},
        "collection": {"type": "string"},
        "title": {"type": "string", "nullable": True, "description": "The first text field's value"},
        "deleted_at": {"type": "string", "format": "date-time"},
        "deleted_by": _PERSON,
        "purge_at": {
            "type": "string",
            "nullable": True,
            "format": "date-time",
            "description": "When it is purged for good (null: the server keeps the trash until restored)",
        },
    },
}

TRASH_PATHS: dict[str, Any] = {
    "/api/collections/{name}/trash": {
        "get": {
            "description": "The collection's deleted records, newest deletion first (editors and admins). "
            "Restore one with `POST /api/records/{id}/undelete`; after `retention_days` it is purged.",
            "parameters": [
                {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}},
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
                },
                {
                    "name": "cursor",
                    "in": "query",
                    "description": "The `next_cursor` of the previous page, unchanged",
                    "schema": {"type": "string"},
                },
            ],
            "responses": {
                "200": {
                    "description": "One page of the trash",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["records", "next_cursor", "retention_days"],
                                "properties": {
                                    "records": {"type": "array", "items": _DELETED_RECORD},
                                    "next_cursor": {"type": "string", "nullable": True},
                                    "retention_days": {"type": "number", "nullable": True},
                                },
                            }
                        }
                    },
                },
                "400": _error("A limit out of range, or a cursor that is not a next_cursor"),
                "401": _error("Not authenticated"),
                "403": _error("Viewers do not see the trash"),
                "404": _error("No such collection"),
            },
        }
    },
    "/api/records/{record_id}/duplicate": {
        "post": {
            "description": "A new record in the same collection with the record's values as they are now "
            "(rich text as its text; unique fields left empty), made by the caller; announced as "
            "`record.created`.",
            "parameters": [
                {"name": "record_id", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {
                "201": {
                    "description": "The new record",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Record"}}},
                },
                "401": _error("Not authenticated"),
                "403": _error("Viewers may not create records"),
                "404": _error("No such record"),
            },
        }
    },
}
