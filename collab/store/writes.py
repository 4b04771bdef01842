"""The write path as data: what a room queues for the log, and what the writer reports back.

A queued write is plain data: everything the commit needs (the update, its history, the record's field
values for its summary) is computed by the room when it queues the write, so the writer never reads a live
document. After each commit the writer emits one `Committed`; a write the database will never take is
reported as `Refused`. The rooms (through the registry) and the change feed consume these values; nothing
is called back per write.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from collab.origin import Origin
from collab.records.field_changes import FieldChange
from persistence.events import NewEvent
from persistence.unique_values import Taken


@dataclass(frozen=True, slots=True)
class PendingWrite:
    record_id: str
    update: bytes
    origin: Origin
    # The room's state vector right after this update was applied: once the update is committed, everything
    # this vector covers is stored, because the log is committed in the order the room applied it.
    state_vector_after: bytes
    # What the update did to each field, for the history; stored in the same transaction.
    changes: tuple[FieldChange, ...] = ()
    # The record's field values right after this update: the newest write of a record in a commit sets
    # its list summary and search text. Shared between writes until a field changes; never mutated.
    fields: Mapping[str, Any] | None = None
    # Yjs client ids this update writes under first: stored as its author's in the same transaction.
    claims: tuple[int, ...] = ()
    # Where the record lives (the feed's events name both), and which load of its room queued the write:
    # a room loaded afresh never takes the outcome of an older one's writes.
    tenant_id: str = ""
    collection_id: str = ""
    load: int = 0
    # The record's unique values after this update, (field, key) (collab/records/uniqueness.py): the
    # newest write of a record in a commit replaces its rows in `unique_values`. None: no unique field.
    unique_keys: tuple[tuple[str, str], ...] | None = None


@dataclass(frozen=True, slots=True)
class Committed:
    """One transaction of the writer: the writes it stored, in log order, and the feed events with them."""

    writes: tuple[PendingWrite, ...]
    # The newest change row id per record written (the feed's events say which changes they cover).
    newest_changes: Mapping[str, int]
    # (id, event) in id order: ids grow in commit order.
    events: tuple[tuple[int, NewEvent], ...] = ()
    # Per record, the unique values its newest write could not be indexed with: another record holds them
    # (the room puts the previous value back and tells the sender).
    taken: Mapping[str, tuple[Taken, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Refused:
    """A write the database will never take (or one after such a write of its record): it is not stored,
    never will be, and the live document holds it."""

    write: PendingWrite
    reason: str


WriteOutcome = Committed | Refused
