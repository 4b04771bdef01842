"""Login, logout, who-am-I, and the caller's own sessions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from auth import audit, sessions
from auth.accounts import normalise_email
from auth.devices import describe
from auth.errors import Forbidden, InvalidCredentials, SessionNotFound
from auth.principal import Principal
from collab import close_codes
from collab.records.records import iso
from persistence.models import LoginSession, Tenant
from web.errors import BadRequest
from web.requests import json_body
from web.security import SESSION_COOKIE, origin_allowed, principal_of
from web.services import services


def user_json(principal: Principal) -> dict[str, str]:
    return {
        "id": principal.user_id,
        "email": principal.email,
        "name": principal.name,
        "role": principal.role.value,
        "tenant": principal.tenant_slug,
        "color": principal.color,
    }


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


async def login(request: Request) -> Response:
    if not origin_allowed(request):
        raise Forbidden("this origin may not log in")
    body = await json_body(request)
    tenant, email, password = body.get("tenant", "default"), body.get("email"), body.get("password")
    if not (isinstance(tenant, str) and isinstance(email, str) and isinstance(password, str)):
        raise BadRequest("tenant, email and password are strings")
    found = services(request)
    ip = client_ip(request)
    # The slot is taken before the password is checked: a guess counts from the moment it is made.
    attempt = await found.throttle.reserve(tenant, normalise_email(email), ip)
    try:
        token, principal = await _verified_login(request, tenant, email, password, ip)
    except InvalidCredentials:
        raise  # the attempt stays counted
    except BaseException:
        await attempt.abandoned()  # no answer was given: it does not count
        raise
    await attempt.succeeded()
    response = JSONResponse({"token": token, "user": user_json(principal)})
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=found.settings.session_cookie_secure or request.url.scheme == "https",
        path="/",
    )
    return response


async def _verified_login(
    request: Request, tenant: str, email: str, password: str, ip: str
) -> tuple[str, Principal]:
    found = services(request)
    async with found.database.session() as session:
        try:
            token, principal = await sessions.login(
                session,
                tenant_slug=tenant,
                email=email,
                password=password,
                user_agent=request.headers.get("user-agent", ""),
                ip=ip,
            )
        except InvalidCredentials:
            await session.rollback()
            known_tenant = await session.scalar(select(Tenant.id).where(Tenant.slug == tenant))
            await audit.record(
                session, action="login.failed", tenant_id=known_tenant, actor_id=None, ip=ip,
                detail={"email": normalise_email(email)[:320]},
            )  # fmt: skip
            await session.commit()
            raise
        await audit.record(
            session, action="login", tenant_id=principal.tenant_id, actor_id=principal.user_id, ip=ip,
            detail={"session": principal.session_id},
        )  # fmt: skip
        await session.commit()
    return token, principal


async def logout(request: Request) -> Response:
    principal = await principal_of(request)
    found = services(request)
    async with found.database.session() as session:
        await sessions.revoke(session, principal.user_id, [principal.session_id])
        await audit.record(
            session, action="logout", tenant_id=principal.tenant_id, actor_id=principal.user_id,
            ip=client_ip(request), detail={"session": principal.session_id},
        )  # fmt: skip
        await session.commit()
    found.registry.close_sessions({principal.session_id}, close_codes.NOT_AUTHENTICATED, "logged out")
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def me(request: Request) -> Response:
    return JSONResponse({"user": user_json(await principal_of(request))})


def session_json(row: LoginSession, current: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "device": describe(row.user_agent),
        "user_agent": row.user_agent,
        "ip": row.ip,
        "created_at": iso(row.created_at),
        "last_seen_at": iso(row.last_seen_at),
        "current": row.id == current,
    }


async def list_sessions(request: Request) -> Response:
    principal = await principal_of(request)
    found = services(request)
    async with found.database.session() as session:
        rows = await sessions.list_sessions(session, principal.user_id, found.session_policy)
    return JSONResponse({"sessions": [session_json(row, principal.session_id) for row in rows]})


async def _end_sessions(request: Request, principal: Principal, session_ids: list[str] | None) -> list[str]:
    found = services(request)
    async with found.database.session() as session:
        ended = await sessions.revoke(session, principal.user_id, session_ids)
        if ended:
            await audit.record(
                session, action="session.revoke", tenant_id=principal.tenant_id, actor_id=principal.user_id,
                target_user_id=principal.user_id, ip=client_ip(request), detail={"sessions": ended},
            )  # fmt: skip
        await session.commit()
    found.registry.close_sessions(set(ended), close_codes.NOT_AUTHENTICATED, "session revoked")
    return ended


async def revoke_session(request: Request) -> Response:
    principal = await principal_of(request)
    ended = await _end_sessions(request, principal, [request.path_params["session_id"]])
    if not ended:
        raise SessionNotFound("no such session")
    return Response(status_code=204)


async def revoke_other_sessions(request: Request) -> Response:
    principal = await principal_of(request)
    async with services(request).database.session() as session:
        mine = await sessions.list_sessions(session, principal.user_id)
    others = [row.id for row in mine if row.id != principal.session_id]
    ended = await _end_sessions(request, principal, others) if others else []
    return JSONResponse({"revoked": len(ended)})
