"""A room: the live document of one record and the connections editing it.

Everything here runs on the event loop without awaiting, so one message is handled start to finish before
the next: no locks, and the order in which updates are applied is the order in which they are logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from pycrdt import Doc, get_state

from collab import protocol
from collab.connection import Connection
from collab.document import read_fields, write_fields
from collab.errors import MalformedMessage
from collab.field_changes import FieldChange, FieldIndex, changes_for
from collab.origin import Origin, OriginKind
from collab.schema import FieldSpec
from collab.writer import PendingWrite, UpdateWriter
from collab.ystructs import Skip
from collab.yupdate import UpdateDecodeError, decode_update

log = logging.getLogger(__name__)

# A Yjs update with no structs and an empty delete set: nothing to apply, store or forward.
EMPTY_UPDATE = b"\x00\x00"


def apply_update_safely(doc: Doc, update: bytes) -> None:
    """Apply an update, turning yrs panics (a `BaseException`) and decode errors into `MalformedMessage`.

    The update is decoded on its own first, so most garbage is refused before it touches the document.
    """
    try:
        get_state(update)
        doc.apply_update(update)
    except (KeyboardInterrupt, SystemExit, asyncio.CancelledError):
        raise
    except BaseException as exc:  # pyo3's PanicException derives from BaseException
        raise MalformedMessage(f"update refused: {type(exc).__name__}") from exc


class Room:
    def __init__(
        self,
        record_id: str,
        doc: Doc,
        writer: UpdateWriter,
        on_stored: Callable[[Room], None] = lambda room: None,
        field_index: FieldIndex | None = None,
    ) -> None:
        self.record_id = record_id
        self.tenant_id = ""  # set by the registry when it loads the room
        self.collection_id = ""
        self.doc = doc
        self._field_index = field_index
        self.connections: dict[int, Connection] = {}
        self.stored_state_vector = doc.get_state()
        self.updates_since_snapshot = 0
        self.last_update_at = time.monotonic()
        self.holders = 0
        self._writer = writer
        self._on_stored = on_stored
        self._awareness: dict[int, tuple[int, dict[str, object] | None]] = {}
        self._awareness_owner: dict[int, int] = {}
        self._saved_due: set[int] = set()

    # -- connections -------------------------------------------------------------------------------------

    def join(self, connection: Connection) -> None:
        self.connections[connection.id] = connection
        connection.enqueue(protocol.sync_step1(self.doc.get_state()))
        states = self._awareness_entries(None)
        if states:
            connection.enqueue(protocol.awareness(protocol.encode_awareness(states)))

    def leave(self, connection: Connection) -> None:
        self.connections.pop(connection.id, None)
        gone = []
        for client_id in connection.awareness_client_ids:
            if self._awareness_owner.get(client_id) != connection.id:
                continue
            del self._awareness_owner[client_id]
            clock, state = self._awareness.pop(client_id, (0, None))
            if state is not None:
                gone.append(protocol.AwarenessEntry(client_id, clock + 1, None))
        if gone:
            self._broadcast(protocol.awareness(protocol.encode_awareness(gone)))

    # -- messages ----------------------------------------------------------------------------------------

    def receive(self, connection: Connection, frame: bytes) -> None:
        """Handle one frame from a connection; raises `MalformedMessage` and changes nothing if it is bad."""
        message = protocol.decode_message(frame)
        match message:
            case protocol.SyncStep1(state_vector=state_vector):
                self._answer_step1(connection, state_vector)
            case protocol.SyncUpdate(update=update):
                self._receive_update(connection, update)
            case protocol.AwarenessMessage(payload=payload):
                self._receive_awareness(connection, payload)
            case protocol.QueryAwareness():
                states = self._awareness_entries(None)
                connection.enqueue(protocol.awareness(protocol.encode_awareness(states)))
            case protocol.Ignored():
                pass

    def _answer_step1(self, connection: Connection, state_vector: bytes) -> None:
        try:
            missing = self.doc.get_update(state_vector)
        except (KeyboardInterrupt, SystemExit, asyncio.CancelledError):
            raise
        except BaseException as exc:
            raise MalformedMessage("state vector refused") from exc
        connection.enqueue(protocol.sync_step2(missing))
        # Tells a client that reconnects with nothing new that its earlier edits are safe.
        connection.enqueue(protocol.saved(self.stored_state_vector))

    def _receive_update(self, connection: Connection, update: bytes) -> None:
        if not connection.principal.can_edit:
            # Every client answers the server's sync step 1 with a step 2, usually with nothing new: only
            # an update that would add something is a refused write worth telling the viewer about.
            if not connection.denied_write_notified and self._would_add(update):
                connection.denied_write_notified = True
                connection.enqueue(protocol.permission_denied("read-only"))
            return
        origin = Origin(
            OriginKind.LIVE, connection.principal.user_id, connection.principal.session_id, connection.id
        )
        self.apply(update, origin)

    def _would_add(self, update: bytes) -> bool:
        """Does the update hold content this document lacks? (Deletions alone are not counted.)"""
        if update == EMPTY_UPDATE:
            return False
        try:
            structs = decode_update(update).structs
        except UpdateDecodeError:
            return True  # not an update this room could apply either way
        known = protocol.decode_state_vector(self.doc.get_state())
        return any(
            not isinstance(struct, Skip) and struct.id.clock + struct.length > known.get(struct.id.client, 0)
            for struct in structs
        )

    def apply(self, update: bytes, origin: Origin) -> None:
        """Apply an update from a client or another node: broadcast it at once, queue it for the log."""
        if update == EMPTY_UPDATE:
            return
        apply_update_safely(self.doc, update)
        self._accept(update, origin)

    def edit(self, specs: list[FieldSpec], values: dict[str, Any], origin: Origin) -> bytes:
        """Set field values on the server's own behalf (HTTP edits, restores): a forward update that every
        live and offline client merges, never a reset of the document. Returns the update."""
        update = write_fields(self.doc, specs, values)
        if update != EMPTY_UPDATE:
            self._accept(update, origin)
        return update

    def _accept(self, update: bytes, origin: Origin) -> None:
        changes = self._field_changes(update, origin)
        self.last_update_at = time.monotonic()
        message = protocol.sync_update(update)
        for connection in self.connections.values():
            if connection.id != origin.connection_id:
                connection.enqueue(message)
        self._writer.submit(
            PendingWrite(
                record_id=self.record_id,
                update=update,
                origin=origin,
                state_vector_after=self.doc.get_state(),
                on_durable=self._durable,
                changes=changes,
                read_fields=self.fields,
            )
        )

    def _field_changes(self, update: bytes, origin: Origin) -> tuple[FieldChange, ...]:
        """The history of an accepted update. Never a reason to refuse it: if the index fails, it is
        rebuilt from the document (losing only this update's entry) and the update goes on."""
        if self._field_index is None:
            return ()
        try:
            return tuple(changes_for(self._field_index, update, self.doc, origin.user_id))
        except Exception:
            log.exception("field changes of an update to record %s could not be read", self.record_id)
            self._field_index = FieldIndex.from_state(self.doc.get_update(), self.doc)
            return ()

    def fields(self) -> dict[str, Any]:
        return read_fields(self.doc)

    def _durable(self, write: PendingWrite) -> None:
        self.stored_state_vector = write.state_vector_after
        self.updates_since_snapshot += 1
        if write.origin.connection_id is not None:
            # The writer reports a whole batch in one go: send one "saved" per connection, after it.
            if not self._saved_due:
                asyncio.get_running_loop().call_soon(self._send_saved)
            self._saved_due.add(write.origin.connection_id)
        self._on_stored(self)

    def _send_saved(self) -> None:
        due, self._saved_due = self._saved_due, set()
        message = protocol.saved(self.stored_state_vector)
        for connection_id in due:
            connection = self.connections.get(connection_id)
            if connection is not None:
                connection.enqueue(message)

    # -- awareness ---------------------------------------------------------------------------------------

    def _receive_awareness(self, connection: Connection, payload: bytes) -> None:
        accepted = []
        for entry in protocol.decode_awareness(payload):
            owner = self._awareness_owner.get(entry.client_id)
            if owner is not None and owner != connection.id and owner in self.connections:
                continue  # nobody may speak for another connection's client id
            self._awareness_owner[entry.client_id] = connection.id
            connection.awareness_client_ids.add(entry.client_id)
            state = None if entry.state is None else {**entry.state, "user": connection.user_stamp}
            self._awareness[entry.client_id] = (entry.clock, state)
            accepted.append(protocol.AwarenessEntry(entry.client_id, entry.clock, state))
        if accepted:
            self._broadcast(protocol.awareness(protocol.encode_awareness(accepted)))

    def _awareness_entries(self, client_ids: set[int] | None) -> list[protocol.AwarenessEntry]:
        return [
            protocol.AwarenessEntry(client_id, clock, state)
            for client_id, (clock, state) in self._awareness.items()
            if state is not None and (client_ids is None or client_id in client_ids)
        ]

    def presence(self) -> list[dict[str, object]]:
        """Who is connected, from the server's own connections; `field`: what their client says they edit."""
        seen: dict[str, dict[str, object]] = {}
        for connection in sorted(self.connections.values(), key=lambda c: c.joined_at):
            principal = connection.principal
            entry = seen.setdefault(
                principal.user_id,
                {
                    "id": principal.user_id,
                    "name": principal.name,
                    "since": connection.joined_at.isoformat(),
                    "field": None,
                },
            )
            for client_id in connection.awareness_client_ids:
                _, state = self._awareness.get(client_id, (0, None))
                if state is not None and isinstance(state.get("field"), str) and entry["field"] is None:
                    entry["field"] = state["field"]
        return list(seen.values())

    def _broadcast(self, message: bytes) -> None:
        for connection in self.connections.values():
            connection.enqueue(message)

    def close_all(self, code: int, reason: str = "") -> None:
        for connection in list(self.connections.values()):
            connection.close(code, reason)
