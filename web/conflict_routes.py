"""Open conflicts over HTTP: list a record's or a collection's, keep the winner, put the lost value back.

The use-cases are `collab.services.conflicts.Conflicts`; these routes parse, call and render.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from web.relay_http import forwarded
from web.requests import int_param
from web.security import principal_of
from web.services import services


async def of_record(request: Request) -> Response:
    principal = await principal_of(request)
    found = await services(request).conflicts.of_record(principal, request.path_params["record_id"])
    return JSONResponse(found)


async def of_collection(request: Request) -> Response:
    principal = await principal_of(request)
    found = await services(request).conflicts.of_collection(
        principal,
        request.path_params["name"],
        int_param(request, "before", 0, 0, 2**62) or None,
        int_param(request, "limit", 50, 1, 200),
    )
    return JSONResponse(found)


async def keep(request: Request) -> Response:
    principal = await principal_of(request)
    settled = await services(request).conflicts.keep(
        principal, request.path_params["record_id"], request.path_params["change_id"]
    )
    return JSONResponse(settled)


@forwarded  # run on the record's owner when another node owns it
async def put_back(request: Request) -> Response:
    principal = await principal_of(request)
    record = await services(request).conflicts.put_back(
        principal, request.path_params["record_id"], request.path_params["change_id"]
    )
    return JSONResponse(record)


CONFLICT_ROUTES: list[BaseRoute] = [
    Route("/api/records/{record_id}/conflicts", of_record),
    Route("/api/collections/{name}/conflicts", of_collection),
    Route("/api/records/{record_id}/conflicts/{change_id}/keep", keep, methods=["POST"]),
    Route("/api/records/{record_id}/conflicts/{change_id}/put-back", put_back, methods=["POST"]),
]


# -- OpenAPI -------------------------------------------------------------------------------------------


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


_RECORD_ID = {"name": "record_id", "in": "path", "required": True, "schema": {"type": "string"}}
_CHANGE_ID = {
    "name": "change_id",
    "in": "path",
    "required": True,
    "description": "The conflict's id (a history entry's id)",
    "schema": {"type": "integer"},
}
_VALUE_BY = {
    "type": "object",
    "properties": {
        "user": {"$ref": "#/components/schemas/UserRef"},
        "value": {"description": "A field value (null: a rich-text conflict's lost text is not kept)"},
    },
}
_CONFLICT = {
    "type": "object",
    "required": ["id", "field", "at", "winner", "lost"],
    "properties": {
        "id": {"type": "integer"},
        "record": {"type": "string", "description": "Only in a collection's list"},
        "field": {"type": "string"},
        "at": {"type": "string", "format": "date-time"},
        "winner": {**_VALUE_BY, "description": "Who wrote the value that won, and the field's value now"},
        "lost": {**_VALUE_BY, "description": "Whose value was replaced, and that value"},
    },
}


def _conflicts(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "conflicts": {"type": "array", "items": _CONFLICT},
                        "next_before": {"type": "integer", "description": "Cursor of the next page"},
                    },
                }
            }
        },
    }


_SETTLE_ERRORS = {
    "401": _error("Not authenticated"),
    "403": _error("Viewers may not settle conflicts"),
    "404": _error("No such record, or no such conflict of it"),
    "409": _error("The conflict was settled already"),
}

CONFLICT_PATHS: dict[str, Any] = {
    "/api/records/{record_id}/conflicts": {
        "get": {
            "description": "The record's open conflicts, newest first: one per field and person whose value "
            "was replaced by a concurrent one (a newer conflict of the same field and person supersedes an "
            "older one). Open until someone keeps the winner or puts the lost value back.",
            "parameters": [_RECORD_ID],
            "responses": {
                "200": _conflicts("Open conflicts"),
                "401": _error("Not authenticated"),
                "404": _error("No such record"),
            },
        }
    },
    "/api/collections/{name}/conflicts": {
        "get": {
            "description": "A collection's open conflicts (records not deleted), newest first, a page at a "
            "time; the winner's value is the record's stored summary (long texts shortened).",
            "parameters": [
                {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}},
                {"name": "before", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
            ],
            "responses": {
                "200": _conflicts("Open conflicts; `next_before` when the page is full"),
                "400": _error("Bad parameters"),
                "401": _error("Not authenticated"),
                "404": _error("No such collection"),
            },
        }
    },
    "/api/records/{record_id}/conflicts/{change_id}/keep": {
        "post": {
            "description": "Keep the value that won: settles every open conflict of that field, attributed "
            "to the caller. People on the record and the collection's feed (`record.conflicts`) hear of it.",
            "parameters": [_RECORD_ID, _CHANGE_ID],
            "responses": {
                "200": {
                    "description": "Settled; `open_conflicts`: how many the record still has",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"open_conflicts": {"type": "integer"}},
                            }
                        }
                    },
                },
                **_SETTLE_ERRORS,
            },
        }
    },
    "/api/records/{record_id}/conflicts/{change_id}/put-back": {
        "post": {
            "description": "Put the lost value back as the caller's edit (origin `restore`, people on the "
            "record see it at once) and settle every open conflict of that field. Answers once stored.",
            "parameters": [_RECORD_ID, _CHANGE_ID],
            "responses": {
                "200": {
                    "description": "The record, with `open_conflicts`",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Record"}}},
                },
                **_SETTLE_ERRORS,
                "422": _error("Nothing to put back (a rich-text conflict's lost text is not kept)"),
            },
        }
    },
}
