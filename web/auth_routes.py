"""Login, logout and who-am-I."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from auth import sessions
from auth.principal import Principal
from web.errors import BadRequest
from web.requests import json_body
from web.security import SESSION_COOKIE, principal_of
from web.services import services


def user_json(principal: Principal) -> dict[str, str]:
    return {
        "id": principal.user_id,
        "email": principal.email,
        "name": principal.name,
        "role": principal.role.value,
        "tenant": principal.tenant_slug,
    }


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


async def login(request: Request) -> Response:
    body = await json_body(request)
    tenant, email, password = body.get("tenant", "default"), body.get("email"), body.get("password")
    if not all(isinstance(value, str) for value in (tenant, email, password)):
        raise BadRequest("tenant, email and password are strings")
    assert isinstance(tenant, str) and isinstance(email, str) and isinstance(password, str)
    found = services(request)
    async with found.database.session() as session:
        token, principal = await sessions.login(
            session,
            tenant_slug=tenant,
            email=email,
            password=password,
            user_agent=request.headers.get("user-agent", ""),
            ip=client_ip(request),
        )
        await session.commit()
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
    async with services(request).database.session() as session:
        await sessions.logout(session, principal)
        await session.commit()
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def me(request: Request) -> Response:
    return JSONResponse({"user": user_json(await principal_of(request))})
