"""Reading request input strictly: a body that is not what a route expects is a 400, never a 500."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from web.errors import BadRequest
from web.input_guard import holds_nul

MAX_BODY_BYTES = 1024 * 1024


async def json_body(request: Request) -> dict[str, Any]:
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise BadRequest("request body too large")
    try:
        data = json.loads(body or b"null")
    except ValueError:
        raise BadRequest("request body is not JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("expected a JSON object")
    if holds_nul(data):
        raise BadRequest("text may not contain NUL characters")
    return data


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer") from None
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}")
    return value
