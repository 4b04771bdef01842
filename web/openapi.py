"""The OpenAPI document of the HTTP API, written out by hand so it says exactly what the routes do."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(description: str, schema: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def _body(schema: str) -> dict[str, Any]:
    return {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


_AUTH_ERRORS = {"401": _error("Not authenticated")}
_RECORD_ID = [{"name": "record_id", "in": "path", "required": True, "schema": {"type": "string"}}]

DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "collab", "version": "0.1.0"},
    "components": {
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "cookie": {"type": "apiKey", "in": "cookie", "name": "collab_session"},
        },
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error", "message"],
                "properties": {
                    "error": {"type": "string"},
                    "message": {"type": "string"},
                    "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            },
            "Login": {
                "type": "object",
                "required": ["email", "password"],
                "properties": {
                    "tenant": {"type": "string", "default": "default"},
                    "email": {"type": "string"},
                    "password": {"type": "string"},
                },
            },
            "User": {
                "type": "object",
                "properties": {k: {"type": "string"} for k in ("id", "email", "name", "role", "tenant")},
            },
            "LoginResult": {
                "type": "object",
                "properties": {"token": {"type": "string"}, "user": {"$ref": "#/components/schemas/User"}},
            },
            "Field": {
                "type": "object",
                "required": ["key", "type"],
                "properties": {
                    "key": {"type": "string"},
                    "label": {"type": "string"},
                    "type": {
                        "type": "string",
                        "enum": ["text", "richtext", "number", "boolean", "date", "select"],
                    },
                    "options": {"type": "array", "items": {"type": "string"}},
                },
            },
            "NewCollection": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string"},
                    "label": {"type": "string"},
                    "fields": {"type": "array", "items": {"$ref": "#/components/schemas/Field"}},
                },
            },
            "Collection": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "name": {"type": "string"},
                    "label": {"type": "string"},
                    "fields": {"type": "array", "items": {"$ref": "#/components/schemas/Field"}},
                    "created_at": {"type": "string", "format": "date-time"},
                },
            },
            "UserRef": {
                "type": "object",
                "nullable": True,
                "properties": {k: {"type": "string"} for k in ("id", "name", "email")},
            },
            "NewRecord": {
                "type": "object",
                "required": ["collection"],
                "properties": {"collection": {"type": "string"}, "fields": {"type": "object"}},
            },
            "Record": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "collection": {"type": "string"},
                    "fields": {"type": "object"},
                    "created_at": {"type": "string", "format": "date-time"},
                    "created_by": {"$ref": "#/components/schemas/UserRef"},
                    "updated_at": {"type": "string", "format": "date-time"},
                    "updated_by": {"$ref": "#/components/schemas/UserRef"},
                },
            },
        },
    },
    "security": [{"bearer": []}, {"cookie": []}],
    "paths": {
        "/healthz": {"get": {"security": [], "responses": {"200": {"description": "The server is up"}}}},
        "/api/auth/login": {
            "post": {
                "security": [],
                "requestBody": _body("Login"),
                "responses": {
                    "200": _json("Logged in; also sets the session cookie", "LoginResult"),
                    "400": _error("Unreadable body"),
                    "401": _error("Wrong tenant, email or password"),
                },
            }
        },
        "/api/auth/logout": {"post": {"responses": {"204": {"description": "Logged out"}, **_AUTH_ERRORS}}},
        "/api/auth/me": {"get": {"responses": {"200": {"description": "The caller"}, **_AUTH_ERRORS}}},
        "/api/collections": {
            "get": {"responses": {"200": {"description": "The tenant's collections"}, **_AUTH_ERRORS}},
            "post": {
                "requestBody": _body("NewCollection"),
                "responses": {
                    "201": _json("Created", "Collection"),
                    "400": _error("Unreadable body"),
                    "403": _error("Not an admin"),
                    "409": _error("A collection of that name exists"),
                    "422": _error("Invalid definition"),
                    **_AUTH_ERRORS,
                },
            },
        },
        "/api/records": {
            "get": {
                "parameters": [
                    {"name": "collection", "in": "query", "required": True, "schema": {"type": "string"}},
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 200},
                    },
                    {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                ],
                "responses": {
                    "200": {"description": "Records, newest first"},
                    "400": _error("Bad parameters"),
                    "404": _error("No such collection"),
                    **_AUTH_ERRORS,
                },
            },
            "post": {
                "requestBody": _body("NewRecord"),
                "responses": {
                    "201": _json("Created", "Record"),
                    "400": _error("Unreadable body"),
                    "403": _error("Viewers may not create"),
                    "404": _error("No such collection"),
                    "422": _error("Values that do not fit the collection"),
                    **_AUTH_ERRORS,
                },
            },
        },
        "/api/records/{record_id}": {
            "get": {
                "parameters": _RECORD_ID,
                "responses": {
                    "200": _json("The record", "Record"),
                    "404": _error("No such record"),
                    **_AUTH_ERRORS,
                },
            }
        },
        "/api/records/{record_id}/presence": {
            "get": {
                "parameters": _RECORD_ID,
                "responses": {
                    "200": {"description": "Who is connected"},
                    "404": _error("No such record"),
                    **_AUTH_ERRORS,
                },
            }
        },
    },
}


async def openapi(request: Request) -> Response:
    return JSONResponse(DOCUMENT)
