"""`GET /metrics`: the server's figures in the Prometheus text format, for whoever holds the metrics token.

Not public by default: without `metrics_token` the URL does not exist (404, like any unknown path); with
it, only `Authorization: Bearer <metrics_token>` is answered (401 otherwise). The token is compared in
constant time and never logged.
"""

from __future__ import annotations

import hmac

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from collab.metrics import CONTENT_TYPE, Metrics
from web.errors import error_response
from web.services import services

METRICS_PATH = "/metrics"


async def metrics(request: Request) -> Response:
    expected = services(request).settings.metrics_token
    if not expected:
        raise HTTPException(404)
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
        refused = error_response(401, "not_authenticated", "the metrics token is required")
        refused.headers["WWW-Authenticate"] = "Bearer"
        return refused
    figures: Metrics = request.app.state.metrics
    return Response(figures.exposition(), media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})
