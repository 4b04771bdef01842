"""The presence (awareness) states of one room, bounded in count and bytes per connection.

Rules, in the order they are applied to each entry a connection sends:
- A connection owns the client ids it announces first; an entry for an id another connection owns is
  dropped: nobody speaks for someone else's cursor. A removal (a null state) of an id the connection does
  not own is ignored: y-websocket relays others' departures, and that is no announcement.
- A connection may announce at most `limits.client_ids` distinct client ids over its life; entries for more
  are dropped. An honest y-websocket client uses one per connection, so the cap only meets a buggy or
  hostile client, and dropping (rather than closing) keeps a buggy one editing.
- The `user` field of every state is replaced by the authenticated user. A state whose JSON (so stamped)
  is above `limits.state_bytes` is dropped and the connection's previous state stays as it was. The
  connection is not closed: presence is decoration, and a 44xx close would stop y-websocket editing for
  good (4413 is final for it).
States are kept as the JSON text that is sent, so the table holds at most `client_ids * state_bytes`
per connection, and a joiner is sent no more than that per connection in the room.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from collab.ycodec import protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AwarenessLimits:
    """What one connection may hold in a room's awareness table (settings `awareness_*`)."""

    client_ids: int = 4
    state_bytes: int = 16 * 1024


DEFAULT_LIMITS = AwarenessLimits()


@dataclass(slots=True)
class _State:
    owner: int  # connection id
    clock: int
    json: str | None  # the stamped state as sent (ASCII); None once the client said it left
    field: str | None  # what the client says it edits, for the presence list


class Awareness:
    def __init__(self) -> None:
        self._states: dict[int, _State] = {}
        self._owned: dict[int, set[int]] = {}  # connection id -> client ids it announced
        self._told: set[int] = set()  # connections whose dropped entries were logged (once each)

    def receive(
        self,
        connection_id: int,
        user: dict[str, str],
        limits: AwarenessLimits,
        entries: list[protocol.AwarenessEntry],
    ) -> bytes | None:
        """Take what a connection announced; return the awareness payload to broadcast, if any."""
        owned = self._owned.setdefault(connection_id, set())
        accepted: list[tuple[int, int, str | None]] = []
        dropped = 0
        for entry in entries:
            current = self._states.get(entry.client_id)
            if current is not None and current.owner != connection_id:
                dropped += 1
                continue
            if entry.state is None and entry.client_id not in owned:
                # y-websocket relays every change it sees, others' departures too: a removal of an id this
                # connection never announced says nothing about it and claims nothing (claiming it would keep
                # its real owner out when it comes back).
                continue
            if entry.client_id not in owned and len(owned) >= limits.client_ids:
                dropped += 1
                continue
            text, field = _stamped(entry.state, user, limits.state_bytes)
            if entry.state is not None and text is None:
                dropped += 1
                continue
            owned.add(entry.client_id)
            self._states[entry.client_id] = _State(connection_id, entry.clock, text, field)
            accepted.append((entry.client_id, entry.clock, text))
        if dropped and connection_id not in self._told:
            self._told.add(connection_id)
            log.info("connection %s: awareness entries dropped (foreign, too many or too big)", connection_id)
        return _payload(accepted) if accepted else None

    def leave(self, connection_id: int) -> bytes | None:
        """Forget a connection's states; return the removals to broadcast, if it had any live state."""
        self._told.discard(connection_id)
        gone = []
        for client_id in self._owned.pop(connection_id, set()):
            state = self._states.pop(client_id, None)
            if state is not None and state.json is not None:
                gone.append((client_id, state.clock + 1, None))
        return _payload(gone) if gone else None

    def payload(self) -> bytes | None:
        """Every live state, as one awareness payload (what a joiner is sent); None when there is none."""
        live = [(client_id, s.clock, s.json) for client_id, s in self._states.items() if s.json is not None]
        return _payload(live) if live else None

    def entries(self) -> list[protocol.AwarenessEntry]:
        """Every live state, decoded."""
        return [
            protocol.AwarenessEntry(client_id, s.clock, json.loads(s.json))
            for client_id, s in self._states.items()
            if s.json is not None
        ]

    def field_of(self, connection_id: int) -> str | None:
        """The field a connection's clients say they edit, if any says so."""
        for client_id in self._owned.get(connection_id, ()):
            state = self._states.get(client_id)
            if state is not None and state.json is not None and state.field is not None:
                return state.field
        return None


def _stamped(
    state: dict[str, Any] | None, user: dict[str, str], max_bytes: int
) -> tuple[str | None, str | None]:
    """The state with the server's `user`, as JSON, and its `field`; (None, None) if it is too big."""
    if state is None:
        return None, None
    try:
        text = json.dumps({**state, "user": user}, separators=(",", ":"), allow_nan=False)
    except (ValueError, RecursionError):
        return None, None
    if len(text) > max_bytes:  # ASCII (json.dumps escapes the rest), so characters are bytes
        return None, None
    field = state.get("field")
    return text, field if isinstance(field, str) else None


def _payload(entries: Sequence[tuple[int, int, str | None]]) -> bytes:
    parts = [protocol.write_var_uint(len(entries))]
    for client_id, clock, text in entries:
        parts.append(protocol.write_var_uint(client_id))
        parts.append(protocol.write_var_uint(clock))
        parts.append(protocol.write_var_string("null" if text is None else text))
    return b"".join(parts)
