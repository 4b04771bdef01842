"""Collections and records over HTTP: parse, call the use-case (collab/services/), render."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from collab.services.records import NewRecord
from web.errors import BadRequest
from web.requests import int_param, json_body
from web.security import principal_of
from web.services import services


async def list_collections(request: Request) -> Response:
    principal = await principal_of(request)
    return JSONResponse({"collections": await services(request).collections.all(principal)})


async def create_collection(request: Request) -> Response:
    principal = await principal_of(request)
    created = await services(request).collections.create(principal, lambda: json_body(request))
    return JSONResponse(created, status_code=201)


async def list_records(request: Request) -> Response:
    principal = await principal_of(request)
    name = request.query_params.get("collection")
    if not name:
        raise BadRequest("the collection parameter is required")
    limit = int_param(request, "limit", 50, 1, 200)
    offset = int_param(request, "offset", 0, 0, 10_000_000)
    query = request.query_params.get("q", "").strip()[:200] or None
    found = await services(request).records.newest(principal, name, limit, offset, query)
    return JSONResponse({"records": found})


async def create_record(request: Request) -> Response:
    principal = await principal_of(request)
    created = await services(request).records.create(principal, lambda: _new_record(request))
    return JSONResponse(created, status_code=201)


async def _new_record(request: Request) -> NewRecord:
    body = await json_body(request)
    return NewRecord(body.get("collection"), body.get("fields", {}))


async def get_record(request: Request) -> Response:
    principal = await principal_of(request)
    view = await services(request).records.get(principal, request.path_params["record_id"])
    return JSONResponse(view.body, headers={"ETag": view.etag})


async def presence(request: Request) -> Response:
    principal = await principal_of(request)
    users = await services(request).records.presence(principal, request.path_params["record_id"])
    return JSONResponse({"users": users})
