"""A room: the live document of one record and the connections editing it.

Everything here runs on the event loop without awaiting, so one message is handled start to finish before
the next: no locks, and the order in which updates are applied is the order in which they are logged.

A room queues each accepted update as plain data (`PendingWrite`), with everything its commit needs; it
learns what became of its writes from the writer's outcomes (`stored`, `refused`, routed by `settle`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any

from pycrdt import Doc, Map, Text, TransactionEvent, get_state

from auth.access import Action, allows
from collab import close_codes
from collab.clock import SYSTEM_CLOCK, Clock
from collab.errors import MalformedMessage, RoomBroken
from collab.live.admission import UpdateRefused, admit, clock_ends
from collab.live.awareness import Awareness
from collab.live.connection import Connection
from collab.live.pending_index import PendingIndex
from collab.metrics import UNREAD, Metrics
from collab.origin import Origin, OriginKind
from collab.records.correction import correct, fits
from collab.records.document import fields_map, read_fields, tidy, write_fields
from collab.records.field_changes import FieldChange, FieldEdit, FieldIndex, field_edit
from collab.records.schema import FieldSpec
from collab.records.uniqueness import duplicate_reason, key_of, keys_of, title_of, unique_specs
from collab.store.writer import UpdateWriter
from collab.store.writes import PendingWrite, Refused, WriteOutcome
from collab.ycodec import protocol
from collab.ycodec.ystructs import Skip, Update
from collab.ycodec.yupdate import UpdateDecodeError, decode_state_vector, decode_update
from persistence.client_ids import SERVER
from persistence.unique_values import Taken

log = logging.getLogger(__name__)

# A browser writes under one client id per page load, plus those of offline edits it still holds; more on
# one connection is someone minting ids (each is a row and an entry of every state vector, forever).
MAX_CLAIMS_PER_CONNECTION = 64


class _Owners(Mapping[int, str]):
    """The owners admission checks against: recorded writers, then ids reserved by live connections."""

    def __init__(self, room: Room) -> None:
        self._room = room

    def __getitem__(self, client_id: int) -> str:
        owner = self._room._owner_of(client_id)
        if owner is None:
            raise KeyError(client_id)
        return owner

    def get(self, client_id: int, default: Any = None) -> Any:  # `Mapping.get` costs two more calls
        owner = self._room._owner_of(client_id)
        return default if owner is None else owner

    def __iter__(self) -> Iterator[int]:
        return iter(self._room.owners)

    def __len__(self) -> int:
        return len(self._room.owners)


# A Yjs update with no structs and an empty delete set: nothing to apply, store or forward.
EMPTY_UPDATE = b"\x00\x00"


class Room:
    def __init__(
        self,
        record_id: str,
        doc: Doc,
        writer: UpdateWriter,
        field_index: FieldIndex | None = None,
        owners: dict[int, str] | None = None,
        specs: list[FieldSpec] | None = None,
        on_broken: Callable[[Room], None] = lambda room: None,
        *,
        tenant_id: str = "",
        collection_id: str = "",
        load: int = 0,
        clock: Clock = SYSTEM_CLOCK,
        metrics: Metrics = UNREAD,
        pending_index: PendingIndex | None = None,
    ) -> None:
        self.record_id = record_id
        self.tenant_id = tenant_id
        self.collection_id = collection_id
        # Which load of the record this is: its writes carry it, so outcomes reach this room and no other.
        self.load = load
        self.doc = doc
        # Who writes under each Yjs client id (collab/live/admission.py); the server writes under the
        # document's.
        self.owners = dict(owners or {})
        self._server_id_stored = self.owners.get(doc.client_id) == SERVER
        self.owners[doc.client_id] = SERVER
        # The collection's fields: live edits are corrected to fit them (None: no schema, room tests).
        self.specs = specs
        self._by_key = {spec.key: spec for spec in specs or ()}
        self._unique = unique_specs(specs)  # kept with the specs: every update asks for them
        self.broken = False
        self._on_broken = on_broken
        # The document's state vector, kept here: decoding it per update would cost its number of clients.
        self._state = decode_state_vector(doc.get_state())
        self._integrated: bytes | None = None  # the update of the document's last transaction
        self._subscription = doc.observe(self._on_transaction)
        self._claimed: dict[int, int] = {}  # new client ids written under, per connection
        # Each connection's own client id (its first awareness entry), reserved for (user, connection).
        self._announced: dict[int, int] = {}
        self._reserved: dict[int, tuple[str, int]] = {}
        self._field_index = field_index
        # `_field_index` of the document as loaded, until built (issue 17: it costs every struct, so a
        # loaded room answers its first sync first, then builds it on a worker thread); needed before the
        # document first changes.
        self._pending_index = pending_index
        # The record's field values as `read_fields` gives them, kept current from the keys each update
        # touches: every queued write carries them (for the summary) without reading the whole document.
        self._fields: Mapping[str, Any] = read_fields(doc)
        # Of the keys the last update touched, those holding a Y.Text and those holding another shared type
        # (as `_with_keys` read them): what `fits` needs to judge a correction without the document.
        self._texts: frozenset[str] = frozenset()
        self._nested: frozenset[str] = frozenset()
        self._root = fields_map(doc)  # kept: each `doc.get` costs a transaction
        # Each unique field's value as `unique_values` last indexed it for this record: what a live edit
        # that turns out to be a duplicate is corrected back to (`_correct_duplicates`).
        self._indexed: dict[str, Any] = {spec.key: self._fields.get(spec.key) for spec in self._unique}
        self.connections: dict[int, Connection] = {}
        self.stored_state_vector = doc.get_state()
        self.updates_since_snapshot = 0
        self._queued = 0  # writes ever queued, and how many of them have an outcome (in queue order)
        self._settled = 0
        # Connections that asked what is stored while writes were unsettled, with the count of writes
        # queued then: they may hold edits that an earlier connection of theirs sent (a reconnect after a
        # silent socket), which no write of their own will confirm, so each commit tells them "saved" too
        # until those writes have all settled.
        self._awaiting_saved: dict[int, int] = {}
        self._clock = clock
        self.last_update_at = clock.monotonic()
        self.holders = 0
        self._writer = writer
        self._awareness = Awareness()
        self._metrics = metrics
        self._accepted_at: deque[float] = deque()  # clock time of each unsettled write, oldest first

    @property
    def unsettled(self) -> int:
        """Writes queued whose outcome has not come back yet."""
        return self._queued - self._settled

    # -- connections -------------------------------------------------------------------------------------

    def join(self, connection: Connection) -> None:
        self.connections[connection.id] = connection
        connection.enqueue(protocol.sync_step1(self.doc.get_state()))
        states = self._awareness.payload()
        if states is not None:
            connection.enqueue(protocol.awareness(states))

    def leave(self, connection: Connection) -> None:
        self.connections.pop(connection.id, None)
        self._claimed.pop(connection.id, None)
        # A reservation outlives the connection: its offline edits under that id may come back later.
        self._announced.pop(connection.id, None)
        self._awaiting_saved.pop(connection.id, None)
        gone = self._awareness.leave(connection.id)
        if gone is not None:
            self._broadcast(protocol.awareness(gone))

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
        if self.unsettled:  # ... or that they are, once the writes in flight are stored
            self._awaiting_saved[connection.id] = self._queued
        pending = self._pending_index
        if pending is not None:  # after this answer is on its way, not before it, and off the loop
            pending.start(self.doc, self._index_built)

    def _receive_update(self, connection: Connection, update: bytes) -> None:
        self._metrics.updates_in.inc()
        self._metrics.updates_in_bytes.inc(len(update))
        if not allows(connection.principal, Action.EDIT):
            # Every client answers the server's sync step 1 with a step 2, usually with nothing new: only
            # an update that would add something is a refused write worth telling the viewer about.
            if not connection.denied_write_notified and self._would_add(update):
                connection.denied_write_notified = True
                connection.enqueue(protocol.permission_denied("read-only"))
            return
        origin = Origin(
            OriginKind.LIVE, connection.principal.user_id, connection.principal.session_id, connection.id
        )
        reasons = self.apply(update, origin)
        if reasons:
            connection.enqueue(protocol.notice({"kind": "corrected", "fields": reasons}))

    def _would_add(self, update: bytes) -> bool:
        """Does the update hold content this document lacks? (Deletions alone are not counted.)"""
        if update == EMPTY_UPDATE:
            return False
        try:
            structs = decode_update(update).structs
        except UpdateDecodeError:
            return True  # not an update this room could apply either way
        known = self._state
        return any(
            not isinstance(struct, Skip) and struct.id.clock + struct.length > known.get(struct.id.client, 0)
            for struct in structs
        )

    def apply(self, update: bytes, origin: Origin) -> dict[str, str]:
        """Admit and apply an update from a client: broadcast it at once, queue it for the log, and correct
        what does not fit the schema. Returns the corrected fields with the reason for each.

        Raises `UpdateRefused` (nothing changed) or `RoomBroken` (the room must be reloaded)."""
        if update == EMPTY_UPDATE:
            return {}
        self._check_usable()
        self.build_index()
        try:
            decoded = decode_update(update)
            get_state(update)  # yrs' own decoder, which is stricter in places: it panics here, not half-way
        except UpdateDecodeError as exc:
            raise UpdateRefused(f"update does not decode: {exc}") from None
        except (KeyboardInterrupt, SystemExit, asyncio.CancelledError):
            raise
        except BaseException as exc:  # pyo3's PanicException derives from BaseException
            raise UpdateRefused(f"update refused by yrs: {type(exc).__name__}") from None
        writer = origin.user_id or SERVER
        self._check_announced(origin.connection_id, decoded, writer)
        admitted = admit(decoded, self._state, _Owners(self), writer)
        if admitted.claims and origin.connection_id is not None:
            claimed = self._claimed.get(origin.connection_id, 0) + len(admitted.claims)
            if claimed > MAX_CLAIMS_PER_CONNECTION:
                raise UpdateRefused(f"more than {MAX_CLAIMS_PER_CONNECTION} new client ids on one connection")
            self._claimed[origin.connection_id] = claimed
        self._integrated = None
        try:
            self.doc.apply_update(update)
        except (KeyboardInterrupt, SystemExit, asyncio.CancelledError):
            raise
        except BaseException as exc:  # a yrs panic may leave half of the update applied
            self._break(f"applying an admitted update failed: {type(exc).__name__}")
            raise RoomBroken(self.record_id) from exc
        if admitted.advanced and not self._integrated_as(admitted.advanced, update, decoded):
            self._break("an admitted update did not integrate as predicted")
            raise RoomBroken(self.record_id)
        self._state.update(admitted.advanced)
        for client in admitted.claims:
            self.owners[client] = writer
        changes = self._accept(update, decoded, origin, admitted.claims)
        return self._correct(changes)

    def edit(self, specs: list[FieldSpec], values: dict[str, Any], origin: Origin) -> bytes:
        """Set field values on the server's own behalf (HTTP edits, restores): a forward update that every
        live and offline client merges, never a reset of the document. Returns the update.

        The values must have been checked against the schema; if the document still refuses one half-way
        (a yrs panic), the room is reloaded from storage (`RoomBroken`): nothing was logged or broadcast."""
        self._check_usable()
        self.build_index()
        try:
            update = write_fields(self.doc, specs, values)
        except (KeyboardInterrupt, SystemExit, asyncio.CancelledError):
            raise
        except BaseException as exc:
            self._break(f"a server edit failed: {type(exc).__name__}")
            raise RoomBroken(self.record_id) from exc
        if update != EMPTY_UPDATE:
            decoded = self._advance(update)
            self._accept(update, decoded, origin, self._server_claim())
        return update

    @property
    def history_pending(self) -> bool:
        """Whether the history index is still to be built (`build_index`)."""
        return self._pending_index is not None

    def build_index(self) -> None:
        """Build the history index now if it is still to be built: from the document as loaded, so before
        anything changes it (an update's history is read against the index as it was before)."""
        pending, self._pending_index = self._pending_index, None
        if pending is not None:
            self._field_index = pending.now(self.doc)

    def _index_built(self, index: FieldIndex | None) -> None:
        # Only while nothing needed it first: `build_index` takes it from `PendingIndex.now`, after which
        # the worker thread's result is never handed over.
        self._pending_index = None
        self._field_index = index

    def _on_transaction(self, event: TransactionEvent) -> None:
        self._integrated = event.update

    def _integrated_as(self, advanced: dict[int, int], update: bytes, decoded: Update) -> bool:
        """Did the last transaction integrate exactly up to `advanced`? Its own update holds only what was
        integrated (structs yrs keeps pending are left out), so this costs the update's size, not the
        document's number of clients. Usually it is the applied update itself, already decoded."""
        if self._integrated is None:
            return False
        same = self._integrated == update or _same_structs(self._integrated, update, decoded)
        integrated = decoded if same else decode_update(self._integrated)
        ends = clock_ends(integrated)
        return all(ends.get(client) == clock for client, clock in advanced.items())

    def _advance(self, update: bytes) -> Update:
        """Follow a server edit's clocks in the room's state; returns the update decoded."""
        decoded = decode_update(update)
        for client, end in clock_ends(decoded).items():
            if end > self._state.get(client, 0):
                self._state[client] = end
        return decoded

    def _server_claim(self) -> tuple[int, ...]:
        """The server's client id, stored as the server's with its first update in this document."""
        if self._server_id_stored:
            return ()
        self._server_id_stored = True
        return (self.doc.client_id,)

    def _correct(self, changes: tuple[FieldChange, ...]) -> dict[str, str]:
        """Bring the fields an accepted update changed back within the schema, as a server edit."""
        if self.specs is None or not changes:
            return {}
        before = {change.field: change.before for change in changes}
        # Usually every value fits: judged from the values `_fields_after` just read, with no transaction.
        if fits(self._by_key, before, self._fields, self._texts, self._nested):
            return {}
        try:
            update, reasons = correct(self.doc, self.specs, before)
        except (KeyboardInterrupt, SystemExit, asyncio.CancelledError):
            raise
        except BaseException as exc:
            self._break(f"correcting an update failed: {type(exc).__name__}")
            raise RoomBroken(self.record_id) from exc
        if update is not None:
            decoded = self._advance(update)
            self._accept(update, decoded, Origin(OriginKind.CORRECTION, None, None), self._server_claim())
        return reasons

    def _check_usable(self) -> None:
        if self.broken:
            raise RoomBroken(self.record_id)

    def _break(self, why: str) -> None:
        """The document may now differ from what is stored: nothing more is accepted here, and the registry
        drops the room (its clients reconnect to a fresh load)."""
        log.error("record %s: %s; reloading it from storage", self.record_id, why)
        self.broken = True
        self._on_broken(self)

    def _accept(
        self, update: bytes, decoded: Update, origin: Origin, claims: tuple[int, ...] = ()
    ) -> tuple[FieldChange, ...]:
        # One pycrdt transaction for every read of the document below (each read opens its own otherwise);
        # nothing here writes, and nothing is sent before it ends.
        with self.doc.transaction():
            edit = self._field_edit(decoded, origin)
            fields = self._fields_after(edit)
            state_after = self.doc.get_state()
        self.last_update_at = self._clock.monotonic()
        message = protocol.sync_update(update)
        receivers = 0
        for connection in self.connections.values():
            if connection.id != origin.connection_id:
                connection.enqueue(message)
                receivers += 1
        if receivers:
            self._metrics.updates_out.inc(receivers)
            self._metrics.updates_out_bytes.inc(receivers * len(message))
        self._writer.submit(
            PendingWrite(
                record_id=self.record_id,
                update=update,
                origin=origin,
                state_vector_after=state_after,
                changes=edit.changes if edit is not None else (),
                fields=fields,
                claims=claims,
                tenant_id=self.tenant_id,
                collection_id=self.collection_id,
                load=self.load,
                unique_keys=keys_of(self._unique, fields) if self._unique else None,
            )
        )
        self._queued += 1
        self._accepted_at.append(self.last_update_at)
        return edit.changes if edit is not None else ()

    def _field_edit(self, update: Update, origin: Origin) -> FieldEdit | None:
        """The history of an accepted update. Never a reason to refuse it: if the index fails, it is
        rebuilt from the document (losing only this update's entry) and the update goes on."""
        if self._field_index is None:
            return None
        try:
            return field_edit(self._field_index, update, self.doc, origin.user_id, self._state)
        except Exception:
            log.exception("field changes of an update to record %s could not be read", self.record_id)
            self._field_index = FieldIndex.from_state(self.doc.get_update(), self.doc)
            return None

    def _fields_after(self, edit: FieldEdit | None) -> Mapping[str, Any]:
        """The field values now, re-reading only the keys the update touched (all of them when the index
        cannot say which). A document that cannot be read breaks the room: nothing was broadcast or
        queued yet, and a reload gives the stored state."""
        try:
            if edit is None:
                self._fields = read_fields(self.doc)
                self._texts = self._nested = frozenset()
            elif edit.touched:
                self._fields, self._texts, self._nested = _with_keys(self._fields, self._root, edit.touched)
        except (KeyboardInterrupt, SystemExit, asyncio.CancelledError):
            raise
        except BaseException as exc:  # pycrdt's panics are BaseExceptions
            self._break(f"the record's fields could not be read: {type(exc).__name__}")
            raise RoomBroken(self.record_id) from exc
        return self._fields

    def fields(self) -> dict[str, Any]:
        return dict(self._fields)

    def use_specs(self, specs: list[FieldSpec]) -> None:
        """The collection's schema was edited: corrections and unique checks follow it from now on."""
        self.specs = list(specs)
        self._by_key = {spec.key: spec for spec in specs}
        self._unique = unique_specs(specs)
        for spec in self._unique:
            self._indexed.setdefault(spec.key, self._fields.get(spec.key))

    # -- outcomes of the writes --------------------------------------------------------------------------

    def stored(self, writes: Sequence[PendingWrite], taken: Sequence[Taken] = ()) -> None:
        """The writer committed these writes of this room (in the order they were queued): everything the
        last one's state vector covers is stored. Each connection that wrote gets one "saved" for them.
        `taken`: unique values of the newest write that another record holds (they are corrected)."""
        self._settled += len(writes)
        self._observe_saved(len(writes))
        self.stored_state_vector = writes[-1].state_vector_after
        self.updates_since_snapshot += len(writes)
        due = {write.origin.connection_id for write in writes if write.origin.connection_id is not None}
        for connection_id, upto in list(self._awaiting_saved.items()):
            due.add(connection_id)
            if self._settled >= upto:
                del self._awaiting_saved[connection_id]
        if due:
            message = protocol.saved(self.stored_state_vector)
            for connection_id in due:
                connection = self.connections.get(connection_id)
                if connection is not None:
                    connection.enqueue(message)
        conflicted = {change.field for write in writes for change in write.changes if change.conflict}
        if conflicted:
            self.conflicts_changed(conflicted)
        if writes[-1].unique_keys is not None:
            self._note_indexed(writes, taken)

    def _note_indexed(self, writes: Sequence[PendingWrite], taken: Sequence[Taken]) -> None:
        """Follow what `unique_values` holds for this record after a commit, and correct the duplicates."""
        refused = {found.field for found in taken}
        newest = writes[-1].fields or {}
        for spec in self._unique:
            if spec.key not in refused:
                self._indexed[spec.key] = newest.get(spec.key)
        if taken:
            self._correct_duplicates(writes, taken)

    def correct_duplicates(self, taken: Sequence[Taken]) -> None:
        """Correct unique values another record holds, found as the room loaded (no sender to tell)."""
        self._correct_duplicates((), taken)

    def _correct_duplicates(self, writes: Sequence[PendingWrite], taken: Sequence[Taken]) -> None:
        """A live edit made a value another record holds: put back the value this record last held (or
        none), as a correction, and tell the connections that wrote the field why. A value changed again
        since is left alone: its own commit is checked in turn."""
        if self.specs is None or self.broken:
            return
        by_key = {spec.key: spec for spec in self.specs}
        values: dict[str, Any] = {}
        reasons: dict[str, str] = {}
        for found in taken:
            spec = by_key.get(found.field)
            if spec is None or key_of(spec, self._fields.get(found.field)) != found.value_key:
                continue
            # Popped: if the value put back is taken too by then, the next correction leaves none.
            previous = self._indexed.pop(found.field, None)
            values[found.field] = None if key_of(spec, previous) == found.value_key else previous
            reasons[found.field] = duplicate_reason(title_of(self.specs, found.holder_summary))
        if not values:
            return
        self.build_index()
        try:
            update = write_fields(self.doc, self.specs, values)
        except (KeyboardInterrupt, SystemExit, asyncio.CancelledError):
            raise
        except BaseException as exc:
            self._break(f"correcting a duplicate failed: {type(exc).__name__}")
            return
        if update != EMPTY_UPDATE:
            decoded = self._advance(update)
            self._accept(update, decoded, Origin(OriginKind.CORRECTION, None, None), self._server_claim())
        writers = {
            write.origin.connection_id
            for write in writes
            if write.origin.connection_id is not None and any(c.field in values for c in write.changes)
        } or {write.origin.connection_id for write in writes if write.origin.connection_id is not None}
        notice = protocol.notice({"kind": "corrected", "fields": reasons})
        for connection_id in writers:
            connection = self.connections.get(connection_id)
            if connection is not None:
                connection.enqueue(notice)

    def conflicts_changed(self, fields: Collection[str]) -> None:
        """Tell everyone on the record that its open conflicts changed (a stored write lost or displaced a
        concurrent one, or someone settled one): each page fetches them again. Only once stored, so a
        notice never names a value that a crash could still take back."""
        self._broadcast(protocol.notice({"kind": "conflicts", "fields": sorted(fields)}))

    def _observe_saved(self, settled: int) -> None:
        """Saved latency: from each write's acceptance here to its commit coming back (message 100)."""
        now = self._clock.monotonic()
        for _ in range(min(settled, len(self._accepted_at))):
            self._metrics.saved_seconds.observe(now - self._accepted_at.popleft())

    def refused(self, write: PendingWrite, reason: str) -> None:
        """The database will never store this write (nor the ones after it): the live document is ahead of
        storage for good, so it is reloaded; the connection that sent it is closed for good (4400)."""
        self._settled += 1
        if self._accepted_at:
            self._accepted_at.popleft()
        if write.origin.connection_id is not None:
            sender = self.connections.get(write.origin.connection_id)
            if sender is not None:
                sender.close(close_codes.MALFORMED, "update could not be stored")
        if not self.broken:
            self._break(f"storing an update failed: {reason}")

    # -- awareness ---------------------------------------------------------------------------------------

    def _receive_awareness(self, connection: Connection, payload: bytes) -> None:
        """Ownership, the per-connection caps and the user stamp: collab/live/awareness.py."""
        entries = protocol.decode_awareness(payload)
        self._reserve(connection, [entry.client_id for entry in entries])
        accepted = self._awareness.receive(
            connection.id, connection.user_stamp, connection.awareness_limits, entries
        )
        if accepted is not None:
            self._broadcast(protocol.awareness(accepted))

    def _reserve(self, connection: Connection, client_ids: list[int]) -> None:
        """A y-websocket client's first awareness message names its own document's client id alone (later
        ones also relay other people's states): from then on, for the room's life, nobody else may write
        first under that id (and so take it between announcement and first write). It also tells when the
        connection's own writes meet an id someone else already took (see `_check_announced`)."""
        if connection.id in self._announced or len(client_ids) != 1:
            return
        own = client_ids[0]
        self._announced[connection.id] = own
        if own not in self.owners and own not in self._reserved:
            self._reserved[own] = (connection.principal.user_id, connection.id)

    def _owner_of(self, client_id: int) -> str | None:
        owner = self.owners.get(client_id)
        if owner is None and client_id in self._reserved:
            return self._reserved[client_id][0]
        return owner

    def _check_announced(self, connection_id: int | None, update: Update, writer: str) -> None:
        """Refuse a connection's update under a client id it announced as its own but another writer holds:
        its items there are duplicates the document ignores, and "saved" would cover them anyway."""
        own = self._announced.get(connection_id) if connection_id is not None else None
        if own is None or self.owners.get(own, writer) == writer:
            return
        if any(struct.id.client == own for struct in update.structs):
            raise UpdateRefused(f"client id {own} was taken by another writer; reload the record")

    def _awareness_entries(self, client_ids: set[int] | None) -> list[protocol.AwarenessEntry]:
        return [
            entry
            for entry in self._awareness.entries()
            if client_ids is None or entry.client_id in client_ids
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
            if entry["field"] is None:
                entry["field"] = self._awareness.field_of(connection.id)
        return list(seen.values())

    def _broadcast(self, message: bytes) -> None:
        for connection in self.connections.values():
            connection.enqueue(message)

    def close_all(self, code: int, reason: str = "") -> None:
        for connection in list(self.connections.values()):
            connection.close(code, reason)


def _with_keys(
    fields: Mapping[str, Any], target: Map, keys: Collection[str]
) -> tuple[dict[str, Any], frozenset[str], frozenset[str]]:
    """`fields` with `keys` read again from the document's root map `target`, as `read_fields` reads them;
    with the keys among them that hold a Y.Text, and those that hold another shared type."""
    current = dict(fields)
    texts: list[str] = []
    nested: list[str] = []
    for key in keys:
        if key in target:
            value = target[key]
            to_py = getattr(value, "to_py", None)  # a nested type, as `Map.to_py` converts it
            if to_py is not None:
                (texts if isinstance(value, Text) else nested).append(key)
            current[key] = tidy(to_py() if to_py is not None else value)
        else:
            current.pop(key, None)
    return current, frozenset(texts), frozenset(nested)


def _same_structs(integrated: bytes, update: bytes, decoded: Update) -> bool:
    """Does `integrated` (a transaction's own update) hold exactly the structs of `update` (`decoded`)?
    Usually only their delete sets differ: yrs writes what the transaction deleted, a client all it knows
    deleted. A v1 update is its struct section, which delimits itself, then its delete set: the same bytes up
    to where `update`'s struct section ends mean the same structs. No match: decode again."""
    structs_end = decoded.structs_end
    return integrated[:structs_end] == update[:structs_end]


def settle(outcome: WriteOutcome, room_of: Callable[[PendingWrite], Room | None]) -> list[Room]:
    """Tell each room what became of its writes (`room_of` finds the room that queued a write, None when
    it is gone); returns the rooms that stored writes."""
    if isinstance(outcome, Refused):
        room = room_of(outcome.write)
        if room is not None:
            room.refused(outcome.write, outcome.reason)
        else:
            log.warning("a refused update of record %s has no room to tell", outcome.write.record_id)
        return []
    per_room: dict[Room, list[PendingWrite]] = {}
    for write in outcome.writes:
        room = room_of(write)
        if room is not None:
            per_room.setdefault(room, []).append(write)
    for room, writes in per_room.items():
        room.stored(writes, outcome.taken.get(room.record_id, ()))
    return list(per_room)
