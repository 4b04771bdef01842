"""Administration of a tenant's users, sessions, failed-login lockouts and audit log; its admins only."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from auth import admin, audit
from auth.errors import Forbidden
from auth.principal import Principal, Role
from auth.throttle import Lockout
from collab import close_codes
from collab.records.records import iso, user_refs
from persistence.models import AuditEntry, User
from web.auth_routes import client_ip
from web.errors import BadRequest
from web.requests import int_param, json_body
from web.security import principal_of
from web.services import services


async def _admin(request: Request) -> Principal:
    principal = await principal_of(request)
    if not principal.is_admin:
        raise Forbidden("admins only")
    return principal


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "active": user.active,
        "created_at": iso(user.created_at),
    }


def _optional(body: dict[str, Any], key: str, kind: type) -> Any:
    value = body.get(key)
    if value is not None and not isinstance(value, kind):
        raise BadRequest(f"{key} must be a {kind.__name__}")
    return value


async def list_users(request: Request) -> Response:
    principal = await _admin(request)
    async with services(request).database.session() as session:
        users = await admin.list_users(session, principal.tenant_id)
    return JSONResponse({"users": [user_json(u) for u in users]})


async def create_user(request: Request) -> Response:
    principal = await _admin(request)
    body = await json_body(request)
    email, role = _optional(body, "email", str), _optional(body, "role", str)
    if email is None or role is None:
        raise BadRequest("email and role are required")
    async with services(request).database.session() as session:
        user, generated = await admin.create_user(
            session,
            principal,
            email=email,
            role=role,
            name=_optional(body, "name", str),
            password=_optional(body, "password", str),
            ip=client_ip(request),
        )
        await session.commit()
    payload = user_json(user)
    if generated is not None:
        payload["password"] = generated  # shown once, to the admin who created the user
    return JSONResponse(payload, status_code=201)


async def update_user(request: Request) -> Response:
    principal = await _admin(request)
    body = await json_body(request)
    found = services(request)
    async with found.database.session() as session:
        change = await admin.update_user(
            session,
            principal,
            request.path_params["user_id"],
            role=_optional(body, "role", str),
            active=_optional(body, "active", bool),
            name=_optional(body, "name", str),
            ip=client_ip(request),
        )
        await session.commit()
    if change.deactivated:
        found.registry.close_sessions(set(change.ended_sessions), close_codes.FORBIDDEN, "user deactivated")
        found.registry.close_user(change.user.id, close_codes.FORBIDDEN, "user deactivated")
    elif change.role_changed:
        found.registry.change_role(change.user.id, Role(change.user.role))
    return JSONResponse(user_json(change.user))


async def reset_password(request: Request) -> Response:
    principal = await _admin(request)
    body = await json_body(request)
    found = services(request)
    async with found.database.session() as session:
        generated, ended = await admin.reset_password(
            session,
            principal,
            request.path_params["user_id"],
            _optional(body, "password", str),
            client_ip(request),
        )
        await session.commit()
    found.registry.close_sessions(set(ended), close_codes.NOT_AUTHENTICATED, "password reset")
    return JSONResponse({"password": generated} if generated else {}, status_code=200)


def audit_json(entry: AuditEntry, users: dict[str, dict[str, str]]) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": iso(entry.at),
        "action": entry.action,
        "actor": users.get(entry.actor_id or ""),
        "target": users.get(entry.target_user_id or ""),
        "ip": entry.ip,
        "detail": entry.detail,
    }


async def audit_log(request: Request) -> Response:
    principal = await _admin(request)
    limit = int_param(request, "limit", 100, 1, 500)
    before = int_param(request, "before", 0, 0, 2**62) or None
    async with services(request).database.session() as session:
        entries = await audit.entries(session, principal.tenant_id, limit=limit, before_id=before)
        ids = {user_id for e in entries for user_id in (e.actor_id, e.target_user_id) if user_id}
        users = await user_refs(session, principal.tenant_id, ids)
    return JSONResponse({"entries": [audit_json(e, users) for e in entries]})


def lockout_json(lockout: Lockout) -> dict[str, Any]:
    return {
        "key": lockout.key.public,
        "kind": lockout.key.kind.value,
        "email": lockout.key.email or None,
        "address": lockout.key.address or None,
        "failures": lockout.failures,
        "limit": lockout.limit,
        "locked": lockout.locked,
        "retry_after_seconds": lockout.retry_after_seconds,
    }


async def list_lockouts(request: Request) -> Response:
    principal = await _admin(request)
    found = await admin.lockouts(principal, services(request).throttle)
    return JSONResponse({"lockouts": [lockout_json(lockout) for lockout in found]})


async def clear_lockout(request: Request) -> Response:
    """The key comes from the listing, in the body (`{"key": ...}`) or as `?key=`."""
    principal = await _admin(request)
    key = request.query_params.get("key")
    if key is None:
        key = _optional(await json_body(request), "key", str)
    if not key:
        raise BadRequest("key is required (from GET /api/admin/lockouts)")
    found = services(request)
    async with found.database.session() as session:
        await admin.clear_lockout(session, principal, found.throttle, key, client_ip(request))
        await session.commit()
    return Response(status_code=204)
