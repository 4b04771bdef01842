"""The OpenAPI document of the HTTP API, written out by hand so it says exactly what the routes do."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from collab.records.schema import FIELD_TYPES
from web.conflict_routes import CONFLICT_PATHS
from web.csv_openapi import CSV_PATHS
from web.edit_routes import EDIT_PATHS
from web.snapshot_routes import SNAPSHOT_PATHS
from web.trash_routes import TRASH_PATHS


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
_USER_ID = {"name": "user_id", "in": "path", "required": True, "schema": {"type": "string"}}
_RECORD_ID = [{"name": "record_id", "in": "path", "required": True, "schema": {"type": "string"}}]

# GET /api/records: sorted, filtered, paged by keyset (collab/records/list_query.py, services/listing.py).
_LIST_DESCRIPTION = """One page of a collection's records, computed in SQL from the typed field values stored
with each commit.

Filters are parameters `f.<field key>.<operator>`, by the field's type:
text, rich text, select, email, url, phone and person: `contains`, `in` (any of, comma-separated; both
in any case, in the first 200 characters; a person by user id); number, decimal and date: `gte`, `lte` (a
number, or a date as YYYY-MM-DD; decimals compare exactly); multiselect and link: `in` (has any of these
options or record ids); checkbox: `is` (`true`, or `false`: unchecked or never set); any type: `empty`
(`1`: no value, `0`: a value). An empty text or list counts as no value; multiselect and link fields are
not sortable. All filters must hold. Sorting by a field puts the records without a value
last in either order; ties are broken by record id, in the same direction. An unknown field or operator,
or a value that does not parse, is a 400 naming it."""
_LIST_PARAMETERS: list[dict[str, Any]] = [
    {"name": "collection", "in": "query", "required": True, "schema": {"type": "string"}},
    {
        "name": "sort",
        "in": "query",
        "description": "A field key, `created_at` (the default) or `updated_at`",
        "schema": {"type": "string"},
    },
    {
        "name": "order",
        "in": "query",
        "description": "Default `desc` for created_at/updated_at, `asc` for a field",
        "schema": {"type": "string", "enum": ["asc", "desc"]},
    },
    {
        "name": "limit",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
    },
    {
        "name": "cursor",
        "in": "query",
        "description": "`next_cursor` of the previous page, unchanged, with the same sort and order",
        "schema": {"type": "string"},
    },
    {"name": "q", "in": "query", "description": "Text any text field contains", "schema": {"type": "string"}},
    {
        "name": "updated_by",
        "in": "query",
        "description": "Last changed by this user id",
        "schema": {"type": "string"},
    },
    {
        "name": "updated_within_days",
        "in": "query",
        "description": "Last changed at most this many days ago",
        "schema": {"type": "integer", "minimum": 1, "maximum": 36500},
    },
]
_RECORD_PAGE = {
    "type": "object",
    "required": ["records", "total", "total_is_estimate", "next_cursor"],
    "properties": {
        "records": {
            "type": "array",
            "items": {"$ref": "#/components/schemas/Record"},
            "description": "Field values as lists show them: texts longer than 200 characters are shortened",
        },
        "total": {
            "type": "integer",
            "description": "How many records match, on every page (exact unless `total_is_estimate`)",
        },
        "total_is_estimate": {
            "type": "boolean",
            "description": "True when `total` is estimated from a random sample (within a few percent): "
            "when more than 2,000 records pass the most selective filter and others must be tested too, "
            "or one choice of values or one checkbox alone matches more than 10,000. Exact with no "
            "filter, one other filter, or few candidates. A page after an estimated first page (its "
            "`next_cursor`, same filters) repeats that estimate. Show it as approximate",
        },
        "next_cursor": {"type": "string", "nullable": True, "description": "null on the last page"},
    },
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "collab", "version": "0.1.0"},
    "components": {
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "cookie": {"type": "apiKey", "in": "cookie", "name": "collab_session"},
            # The `metrics_token` setting, not a login session.
            "metricsToken": {"type": "http", "scheme": "bearer"},
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
            "NewOrganisation": {
                "type": "object",
                "required": ["name", "slug", "email", "password"],
                "properties": {
                    "name": {"type": "string", "maxLength": 200},
                    "slug": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,62}$"},
                    "email": {"type": "string"},
                    "password": {"type": "string", "minLength": 8},
                    "admin_name": {"type": "string"},
                },
            },
            "User": {
                "type": "object",
                "properties": {k: {"type": "string"} for k in ("id", "email", "name", "role", "tenant")},
            },
            "NewUser": {
                "type": "object",
                "required": ["email", "role"],
                "properties": {
                    "email": {"type": "string"},
                    "role": {"type": "string", "enum": ["admin", "editor", "viewer"]},
                    "name": {"type": "string"},
                    "password": {"type": "string"},
                },
            },
            "UserChange": {
                "type": "object",
                "properties": {
                    "role": {"type": "string", "enum": ["admin", "editor", "viewer"]},
                    "active": {"type": "boolean"},
                    "name": {"type": "string"},
                },
            },
            "LoginResult": {
                "type": "object",
                "properties": {"token": {"type": "string"}, "user": {"$ref": "#/components/schemas/User"}},
            },
            "Lockouts": {
                "type": "object",
                "properties": {
                    "lockouts": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "key": {"type": "string"},
                                "kind": {"type": "string", "enum": ["account_address", "address", "account"]},
                                "email": {"type": "string", "nullable": True},
                                "address": {"type": "string", "nullable": True},
                                "failures": {"type": "integer"},
                                "limit": {"type": "integer"},
                                "locked": {"type": "boolean"},
                                "retry_after_seconds": {"type": "integer"},
                            },
                        },
                    }
                },
            },
            "LockoutKey": {"type": "object", "required": ["key"], "properties": {"key": {"type": "string"}}},
            "Field": {
                "type": "object",
                "required": ["key", "type"],
                "properties": {
                    "key": {"type": "string"},
                    "label": {"type": "string"},
                    "type": {"type": "string", "enum": list(FIELD_TYPES)},
                    "options": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "select and multiselect: the choices",
                    },
                    "scale": {
                        "type": "integer",
                        "minimum": 0,
                        "maximum": 6,
                        "description": "decimal: digits after the point (2 when left out). A decimal's "
                        'value is a string in canonical form ("6000.00") everywhere; over HTTP a string or '
                        "an integer is accepted, a JSON float is refused (422)",
                    },
                    "target": {"type": "string", "description": "link: the collection linked to"},
                    "many": {"type": "boolean", "description": "link: more than one record (at most 100)"},
                    "required": {"type": "boolean", "description": "a create or edit may not leave it empty"},
                    "unique": {
                        "type": "boolean",
                        "description": "text, email, url, phone, number, decimal: at most one record per "
                        "value (text compared trimmed and case-folded); a duplicate is 409 `duplicate_value`",
                    },
                    "archived": {
                        "type": "boolean",
                        "description": "hidden by clients; data kept, not editable",
                    },
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
            "CollectionChange": {
                "type": "object",
                "required": ["fields"],
                "properties": {
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
                "properties": {
                    "collection": {"type": "string"},
                    "fields": {"type": "object"},
                    "id": {
                        "type": "string",
                        "pattern": "^[0-9a-f]{32}$",
                        "description": "Chosen by the client (a device creating offline): sending the same "
                        "create again answers 200 with the record the first attempt made, never a second one",
                    },
                },
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
                    "open_conflicts": {
                        "type": "integer",
                        "description": "Open conflicts (GET /api/records/{record_id}/conflicts lists them)",
                    },
                    "epoch": {
                        "type": "string",
                        "description": "The life of the stored document (a restore changes it). A client "
                        "that keeps a copy names it when it connects, `/ws/{record_id}?epoch=…`; a socket "
                        "naming another epoch is closed with 4409 'record was restored: reload' and nothing "
                        "it sent is applied (a socket naming none is served as before)",
                    },
                },
            },
        },
    },
    "security": [{"bearer": []}, {"cookie": []}],
    "paths": {
        "/healthz": {"get": {"security": [], "responses": {"200": {"description": "The server is up"}}}},
        "/sw.js": {
            "get": {
                "security": [],
                "responses": {
                    "200": {
                        "description": "The browser app's service worker (JavaScript, no-cache): keeps the "
                        "app shell of this build so the app starts without a network"
                    }
                },
            }
        },
        "/readyz": {
            "get": {
                "security": [],
                "responses": {
                    "200": {"description": "Ready: the database answers and is at the current schema"},
                    "503": {"description": "Not ready; `checks` names what is wrong, one word per check"},
                },
            }
        },
        "/metrics": {
            "get": {
                "security": [{"metricsToken": []}],
                "responses": {
                    "200": {
                        "description": "The server's figures in the Prometheus text format",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    "401": _error("Not the metrics token"),
                    "404": _error("Metrics are off: no `metrics_token` is set"),
                },
            }
        },
        "/api/auth/login": {
            "post": {
                "security": [],
                "requestBody": _body("Login"),
                "responses": {
                    "200": _json("Logged in; also sets the session cookie", "LoginResult"),
                    "400": _error("Unreadable body"),
                    "401": _error("Wrong tenant, email or password"),
                    "403": _error("Foreign Origin"),
                    "429": _error("Too many failed logins; see Retry-After"),
                },
            }
        },
        "/api/tenants": {
            "post": {
                "security": [],
                "description": "Register an organisation with its first admin and the sample collection "
                "(when `COLLAB_TENANT_REGISTRATION` is on; each address may register a few per hour). "
                "The admin then signs in with `POST /api/auth/login`.",
                "requestBody": _body("NewOrganisation"),
                "responses": {
                    "201": {"description": '`{"tenant": {slug, name}, "admin": user}`'},
                    "400": _error("Unreadable body, or a field missing"),
                    "403": _error("Foreign Origin"),
                    "404": _error("Registration is off"),
                    "409": _error("The name or the slug is taken"),
                    "422": _error("Invalid name, slug, email or password"),
                    "429": _error("Too many registrations from this address; see Retry-After"),
                },
            }
        },
        "/api/tenants/registration": {
            "get": {
                "security": [],
                "responses": {"200": {"description": '`{"open": true|false}`: whether registration is on'}},
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
        "/api/collections/{name}": {
            "patch": {
                "description": "Edit a collection's schema (admins): `{label?, fields}` with every field, in "
                "the new order. Keys never change and fields are never removed (archive them); new keys are "
                "added; labels, options, `required` and `archived` may change; a field's type, a link's "
                "target and a decimal's scale may not; `unique` may be turned on once the stored values are "
                "all different (422 naming two that are not). Open records follow at once; the feed "
                "announces `collection.updated`; the change is audit-logged.",
                "parameters": [
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "requestBody": _body("CollectionChange"),
                "responses": {
                    "200": _json("The collection as it is now", "Collection"),
                    "400": _error("Unreadable body"),
                    "403": _error("Not an admin"),
                    "404": _error("No such collection"),
                    "422": _error("A change that is not allowed; `fields` says which and why"),
                    **_AUTH_ERRORS,
                },
            }
        },
        "/api/records": {
            "get": {
                "description": _LIST_DESCRIPTION,
                "parameters": _LIST_PARAMETERS,
                "responses": {
                    "200": {
                        "description": "One page of records, its total and the cursor of the next page",
                        "content": {"application/json": {"schema": _RECORD_PAGE}},
                    },
                    "400": _error("Bad parameters: the message names the one at fault"),
                    "403": _error("The caller may not read records"),
                    "404": _error("No such collection"),
                    **_AUTH_ERRORS,
                },
            },
            "post": {
                "requestBody": _body("NewRecord"),
                "responses": {
                    "201": _json("Created", "Record"),
                    "200": _json("Made earlier by this create (the same id, user and collection)", "Record"),
                    "400": _error("Unreadable body"),
                    "403": _error("Viewers may not create"),
                    "404": _error("No such collection"),
                    "409": _error(
                        "The id holds another record; or `duplicate_value`: a unique field's value another "
                        "record holds (`field`, `record_id`, `record_title` name it)"
                    ),
                    "422": _error(
                        "Values that do not fit the collection (a missing required field, an archived one, "
                        "an unknown person or linked record), or a malformed id"
                    ),
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
        "/api/records/{record_id}/history": {
            "get": {
                "parameters": [
                    *_RECORD_ID,
                    {"name": "user", "in": "query", "schema": {"type": "string"}},
                    {"name": "field", "in": "query", "schema": {"type": "string"}},
                    {
                        "name": "conflicts",
                        "in": "query",
                        "description": "1: conflicts only",
                        "schema": {"type": "string", "enum": ["0", "1"]},
                    },
                    {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                    {"name": "until", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 500},
                    },
                    {"name": "before", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                ],
                "responses": {
                    "200": {
                        "description": "Field changes, newest first: one entry per person, field and burst"
                        " of typing; entries that change nothing are left out (a page may hold fewer"
                        " than `limit`: follow `next_before`); a conflict (two different values written"
                        " concurrently) carries `winner` and `lost`. Deleting the record and bringing it"
                        ' back are entries with `field` "" and `origin` `delete` or `undelete` (no'
                        " values; never put back). A deleted record's history stays readable. `comment` is"
                        " the editor's why (plain text) or null; a commented change is an entry of its own."
                        " Filters (`user`, `field`, `conflicts`, time) combine with the `before` cursor."
                        " The first page (no `before`) also has `people`: everyone with an entry in the"
                        " record's history, whatever the filters ({id, name, email}, by name)"
                    },
                    "400": _error("Bad parameters"),
                    "404": _error("No such record (in the caller's tenant, deleted or not)"),
                    **_AUTH_ERRORS,
                },
            }
        },
        "/api/records/{record_id}/history/{change_id}/restore": {
            "post": {
                "parameters": [
                    *_RECORD_ID,
                    {"name": "change_id", "in": "path", "required": True, "schema": {"type": "string"}},
                ],
                "requestBody": {
                    "required": False,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "comment": {
                                        "type": "string",
                                        "maxLength": 500,
                                        "description": "Why (plain text, trimmed; shown in the history)",
                                    }
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json(
                        "The record with the value put back (a conflict's lost value, else the value"
                        " before the change), as an edit of the caller's",
                        "Record",
                    ),
                    "403": _error("Viewers may not change records; foreign Origin"),
                    "404": _error("No such record or change"),
                    "422": _error(
                        "Nothing to put back (a rich-text conflict's lost value, a deletion), or a comment"
                        " over 500 characters"
                    ),
                    **_AUTH_ERRORS,
                },
            }
        },
        "/api/events": {
            "get": {
                "parameters": [
                    {"name": "collection", "in": "query", "required": True, "schema": {"type": "string"}},
                    {"name": "last_event_id", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                    {"name": "Last-Event-ID", "in": "header", "schema": {"type": "integer", "minimum": 0}},
                ],
                "responses": {
                    "200": {
                        "description": "Server-Sent Events: record.created|updated|deleted|restored "
                        "(with ids), presence, reset. A record event's data: record, collection, at, by"
                        " (the newest author), fields, authors (ids of everyone whose changes a coalesced"
                        " record.updated covers, newest last, at most 20) and more_authors (how many older"
                        " authors that list leaves off); the same when replayed after Last-Event-ID."
                        " record.conflicts: the record's open conflicts changed (one was stored or"
                        " settled); its fields hold open_conflicts, the record's count now",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}},
                    },
                    "400": _error("Bad parameters"),
                    "404": _error("No such collection"),
                    **_AUTH_ERRORS,
                },
            }
        },
        "/api/auth/sessions": {
            "get": {"responses": {"200": {"description": "The caller's live sessions"}, **_AUTH_ERRORS}}
        },
        "/api/auth/sessions/revoke-others": {
            "post": {
                "responses": {
                    "200": {"description": "How many sessions ended"},
                    "403": _error("Foreign Origin"),
                    **_AUTH_ERRORS,
                }
            }
        },
        "/api/auth/sessions/{session_id}": {
            "delete": {
                "parameters": [
                    {"name": "session_id", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {
                    "204": {"description": "Revoked; its WebSockets are closed with 4401"},
                    "403": _error("Foreign Origin"),
                    "404": _error("Not one of the caller's sessions"),
                    **_AUTH_ERRORS,
                },
            }
        },
        "/api/admin/users": {
            "get": {
                "responses": {
                    "200": {"description": "The tenant's users"},
                    "403": _error("Admins only"),
                    **_AUTH_ERRORS,
                }
            },
            "post": {
                "requestBody": _body("NewUser"),
                "responses": {
                    "201": {"description": "Created; `password` is returned once when none was given"},
                    "400": _error("Unreadable body"),
                    "403": _error("Admins only"),
                    "409": _error("The email is taken in this tenant"),
                    "422": _error("Invalid email, role or password"),
                    **_AUTH_ERRORS,
                },
            },
        },
        "/api/admin/users/{user_id}": {
            "patch": {
                "parameters": [_USER_ID],
                "requestBody": _body("UserChange"),
                "responses": {
                    "200": {"description": "The user; deactivation closes their WebSockets with 4403"},
                    "400": _error("Unreadable body"),
                    "403": _error("Admins only"),
                    "404": _error("No such user in this tenant"),
                    "409": _error("The tenant would have no active admin"),
                    "422": _error("Invalid role or name"),
                    **_AUTH_ERRORS,
                },
            },
            "delete": {
                "description": "Delete a user: their sessions end and sockets close (4403); history and the "
                'audit log keep their id but show "Deleted user", never the old name or email (which '
                "may be used again).",
                "parameters": [_USER_ID],
                "responses": {
                    "204": {"description": "Deleted"},
                    "403": _error("Admins only; foreign Origin"),
                    "404": _error("No such user in this tenant (or already deleted)"),
                    "409": _error("The tenant would have no active admin"),
                    "422": _error("Admins cannot delete themselves"),
                    **_AUTH_ERRORS,
                },
            },
        },
        "/api/people": {
            "get": {
                "description": "The tenant's people for any signed-in member (a `person` field's picker): "
                "`id`, `name`, `active`, ordered by name; never emails or roles; deleted users left out.",
                "responses": {
                    "200": {"description": '`{"people": [{"id", "name", "active"}]}`'},
                    **_AUTH_ERRORS,
                },
            }
        },
        "/api/admin/online": {
            "get": {
                "description": "Who has a record open in the tenant now: each person once, since when, and "
                "the records they have open (collection, title, since).",
                "responses": {
                    "200": {"description": '`{"people": [...]}`, earliest first'},
                    "403": _error("Admins only"),
                    **_AUTH_ERRORS,
                },
            }
        },
        "/api/admin/users/{user_id}/password": {
            "post": {
                "parameters": [_USER_ID],
                "responses": {
                    "200": {"description": "New password set (returned once if generated); sessions ended"},
                    "400": _error("Unreadable body"),
                    "403": _error("Admins only"),
                    "404": _error("No such user in this tenant"),
                    "422": _error("Password too short"),
                    **_AUTH_ERRORS,
                },
            }
        },
        "/api/admin/lockouts": {
            "get": {
                "description": "Failed logins counted now against the tenant's accounts, per account and "
                "address, per account, and per address (for addresses that failed on this tenant); "
                "`locked` ones refuse logins with 429 for `retry_after_seconds`.",
                "responses": {
                    "200": _json("Counted failures, locked first", "Lockouts"),
                    "403": _error("Admins only"),
                    **_AUTH_ERRORS,
                },
            },
            "delete": {
                "description": "Forget the failures under one `key` of the listing (audited).",
                "parameters": [{"name": "key", "in": "query", "schema": {"type": "string"}}],
                "requestBody": {
                    "required": False,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LockoutKey"}}},
                },
                "responses": {
                    "204": {"description": "Cleared"},
                    "400": _error("No key, or an unreadable body"),
                    "403": _error("Admins only; foreign Origin"),
                    "404": _error("The listing has no such key"),
                    **_AUTH_ERRORS,
                },
            },
        },
        "/api/admin/audit": {
            "get": {
                "parameters": [
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 500},
                    },
                    {"name": "before", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                ],
                "responses": {
                    "200": {"description": "Account and security events, newest first"},
                    "400": _error("Bad parameters"),
                    "403": _error("Admins only"),
                    **_AUTH_ERRORS,
                },
            }
        },
    },
}


# PATCH/DELETE of a record and its snapshots are described beside their routes; merged per path, since a
# path such as /api/records/{record_id} has operations in both places.
for _path, _operations in (
    *EDIT_PATHS.items(),
    *SNAPSHOT_PATHS.items(),
    *CONFLICT_PATHS.items(),
    *TRASH_PATHS.items(),
    *CSV_PATHS.items(),
):
    DOCUMENT["paths"].setdefault(_path, {}).update(_operations)
# An export is the list's view: its sort and filters, every page.
DOCUMENT["paths"]["/api/collections/{name}/export"]["get"]["parameters"] += [
    p for p in _LIST_PARAMETERS if p["name"] not in ("collection", "limit", "cursor")
]

# Every authenticated operation is charged to its caller's request budget (web/rate_limits.py).
for _operations in DOCUMENT["paths"].values():
    for _operation in _operations.values():
        if "401" in _operation["responses"]:
            _operation["responses"].setdefault(
                "429", _error("Over the caller's request budget; see Retry-After")
            )


async def openapi(request: Request) -> Response:
    return JSONResponse(DOCUMENT)
