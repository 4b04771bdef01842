"""The one place where exceptions become HTTP responses.

Every error body is `{"error": CODE, "message": TEXT}`, plus `"fields"` for values that do not fit (and
`"etag"`, with the current fields, for a stale If-Match). The status and CODE come from the error class
itself (`status`, `error_code`: the trees in auth/errors.py, collab/errors.py and persistence/errors.py);
what an error adds to its answer (fields, a tag, Retry-After) is rendered here. An error whose `status` is
None is no answer of its own: it goes on to Starlette's 500, with its traceback logged.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from auth.errors import AuthError
from auth.throttle import TooManyAttempts
from collab.errors import CollabError, DuplicateValue, PreconditionFailed, RecordNotFound, SchemaError


class BadRequest(Exception):
    """A body or parameter that cannot be read at all."""

    status = 400
    error_code = "bad_request"


def error_response(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": code, "message": message, **extra}, status_code=status)


async def handle_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, RecordNotFound) or (isinstance(exc, HTTPException) and exc.status_code == 404):
        # The same answer for a missing record, another tenant's record and a path that is no route.
        return error_response(404, "not_found", "not found")
    if isinstance(exc, HTTPException):
        return error_response(exc.status_code, "http_error", str(exc.detail))
    status: int | None = getattr(exc, "status", None)
    if status is None:
        raise exc
    code: str = getattr(exc, "error_code", "error")
    if isinstance(exc, SchemaError):
        return error_response(status, code, str(exc), fields=exc.errors)
    if isinstance(exc, DuplicateValue):
        return error_response(
            status, code, str(exc), field=exc.field, record_id=exc.record_id, record_title=exc.record_title
        )
    if isinstance(exc, PreconditionFailed):
        response = error_response(status, code, str(exc), fields=exc.fields, etag=exc.etag)
        response.headers["ETag"] = exc.etag
        return response
    response = error_response(status, code, str(exc))
    if isinstance(exc, TooManyAttempts):
        response.headers["Retry-After"] = str(exc.retry_after_seconds)
    return response


async def handle_busy(request: Request, exc: Exception) -> Response:
    """Every pooled database connection stayed busy for the pool's time-out: try again shortly."""
    response = error_response(503, "unavailable", "the database is busy; try again shortly")
    response.headers["Retry-After"] = "1"
    return response


def exception_handlers(*roots: type[Exception]) -> dict[Any, Any]:
    """Starlette's handlers: for web's own errors, auth's and collab's, and the `roots` the composition root
    adds (persistence's: web does not import it)."""
    return {kind: handle_error for kind in (HTTPException, BadRequest, AuthError, CollabError, *roots)}
