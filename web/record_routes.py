"""Collections and records over HTTP: parse, call the use-case (collab/services/), render."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from collab.cluster.presence import PresenceBoard
from collab.services.records import NewRecord
from web.auth_routes import client_ip
from web.errors import BadRequest
from web.requests import json_body
from web.security import principal_of
from web.services import services


async def list_collections(request: Request) -> Response:
    principal = await principal_of(request)
    return JSONResponse({"collections": await services(request).collections.all(principal)})


async def create_collection(request: Request) -> Response:
    principal = await principal_of(request)
    created = await services(request).collections.create(principal, lambda: json_body(request))
    return JSONResponse(created, status_code=201)


async def update_collection(request: Request) -> Response:
    principal = await principal_of(request)
    updated = await services(request).collections.update(
        principal, request.path_params["name"], lambda: json_body(request), client_ip(request)
    )
    return JSONResponse(updated)


async def list_records(request: Request) -> Response:
    principal = await principal_of(request)
    name = request.query_params.get("collection")
    if not name:
        raise BadRequest("the collection parameter is required")
    # Sort, filters and cursor are read against the collection's schema by the use-case.
    page = await services(request).records.newest(principal, name, request.query_params)
    return JSONResponse(page)


async def create_record(request: Request) -> Response:
    principal = await principal_of(request)
    body, made = await services(request).records.create_once(principal, lambda: _new_record(request))
    # 200: a repeated create with the client's own id, whose first attempt had made the record.
    return JSONResponse(body, status_code=201 if made else 200)


async def _new_record(request: Request) -> NewRecord:
    body = await json_body(request)
    return NewRecord(body.get("collection"), body.get("fields", {}), body.get("id"))


async def get_record(request: Request) -> Response:
    principal = await principal_of(request)
    view = await services(request).records.get(principal, request.path_params["record_id"])
    return JSONResponse(view.body, headers={"ETag": view.etag})


async def presence(request: Request) -> Response:
    principal = await principal_of(request)
    record_id = request.path_params["record_id"]
    users = await services(request).records.presence(principal, record_id)  # checks the caller may read it
    # Several nodes: the room may live on another node, which writes its people to the board in Redis.
    board: PresenceBoard | None = getattr(request.app.state, "presence_board", None)
    if not users and board is not None:
        users = await board.people(record_id)
    return JSONResponse({"users": users})
