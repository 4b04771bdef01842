"""A record's field history, and putting a value back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from auth.errors import Forbidden
from collab.origin import Origin, OriginKind
from collab.records import records
from collab.records.records import iso
from collab.records.schema import SchemaError, specs_from_json
from persistence import changes
from persistence.models import ChangeRow, is_id
from web.errors import BadRequest, ChangeNotFound
from web.record_routes import record_body
from web.requests import int_param
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


def change_json(row: ChangeRow, users: dict[str, dict[str, str]]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": row.id,
        "at": iso(row.at),
        "user": users.get(row.user_id or ""),
        "field": row.field,
        "before": row.before,
        "after": row.after,
        "origin": row.origin,
        "conflict": row.conflict,
    }
    if row.conflict:
        # Both values of a concurrent overwrite, with their authors: the one shown and the one lost.
        entry["winner"] = {"value": row.after, "user": users.get(row.winner_user_id or "")}
        entry["lost"] = {"value": row.lost_value, "user": users.get(row.lost_user_id or "")}
    return entry


async def history(request: Request) -> Response:
    principal = await principal_of(request)
    user = request.query_params.get("user")
    if user is not None and not is_id(user):
        raise BadRequest("user is a user id")
    where = changes.ChangeFilter(
        user_id=user,
        field=request.query_params.get("field"),
        since=_time_param(request, "since"),
        until=_time_param(request, "until"),
        before_id=int_param(request, "before", 0, 0, 2**62) or None,
    )
    limit = int_param(request, "limit", 50, 1, 500)
    async with services(request).database.session() as session:
        record, _ = await records.find_record(session, principal, request.path_params["record_id"])
        rows = await changes.page(session, record.id, where, limit)
        ids = {u for row in rows for u in (row.user_id, row.winner_user_id, row.lost_user_id) if u}
        users = await records.user_refs(session, principal.tenant_id, ids)
    body: dict[str, Any] = {"changes": [change_json(row, users) for row in rows]}
    if len(rows) == limit:
        body["next_before"] = rows[-1].id
    return JSONResponse(body)


async def put_back(request: Request) -> Response:
    """Put a value from the history back: the losing value of a conflict, or the value before a change."""
    principal = await principal_of(request)
    if not principal.can_edit:
        raise Forbidden("your role may not change records")
    found = services(request)
    try:
        change_id = int(request.path_params["change_id"])
    except ValueError:
        raise ChangeNotFound("no such change") from None
    async with found.database.session() as session:
        record, collection = await records.find_record(session, principal, request.path_params["record_id"])
        row = await changes.find(session, record.id, change_id)
    if row is None:
        raise ChangeNotFound("no such change")
    value = row.lost_value if row.conflict else row.before
    if row.conflict and value is None:
        raise SchemaError({row.field: "the lost value of a rich-text conflict cannot be put back"})
    specs = specs_from_json(collection.fields)
    origin = Origin(OriginKind.RESTORE, principal.user_id, principal.session_id)
    async with found.registry.use(record.id) as room:
        room.edit(specs, {row.field: value}, origin)
    await found.registry.flush()
    async with found.database.session() as session:
        record, collection = await records.find_record(session, principal, record.id)
    return JSONResponse(await record_body(found, principal, record, collection))
