"""Who may do what: the one role check, for HTTP use-cases and live connections alike.

Every path asks here (collab's application services before they act, a room before it applies a live
update), so a role means the same thing over HTTP and over a WebSocket. Tenancy is not decided here: every
query is scoped by the caller's tenant, and a foreign record answers exactly like a missing one.
"""

from __future__ import annotations

from enum import StrEnum

from auth.errors import Forbidden
from auth.principal import Principal, Role


class Action(StrEnum):
    READ = "read"  # records, their history and presence, collections, the feed, joining a live record
    EDIT = "edit"  # change records (live updates, PATCH, create, delete, put back) and take snapshots
    READ_SNAPSHOTS = "read_snapshots"  # viewers too when the server says so (COLLAB_VIEWERS_READ_SNAPSHOTS)
    RESTORE_SNAPSHOTS = "restore_snapshots"
    DEFINE_COLLECTIONS = "define_collections"
    ADMINISTER = "administer"  # users, lockouts, the audit log


_EVERYONE = frozenset(Role)
_WRITERS = frozenset({Role.ADMIN, Role.EDITOR})
_ADMINS = frozenset({Role.ADMIN})

_ALLOWED: dict[Action, frozenset[Role]] = {
    Action.READ: _EVERYONE,
    Action.EDIT: _WRITERS,
    Action.READ_SNAPSHOTS: _WRITERS,
    Action.RESTORE_SNAPSHOTS: _ADMINS,
    Action.DEFINE_COLLECTIONS: _ADMINS,
    Action.ADMINISTER: _ADMINS,
}

# What a refused caller is told (the message of the 403).
_REFUSAL: dict[Action, str] = {
    Action.READ: "your role may not read this",
    Action.EDIT: "your role may not change records",
    Action.READ_SNAPSHOTS: "viewers do not read snapshots",
    Action.RESTORE_SNAPSHOTS: "only admins restore snapshots",
    Action.DEFINE_COLLECTIONS: "only admins define collections",
    Action.ADMINISTER: "admins only",
}


def allows(principal: Principal, action: Action) -> bool:
    return principal.role in _ALLOWED[action]


def require(principal: Principal, action: Action) -> None:
    """Raise `Forbidden` (403 / close 4403) unless the principal's role allows `action`."""
    if not allows(principal, action):
        raise Forbidden(_REFUSAL[action])
