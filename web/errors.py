"""The one place where exceptions become HTTP statuses.

Every error body is `{"error": CODE, "message": TEXT}`, plus `"fields"` for values that do not fit.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from auth.errors import (
    Forbidden,
    InvalidCredentials,
    InvalidInput,
    LastAdmin,
    LockoutNotFound,
    NotAuthenticated,
    SessionNotFound,
    TenantExists,
    TenantNotFound,
    UserExists,
    UserNotFound,
)
from auth.throttle import TooManyAttempts
from collab.errors import RecordNotFound, RoomBroken, RoomLoadFailed
from collab.records.records import CollectionExists, CollectionNotFound
from collab.records.schema import SchemaError
from persistence.errors import DatabaseUnavailable


class BadRequest(Exception):
    """A body or parameter that cannot be read at all."""


class ChangeNotFound(LookupError):
    """No such entry in this record's history."""


def error_response(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": code, "message": message, **extra}, status_code=status)


_STATUS: list[tuple[type[Exception], int, str]] = [
    (NotAuthenticated, 401, "not_authenticated"),
    (InvalidCredentials, 401, "invalid_credentials"),
    (Forbidden, 403, "forbidden"),
    (RecordNotFound, 404, "not_found"),
    (CollectionNotFound, 404, "not_found"),
    (ChangeNotFound, 404, "not_found"),
    (TenantNotFound, 404, "not_found"),
    (UserNotFound, 404, "not_found"),
    (SessionNotFound, 404, "not_found"),
    (LockoutNotFound, 404, "not_found"),
    (LastAdmin, 409, "conflict"),
    (CollectionExists, 409, "conflict"),
    (TenantExists, 409, "conflict"),
    (UserExists, 409, "conflict"),
    (InvalidInput, 422, "invalid"),
    (BadRequest, 400, "bad_request"),
    (RoomLoadFailed, 503, "unavailable"),
    (RoomBroken, 503, "unavailable"),
    # The update writer gave up waiting (shutdown_grace_seconds) for a database that does not answer.
    (DatabaseUnavailable, 503, "unavailable"),
]


async def handle_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, SchemaError):
        return error_response(422, "invalid", str(exc), fields=exc.errors)
    if isinstance(exc, TooManyAttempts):
        response = error_response(429, "too_many_attempts", str(exc))
        response.headers["Retry-After"] = str(exc.retry_after_seconds)
        return response
    if isinstance(exc, RecordNotFound) or (isinstance(exc, HTTPException) and exc.status_code == 404):
        # The same answer for a missing record, another tenant's record and a path that is no route.
        return error_response(404, "not_found", "not found")
    if isinstance(exc, HTTPException):
        return error_response(exc.status_code, "http_error", str(exc.detail))
    for kind, status, code in _STATUS:
        if isinstance(exc, kind):
            return error_response(status, code, str(exc))
    raise exc


EXCEPTION_HANDLERS: dict[Any, Any] = {
    kind: handle_error
    for kind in [SchemaError, HTTPException, TooManyAttempts, *(kind for kind, _, _ in _STATUS)]
}
