"""Login, logout, who-am-I, and the caller's own sessions: parse, call `collab.services.sessions`, render."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from auth.errors import Forbidden
from auth.principal import Principal
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
    token, principal = await found.sessions.login(
        tenant, email, password, user_agent=request.headers.get("user-agent", ""), ip=client_ip(request)
    )
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


async def logout(request: Request) -> Response:
    principal = await principal_of(request)
    await services(request).sessions.logout(principal, client_ip(request))
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def me(request: Request) -> Response:
    return JSONResponse({"user": user_json(await principal_of(request))})


async def list_sessions(request: Request) -> Response:
    principal = await principal_of(request)
    return JSONResponse({"sessions": await services(request).sessions.live(principal)})


async def revoke_session(request: Request) -> Response:
    principal = await principal_of(request)
    await services(request).sessions.revoke(principal, request.path_params["session_id"], client_ip(request))
    return Response(status_code=204)


async def revoke_other_sessions(request: Request) -> Response:
    principal = await principal_of(request)
    revoked = await services(request).sessions.revoke_others(principal, client_ip(request))
    return JSONResponse({"revoked": revoked})
