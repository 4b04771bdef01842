"""Errors of authentication and accounts, each knowing its HTTP status and WebSocket close code.

The attributes mean what they mean in collab/errors.py (`status`, `error_code`, `close_code`,
`close_reason`: None means the message is the reason). auth sits below collab, so the close codes are plain
numbers here; tests/web/test_errors.py checks them against collab/close_codes.py.

    AuthError                     500 / 1011  base class
    ├── NotAuthenticated          401 / 4401  no token, an unknown, revoked or expired one (a socket is
    │   │                                     told "not authenticated", never which)
    │   └── SessionEnded          401 / 4401  a live session ended (logged out, revoked, password reset):
    │                                         its open sockets are told which
    ├── InvalidCredentials        401 / 4401  login with a wrong tenant, email or password (never says which)
    ├── Forbidden                 403 / 4403  authenticated, but the role (or the Origin) does not allow it
    ├── TenantNotFound            404 / 4404  a CLI or admin call named a tenant that does not exist
    ├── UserNotFound              404 / 4404  an admin call named a user that is not in the caller's tenant
    ├── SessionNotFound           404 / 4404  a session that is not one of the caller's
    ├── LockoutNotFound           404 / 4404  an admin call named failed-login counts the tenant does not have
    ├── LastAdmin                 409 / 4400  a change that would leave a tenant without an active admin
    ├── TenantExists / UserExists 409 / 4400  a create that would duplicate
    ├── InvalidInput              422 / 4400  a bad email, role, slug or password on create
    └── TooManyAttempts           429 / 4429  over a budget of attempts (auth/throttle.py); carries
                                              `retry_after_seconds`
"""

from __future__ import annotations

from typing import ClassVar

# collab/close_codes.py, spelled out: auth may not import collab.
_MALFORMED = 4400
_NOT_AUTHENTICATED = 4401
_FORBIDDEN = 4403
_NOT_FOUND = 4404
_INTERNAL_ERROR = 1011


class AuthError(Exception):
    status: ClassVar[int | None] = None
    error_code: ClassVar[str] = "internal"
    close_code: ClassVar[int] = _INTERNAL_ERROR
    close_reason: ClassVar[str | None] = "internal error"


class NotAuthenticated(AuthError):
    status = 401
    error_code = "not_authenticated"
    close_code = _NOT_AUTHENTICATED
    close_reason: ClassVar[str | None] = "not authenticated"


class SessionEnded(NotAuthenticated):
    close_reason = None


class InvalidCredentials(AuthError):
    status = 401
    error_code = "invalid_credentials"
    close_code = _NOT_AUTHENTICATED
    close_reason = "not authenticated"


class Forbidden(AuthError):
    status = 403
    error_code = "forbidden"
    close_code = _FORBIDDEN
    close_reason = None


class _NotFound(AuthError):
    status = 404
    error_code = "not_found"
    close_code = _NOT_FOUND
    close_reason = None


class TenantNotFound(_NotFound):
    pass


class UserNotFound(_NotFound):
    pass


class SessionNotFound(_NotFound):
    pass


class LockoutNotFound(_NotFound):
    pass


class _Conflict(AuthError):
    status = 409
    error_code = "conflict"
    close_code = _MALFORMED
    close_reason = None


class LastAdmin(_Conflict):
    pass


class TenantExists(_Conflict):
    pass


class UserExists(_Conflict):
    pass


class InvalidInput(AuthError):
    status = 422
    error_code = "invalid"
    close_code = _MALFORMED
    close_reason = None
