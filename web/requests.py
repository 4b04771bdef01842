"""Reading request input strictly: a body that is not what a route expects is a 400, never a 500.

A JSON body must be plain JSON: no `NaN` or `Infinity` (Python's parser takes them, no database or
browser does), no number beyond a double (`1e999` would read as infinity), no text holding NUL or a lone
surrogate (PostgreSQL, UTF-8 and yrs refuse them), and no deeper nesting than any route needs (100,000
levels made the parser raise RecursionError, which answered 500).
"""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.requests import Request

from web.errors import BadRequest
from web.input_guard import NUL

MAX_BODY_BYTES = 1024 * 1024
# Far deeper than any body of this API; it keeps every later walk over a body (checks, the schema, the
# database driver, rendering) well away from Python's recursion limit.
MAX_JSON_DEPTH = 64


async def json_body(request: Request) -> dict[str, Any]:
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise BadRequest("request body too large")
    data = parse_json(body)
    if not isinstance(data, dict):
        raise BadRequest("expected a JSON object")
    check_json_text(data)
    return data


def parse_json(body: bytes | str) -> Any:
    """Parse request JSON, raising `BadRequest` for anything but plain JSON (see the module docstring)."""
    try:
        return json.loads(body or b"null", parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:
        raise BadRequest("request body is nested too deeply") from None
    except ValueError:  # not JSON, or not UTF-8 (UnicodeDecodeError is a ValueError)
        raise BadRequest("request body is not JSON") from None


def check_json_text(data: Any) -> None:
    """`BadRequest` for text (keys included) holding NUL or a lone surrogate, or nesting beyond the bound.
    Iterative: a value the parser accepted may still be deep enough to break a recursive walk."""
    pending: list[tuple[Any, int]] = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            _check_text(value)
        elif isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise BadRequest(f"request body is nested more than {MAX_JSON_DEPTH} levels deep")
            if isinstance(value, dict):
                for key in value:
                    _check_text(key)
                pending += [(item, depth + 1) for item in value.values()]
            else:
                pending += [(item, depth + 1) for item in value]


def _check_text(text: str) -> None:
    if NUL in text:
        raise BadRequest("text may not contain NUL characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest("text must be valid Unicode (it holds a lone surrogate)") from None


def _no_constant(name: str) -> Any:
    raise BadRequest(f"{name} is not a JSON number")


def _finite_float(literal: str) -> float:
    number = float(literal)
    if not math.isfinite(number):
        raise BadRequest("a number is too large")
    return number


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
