"""A record's field history, and putting a value back: parse, call `collab.services.history`, render."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from collab.services.history import HistoryQuery, user_filter
from web.errors import BadRequest
from web.relay_http import forwarded
from web.requests import int_param, json_body
from web.security import principal_of
from web.services import services


def _time_param(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise BadRequest(f"{name} needs a time zone (e.g. 2026-01-31T09:00:00Z)")
    return moment


async def history(request: Request) -> Response:
    principal = await principal_of(request)
    query = HistoryQuery(
        user_id=user_filter(request.query_params.get("user")),
        field=request.query_params.get("field"),
        conflicts_only=_flag(request, "conflicts"),
        since=_time_param(request, "since"),
        until=_time_param(request, "until"),
        before_id=int_param(request, "before", 0, 0, 2**62) or None,
        limit=int_param(request, "limit", 50, 1, 500),
    )
    page = await services(request).history.page(principal, request.path_params["record_id"], query)
    return JSONResponse(page)


@forwarded  # run on the record's owner when another node owns it
async def put_back(request: Request) -> Response:
    """Put a value from the history back: the losing value of a conflict, or the value before a change.
    The body is optional: `{"comment": "why"}`."""
    principal = await principal_of(request)
    record = await services(request).history.put_back(
        principal,
        request.path_params["record_id"],
        request.path_params["change_id"],
        lambda: _comment(request),
    )
    return JSONResponse(record)


async def _comment(request: Request) -> Any:
    if not await request.body():  # no body at all: a put-back without a comment, as before comments
        return None
    return (await json_body(request)).get("comment")


def _flag(request: Request, name: str) -> bool:
    raw = request.query_params.get(name)
    if raw in (None, "", "0", "false"):
        return False
    if raw in ("1", "true"):
        return True
    raise BadRequest(f"{name} is 1 or 0")
