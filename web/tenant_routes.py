"""Self-service onboarding: an organisation registers itself with its first admin (when enabled)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from collab.services.tenants import NewOrganisation
from web.auth_routes import client_ip
from web.errors import BadRequest
from web.requests import json_body
from web.services import services


async def registration(request: Request) -> Response:
    """Whether the sign-in page offers "Create an organisation"."""
    return JSONResponse({"open": services(request).tenants.registration_open})


async def register(request: Request) -> Response:
    created = await services(request).tenants.register(lambda: _organisation(request), client_ip(request))
    return JSONResponse(created, status_code=201)


async def _organisation(request: Request) -> NewOrganisation:
    body = await json_body(request)
    name, slug, email, password = (_text(body, key) for key in ("name", "slug", "email", "password"))
    if name is None or slug is None or email is None or password is None:
        raise BadRequest("name, slug, email and password are required")
    return NewOrganisation(name, slug, email, password, _text(body, "admin_name"))


def _text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise BadRequest(f"{key} must be a string")
    return value
