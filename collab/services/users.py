"""Administration of a tenant's users, failed-login lockouts and audit log; for its admins only.

What an admin changes about a user acts on that user's live connections at once: a deactivated user's
sockets close (4403) and streams end, a reset password ends every session (4401), a new role judges the
next message of each open socket; on every node when `access` is `AccessChanges` (collab/cluster/access.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auth import admin, audit
from auth.access import Action, require
from auth.errors import Forbidden, SessionEnded
from auth.principal import Principal, Role
from auth.throttle import Lockout, LoginThrottle
from collab.cluster.access import LiveEffects
from collab.cluster.presence import PresenceBoard
from collab.errors import close_frame
from collab.live.registry import RoomRegistry
from collab.records.records import iso, user_refs
from collab.records.titles import record_titles
from collab.services.deferred import Deferred
from persistence.database import Database
from persistence.models import AuditEntry, User


@dataclass(frozen=True)
class NewUser:
    email: str
    role: str
    name: str | None = None
    password: str | None = None  # None: one is generated, and shown once


@dataclass(frozen=True)
class UserChange:
    role: str | None = None
    active: bool | None = None
    name: str | None = None


@dataclass(frozen=True)
class AuditPage:
    limit: int = 100
    before: int | None = None  # an entry id: the page holds older ones


class Users:
    def __init__(
        self,
        database: Database,
        registry: RoomRegistry,
        throttle: LoginThrottle,
        access: LiveEffects | None = None,
        board: PresenceBoard | None = None,
    ) -> None:
        """`board`: several nodes with Redis: who is on the records whose rooms live on other nodes."""
        self._board = board
        self._database = database
        self._registry = registry
        self._access = access if access is not None else registry  # what acts on live connections
        self._throttle = throttle

    async def all(self, principal: Principal) -> list[dict[str, Any]]:
        require(principal, Action.ADMINISTER)
        async with self._database.session() as session:
            users = await admin.list_users(session, principal.tenant_id)
        return [user_json(user) for user in users]

    async def people(self, principal: Principal) -> list[dict[str, Any]]:
        """The tenant's people for any member who may read records (a `person` field's picker and names):
        id, name and whether they are active, never emails or roles; deleted users are left out."""
        require(principal, Action.READ)
        async with self._database.session() as session:
            users = await admin.list_users(session, principal.tenant_id)
        people = [{"id": user.id, "name": user.name, "active": user.active} for user in users]
        return sorted(people, key=lambda person: (str(person["name"]).casefold(), person["id"]))

    async def create(self, principal: Principal, read: Deferred[NewUser], ip: str) -> dict[str, Any]:
        """The new user; with `password` when one was generated (shown once, to this admin)."""
        require(principal, Action.ADMINISTER)
        wanted = await read()
        async with self._database.session() as session:
            user, generated = await admin.create_user(
                session,
                principal,
                email=wanted.email,
                role=wanted.role,
                name=wanted.name,
                password=wanted.password,
                ip=ip,
            )
            await session.commit()
        body = user_json(user)
        if generated is not None:
            body["password"] = generated
        return body

    async def update(
        self, principal: Principal, user_id: str, read: Deferred[UserChange], ip: str
    ) -> dict[str, Any]:
        require(principal, Action.ADMINISTER)
        wanted = await read()
        async with self._database.session() as session:
            change = await admin.update_user(
                session, principal, user_id, role=wanted.role, active=wanted.active, name=wanted.name, ip=ip
            )
            await session.commit()
        if change.deactivated:
            gone = close_frame(Forbidden("user deactivated"))
            self._access.close_sessions(set(change.ended_sessions), *gone)
            self._access.close_user(change.user.id, *gone)
        elif change.role_changed:
            self._access.change_role(change.user.id, Role(change.user.role))
        return user_json(change.user)

    async def delete(self, principal: Principal, user_id: str, ip: str) -> None:
        """Delete a user (auth.admin.delete_user says what stays); their sockets close (4403) and their
        feed streams end at once."""
        require(principal, Action.ADMINISTER)
        async with self._database.session() as session:
            change = await admin.delete_user(session, principal, user_id, ip)
            await session.commit()
        gone = close_frame(Forbidden("user deleted"))
        self._access.close_sessions(set(change.ended_sessions), *gone)
        self._access.close_user(change.user.id, *gone)

    async def online(self, principal: Principal) -> list[dict[str, Any]]:
        """Who has a record open in the tenant right now (this server's connections, and with several nodes
        on Redis those of rooms on the other nodes, from the presence board): each person once, with the
        records they have open and since when, earliest first."""
        require(principal, Action.ADMINISTER)
        mine = [c for c in self._registry.connections() if c.principal.tenant_id == principal.tenant_id]
        # (since, user id, name, record id) of every connection, here and on the other nodes.
        seen = [(iso(c.joined_at), c.principal.user_id, c.principal.name, c.record_id) for c in mine]
        if self._board is not None:
            here = {c.record_id for c in mine}
            for room in await self._board.tenant_rooms(principal.tenant_id):
                if room.record_id not in here:
                    seen += [
                        (str(p["since"]), str(p["id"]), str(p["name"]), room.record_id) for p in room.people
                    ]
        async with self._database.session() as session:
            titles = await record_titles(session, principal.tenant_id, {entry[3] for entry in seen})
        people: dict[str, dict[str, Any]] = {}
        for since, user_id, name, record_id in sorted(seen):
            person = people.setdefault(user_id, {"id": user_id, "name": name, "since": since, "records": {}})
            if record_id in titles:  # a record deleted since is no longer "open"
                person["records"].setdefault(
                    record_id, {"id": record_id, **titles[record_id], "since": since}
                )
        return [{**person, "records": list(person["records"].values())} for person in people.values()]

    async def reset_password(
        self, principal: Principal, user_id: str, read_password: Deferred[str | None], ip: str
    ) -> str | None:
        """Set a new password (generated when none is given: returned, to show once) and end every session
        of the user."""
        require(principal, Action.ADMINISTER)
        password = await read_password()
        async with self._database.session() as session:
            generated, ended = await admin.reset_password(session, principal, user_id, password, ip)
            await session.commit()
        self._access.close_sessions(set(ended), *close_frame(SessionEnded("password reset")))
        return generated

    async def audit(self, principal: Principal, read_page: Deferred[AuditPage]) -> list[dict[str, Any]]:
        """The tenant's audit log, newest first."""
        require(principal, Action.ADMINISTER)
        page = await read_page()
        async with self._database.session() as session:
            entries = await audit.entries(
                session, principal.tenant_id, limit=page.limit, before_id=page.before
            )
            ids = {user_id for e in entries for user_id in (e.actor_id, e.target_user_id) if user_id}
            users = await user_refs(session, principal.tenant_id, ids)
        return [audit_json(entry, users) for entry in entries]

    async def lockouts(self, principal: Principal) -> list[dict[str, Any]]:
        """Failed logins counted now against the tenant's accounts, and the addresses they came from."""
        require(principal, Action.ADMINISTER)
        return [lockout_json(lockout) for lockout in await admin.lockouts(principal, self._throttle)]

    async def clear_lockout(self, principal: Principal, read_key: Deferred[str], ip: str) -> None:
        """Forget the failures under one key of `lockouts`; `LockoutNotFound` for any other key."""
        require(principal, Action.ADMINISTER)
        key = await read_key()
        async with self._database.session() as session:
            await admin.clear_lockout(session, principal, self._throttle, key, ip)
            await session.commit()


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "active": user.active,
        "created_at": iso(user.created_at),
    }


def audit_json(entry: AuditEntry, users: dict[str, dict[str, str]]) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": iso(entry.at),
        "action": entry.action,
        "actor": users.get(entry.actor_id or ""),
        "target": users.get(entry.target_user_id or ""),
        "ip": entry.ip,
        "detail": entry.detail,
    }


def lockout_json(lockout: Lockout) -> dict[str, Any]:
    return {
        "key": lockout.key.public,
        "kind": lockout.key.kind.value,
        "email": lockout.key.email or None,
        "address": lockout.key.address or None,
        "failures": lockout.failures,
        "limit": lockout.limit,
        "locked": lockout.locked,
        "retry_after_seconds": lockout.retry_after_seconds,
    }
