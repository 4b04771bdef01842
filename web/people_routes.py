"""The tenant's people as any signed-in member may see them (`GET /api/people`): for a `person` field's
picker and for showing a person value by name. Ids and names only; emails and roles stay admin business.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from web.security import principal_of
from web.services import services


async def people(request: Request) -> Response:
    principal = await principal_of(request)
    return JSONResponse({"people": await services(request).users.people(principal)})


PEOPLE_ROUTES = [Route("/api/people", people, methods=["GET"])]
