"""Changing records over HTTP: `PATCH` with `If-Match`, soft `DELETE`, and undelete.

The use-cases are `collab.services.records.Records` (a PATCH goes through the live room like any other
edit, its ETag checked and the edit applied with no await between); these routes parse, call and render.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from web.auth_routes import client_ip
from web.relay_http import forwarded, forwarded_to_owner
from web.requests import json_body
from web.security import principal_of
from web.services import services


@forwarded  # run on the record's owner when another node owns it
async def patch_record(request: Request) -> Response:
    principal = await principal_of(request)
    view = await services(request).records.patch(
        principal,
        request.path_params["record_id"],
        request.headers.get("if-match"),
        lambda: _fields(request),
        lambda: _comment(request),
    )
    return JSONResponse(view.body, headers={"ETag": view.etag})


async def _fields(request: Request) -> Any:
    return (await json_body(request)).get("fields")


async def _comment(request: Request) -> Any:
    return (await json_body(request)).get("comment")


@forwarded_to_owner  # its live sockets, on the owner, close at once (also while Redis is down)
async def delete_record(request: Request) -> Response:
    principal = await principal_of(request)
    await services(request).records.delete(principal, request.path_params["record_id"], client_ip(request))
    return Response(status_code=204)


async def undelete_record(request: Request) -> Response:
    principal = await principal_of(request)
    view = await services(request).records.undelete(
        principal, request.path_params["record_id"], client_ip(request)
    )
    return JSONResponse(view.body, headers={"ETag": view.etag})


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
                            "properties": {
                                "fields": {"type": "object"},
                                "comment": {
                                    "type": "string",
                                    "maxLength": 500,
                                    "description": "Why (plain text, trimmed; shown in the history)",
                                },
                            },
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
                "409": _error(
                    "`duplicate_value`: a unique field's value another record holds (`field`, `record_id`,"
                    " `record_title` name it)"
                ),
                "412": _PRECONDITION_FAILED,
                "422": _error(
                    "Values that do not fit the collection (`fields` says why, per field: also a required"
                    " field emptied, an archived one changed), or a comment over 500 characters"
                ),
                "428": _error("If-Match is missing"),
            },
        },
        "delete": {
            "description": "Soft delete into the collection's trash (restorable until purged): the record "
            "then answers 404; its open WebSockets close with 4404, the reason naming who deleted it.",
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
            "description": "Restore a deleted record from its collection's trash (a record that is not "
            "deleted is answered as is); in its history and the audit log. A purged record is 404.",
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
