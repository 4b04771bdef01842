"""Errors of authentication and accounts.

AuthError
├── NotAuthenticated     no token, an unknown, revoked or expired one (HTTP 401 / close 4401)
├── InvalidCredentials   login with a wrong tenant, email or password (HTTP 401; never says which)
├── Forbidden            authenticated, but the role does not allow it (HTTP 403 / close 4403)
├── TenantNotFound       a CLI or admin call named a tenant that does not exist
├── UserNotFound         an admin call named a user that is not in the caller's tenant
├── SessionNotFound      a session that is not one of the caller's
├── LockoutNotFound      an admin call named failed-login counts the tenant does not have
├── LastAdmin            a change that would leave a tenant without an active admin
├── TenantExists / UserExists   a create that would duplicate
└── InvalidInput         a bad email, role, slug or password on create
"""


class AuthError(Exception):
    pass


class NotAuthenticated(AuthError):
    pass


class InvalidCredentials(AuthError):
    pass


class Forbidden(AuthError):
    pass


class TenantNotFound(AuthError):
    pass


class UserNotFound(AuthError):
    pass


class SessionNotFound(AuthError):
    pass


class LockoutNotFound(AuthError):
    pass


class LastAdmin(AuthError):
    pass


class TenantExists(AuthError):
    pass


class UserExists(AuthError):
    pass


class InvalidInput(AuthError):
    pass
