"""Access changes on every node: a revoked session, a user gone, a role changed act everywhere within ~1 s.

The services act on this node's live connections at once (as on one node) and publish the change on the
bus topic `access`; every other node applies it to its own connections and feed streams as if it had been
made there. The bus may drop a message (Redis down): `SessionWatch` reads the sessions table as the net
under it, every half second while the bus is down (feed streams included).

A message is small JSON, one of
- `{"kind": "sessions", "ids": [...], "code": 4401, "reason": "..."}`: those sessions ended;
- `{"kind": "user", "user": "...", "code": 4403, "reason": "..."}`: every connection of a user closes;
- `{"kind": "role", "user": "...", "role": "viewer"}`: the user's next messages are judged by the role.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

from auth.principal import Role
from collab.cluster.bus import Bus

log = logging.getLogger(__name__)

TOPIC = "access"


class LiveEffects(Protocol):
    """What acts on this node's live connections and streams (the room registry)."""

    def close_sessions(self, session_ids: set[str], code: int, reason: str) -> int: ...

    def close_user(self, user_id: str, code: int, reason: str) -> int: ...

    def change_role(self, user_id: str, role: Role) -> None: ...


@dataclass(frozen=True)
class SessionsEnded:
    ids: frozenset[str]
    code: int
    reason: str


@dataclass(frozen=True)
class UserGone:
    user_id: str
    code: int
    reason: str


@dataclass(frozen=True)
class RoleChanged:
    user_id: str
    role: Role


AccessChange = SessionsEnded | UserGone | RoleChanged


def encode(change: AccessChange) -> bytes:
    body: dict[str, object]
    if isinstance(change, SessionsEnded):
        body = {"kind": "sessions", "ids": sorted(change.ids), "code": change.code, "reason": change.reason}
    elif isinstance(change, UserGone):
        body = {"kind": "user", "user": change.user_id, "code": change.code, "reason": change.reason}
    else:
        body = {"kind": "role", "user": change.user_id, "role": change.role.value}
    return json.dumps(body, separators=(",", ":")).encode()


def decode(payload: bytes) -> AccessChange:
    """The change a message carries; `ValueError` for anything else (a message of a newer version)."""
    try:
        body = json.loads(payload)
        kind = body["kind"]
        if kind == "sessions":
            ids = body["ids"]
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                raise ValueError("session ids must be strings")
            return SessionsEnded(frozenset(ids), int(body["code"]), str(body["reason"]))
        if kind == "user":
            return UserGone(_text(body["user"]), int(body["code"]), str(body["reason"]))
        if kind == "role":
            return RoleChanged(_text(body["user"]), Role(body["role"]))
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not an access change: {exc!r}") from exc
    raise ValueError(f"unknown access change {kind!r}")


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("an id must be a string")
    return value


class AccessChanges:
    """`LiveEffects` of the whole deployment: this node's at once, the others' through the bus."""

    def __init__(self, live: LiveEffects, bus: Bus) -> None:
        self._live = live
        self._bus = bus
        self._unsubscribe: Callable[[], None] | None = None

    async def __aenter__(self) -> AccessChanges:
        self._unsubscribe = self._bus.subscribe(TOPIC, self._heard)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def close_sessions(self, session_ids: set[str], code: int, reason: str) -> int:
        if not session_ids:
            return 0
        self._bus.publish(TOPIC, encode(SessionsEnded(frozenset(session_ids), code, reason)))
        return self._live.close_sessions(session_ids, code, reason)

    def close_user(self, user_id: str, code: int, reason: str) -> int:
        self._bus.publish(TOPIC, encode(UserGone(user_id, code, reason)))
        return self._live.close_user(user_id, code, reason)

    def change_role(self, user_id: str, role: Role) -> None:
        self._bus.publish(TOPIC, encode(RoleChanged(user_id, role)))
        self._live.change_role(user_id, role)

    def _heard(self, payload: bytes, node: str) -> None:
        try:
            change = decode(payload)
        except ValueError:
            log.warning("access: an unreadable message from node %s was ignored", node)
            return
        apply(change, self._live)


def apply(change: AccessChange, live: LiveEffects) -> None:
    """Act on this node's connections as if the change had been made here."""
    if isinstance(change, SessionsEnded):
        live.close_sessions(set(change.ids), change.code, change.reason)
    elif isinstance(change, UserGone):
        live.close_user(change.user_id, change.code, change.reason)
    else:
        live.change_role(change.user_id, change.role)
