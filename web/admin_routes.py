"""Administration of a tenant's users, sessions, failed-login lockouts and audit log; its admins only.

The use-cases are `collab.services.users.Users` (which checks the role before any input is read); these
routes parse, call and render.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from collab.services.users import AuditPage, NewUser, UserChange
from web.auth_routes import client_ip
from web.errors import BadRequest
from web.requests import int_param, json_body
from web.security import principal_of
from web.services import services


def _optional(body: dict[str, Any], key: str, kind: type) -> Any:
    value = body.get(key)
    if value is not None and not isinstance(value, kind):
        raise BadRequest(f"{key} must be a {kind.__name__}")
    return value


async def list_users(request: Request) -> Response:
    principal = await principal_of(request)
    return JSONResponse({"users": await services(request).users.all(principal)})


async def create_user(request: Request) -> Response:
    principal = await principal_of(request)
    created = await services(request).users.create(principal, lambda: _new_user(request), client_ip(request))
    return JSONResponse(created, status_code=201)


async def _new_user(request: Request) -> NewUser:
    body = await json_body(request)
    email, role = _optional(body, "email", str), _optional(body, "role", str)
    if email is None or role is None:
        raise BadRequest("email and role are required")
    return NewUser(email, role, _optional(body, "name", str), _optional(body, "password", str))


async def update_user(request: Request) -> Response:
    principal = await principal_of(request)
    updated = await services(request).users.update(
        principal, request.path_params["user_id"], lambda: _user_change(request), client_ip(request)
    )
    return JSONResponse(updated)


async def _user_change(request: Request) -> UserChange:
    body = await json_body(request)
    return UserChange(
        role=_optional(body, "role", str),
        active=_optional(body, "active", bool),
        name=_optional(body, "name", str),
    )


async def delete_user(request: Request) -> Response:
    principal = await principal_of(request)
    await services(request).users.delete(principal, request.path_params["user_id"], client_ip(request))
    return Response(status_code=204)


async def online(request: Request) -> Response:
    principal = await principal_of(request)
    return JSONResponse({"people": await services(request).users.online(principal)})


async def reset_password(request: Request) -> Response:
    principal = await principal_of(request)
    generated = await services(request).users.reset_password(
        principal, request.path_params["user_id"], lambda: _password(request), client_ip(request)
    )
    return JSONResponse({"password": generated} if generated else {}, status_code=200)


async def _password(request: Request) -> str | None:
    password: str | None = _optional(await json_body(request), "password", str)
    return password


async def audit_log(request: Request) -> Response:
    principal = await principal_of(request)
    entries = await services(request).users.audit(principal, lambda: _audit_page(request))
    return JSONResponse({"entries": entries})


async def _audit_page(request: Request) -> AuditPage:
    limit = int_param(request, "limit", 100, 1, 500)
    return AuditPage(limit, int_param(request, "before", 0, 0, 2**62) or None)


async def list_lockouts(request: Request) -> Response:
    principal = await principal_of(request)
    return JSONResponse({"lockouts": await services(request).users.lockouts(principal)})


async def clear_lockout(request: Request) -> Response:
    """The key comes from the listing, in the body (`{"key": ...}`) or as `?key=`."""
    principal = await principal_of(request)
    await services(request).users.clear_lockout(principal, lambda: _lockout_key(request), client_ip(request))
    return Response(status_code=204)


async def _lockout_key(request: Request) -> str:
    key = request.query_params.get("key")
    if key is None:
        key = _optional(await json_body(request), "key", str)
    if not key:
        raise BadRequest("key is required (from GET /api/admin/lockouts)")
    return key
