"""Whose rows a database transaction may see: the tenant wall that PostgreSQL enforces itself.

On PostgreSQL every table of tenant data has row-level security (migration 0010): a row is visible, and
may be written, only when the transaction's `app.tenant_id` setting names its tenant (records-keyed
tables: the tenant of their record), or when `app.system` is `on`. The application's pooled connections
run as the role `APP_ROLE`, which owns no table, so it cannot switch the policies off. A query that forgets
its tenant filter still sees only the current tenant's rows.

What a transaction gets is decided when it begins (`apply`, hooked to the engine's `begin` event by
`persistence.database.Database`), from this task's scope:

- `tenant_scope(tenant_id)` / `enter_tenant(tenant_id)`: one tenant's work. A request enters its
  caller's tenant once authenticated (`collab.services.sessions.Sessions.authenticate`, and `login`), for
  the rest of its task (each request and WebSocket runs in a task of its own; tasks it starts inherit it).
- `system_scope()` / `@system_work`: work that is no single tenant's, and only that: the update writer
  (its own connection, see `SYSTEM_CONNECTION_SQL`), the change feed and the conflicts announcer,
  retention, the session watch, loading and snapshotting rooms, login and token lookup (the tenant is not
  known yet), registration, the CLI and first start.
- Nothing set: nothing is visible and nothing can be written. An unset scope never means "all".

Both settings are transaction-local (`set_config(..., true)`), so a pooled connection never carries one into
the next transaction. The system marker is a setting of its own rather than a special tenant id: a value
that reaches `app.tenant_id` (a tenant id, whatever a bug passes there) can only ever open that one
tenant's rows, and every way past the tenant policy is a `system_scope()` that a reader can find by name.

SQLite has no row-level security: there the scope is kept but has no effect.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

# The role the application's queries run as (cluster-wide, shared by every collab database of a cluster).
APP_ROLE = "collab_app"
TENANT_SETTING = "app.tenant_id"
SYSTEM_SETTING = "app.system"

# For the update writer's own connection, held for its lifetime and never returned to the pool (it is
# invalidated when dropped): set once, session-wide, so its hot path costs no extra round trip.
SYSTEM_CONNECTION_SQL = f"SELECT set_config('{SYSTEM_SETTING}', 'on', false)"

# Makes APP_ROLE (NOLOGIN) unless it exists, and lets a login user that is no superuser switch to it. Roles
# are cluster-wide and advisory locks per database, so another database's migration (or restore) may create
# it at the same moment: that is tolerated. Run by migration 0010 and before a PostgreSQL restore.
ENSURE_ROLE_SQL = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        BEGIN
            CREATE ROLE {APP_ROLE} NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
       AND NOT pg_has_role(current_user, '{APP_ROLE}', 'MEMBER') THEN
        EXECUTE format('GRANT {APP_ROLE} TO %I', current_user);
    END IF;
END $$
"""

_SET_SYSTEM = f"SELECT set_config('{SYSTEM_SETTING}', 'on', true)"
_SET_TENANT = f"SELECT set_config('{TENANT_SETTING}', $1, true)"
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class Scope:
    """One tenant's work (`tenant_id`), or system work (`system`)."""

    tenant_id: str | None = None
    system: bool = False


SYSTEM = Scope(system=True)

_current: ContextVar[Scope | None] = ContextVar("collab_tenant_scope", default=None)


def current() -> Scope | None:
    """This task's scope; None when nothing was set (a transaction then sees nothing)."""
    return _current.get()


def enter_tenant(tenant_id: str) -> None:
    """Scope the rest of the current task to one tenant (a request, once its caller is known)."""
    _current.set(_tenant(tenant_id))


@contextmanager
def tenant_scope(tenant_id: str) -> Iterator[None]:
    """Transactions begun inside see only `tenant_id`'s rows."""
    token = _current.set(_tenant(tenant_id))
    try:
        yield
    finally:
        _current.reset(token)


@contextmanager
def system_scope() -> Iterator[None]:
    """Transactions begun inside see every tenant's rows: only for work that is no single tenant's."""
    token = _current.set(SYSTEM)
    try:
        yield
    finally:
        _current.reset(token)


_P = ParamSpec("_P")
_R = TypeVar("_R")


def system_work(function: Callable[_P, Awaitable[_R]]) -> Callable[_P, Coroutine[Any, Any, _R]]:
    """Run a coroutine function in `system_scope()` (a marker on each system entry point)."""

    @functools.wraps(function)
    async def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with system_scope():
            return await function(*args, **kwargs)

    return run


def apply(connection: Any) -> None:
    """SQLAlchemy `begin` listener (PostgreSQL): give the new transaction this task's scope."""
    scope = _current.get()
    if scope is None:  # the settings stay unset: the policies match no row
        return
    if scope.system:
        connection.exec_driver_sql(_SET_SYSTEM)
    else:
        # A parameter (asyncpg's style): one prepared statement for every tenant, kept in the driver's cache.
        connection.exec_driver_sql(_SET_TENANT, (scope.tenant_id,))


def _tenant(tenant_id: str) -> Scope:
    if len(tenant_id) != 32 or not _HEX.issuperset(tenant_id):
        raise ValueError("a tenant scope needs a tenant id")
    return Scope(tenant_id=tenant_id)
