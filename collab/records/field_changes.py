"""Field-level changes of a record's root map (``fields``), conflicts included, read from the updates.

A map key's entries form a tree: each new entry's ``origin`` names the entry its writer saw as the value
(None for the first write). Yjs (and yrs) keep the entries in the pre-order of that tree with siblings in
ascending client id, and the key's value is the last one. So the index keeps, per key, the path from the
tree's root to the live entry: a new entry whose origin is the live entry is a sequential write; one whose
origin is on the path competes with the path's next entry and wins only with a higher client id; one whose
origin is off the path loses. Anything but a sequential write is a conflict: two writes that did not see
each other. A loser never reaches pycrdt's observers; here it is reported with its value and author.

A map item of length L is L entries in a row, each written on the one before, and an update may declare
L = 2^31 in 21 bytes (a deleted run). So an item is written as one run (only its first element competes),
the path is kept as runs (:mod:`collab.records.winner_path`) and deletions as ranges
(:mod:`collab.records.delete_ranges`):
the work per update follows its structs and ranges, never the lengths or clocks they declare.

Items inside a field's nested type (a Y.Text) have that type's item as parent, or an origin among its items;
the index maps every known item range back to its field, so edits and deletions there count as changes of
the field. Values are what the update format says (pycrdt writes numbers as floats, Yjs integers as ints);
a nested type's value is read from the document, as its current string or ``to_py()``.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from pycrdt import Doc, Map, Text

from collab.records.delete_ranges import PendingDeletes, coalesced
from collab.records.item_fields import ItemRanges, Owner, resolve_owners
from collab.records.winner_path import WinnerPath
from collab.ycodec.protocol import write_var_uint
from collab.ycodec.ystructs import (
    GC,
    ID,
    UNDEFINED,
    AnyValue,
    ContentAny,
    ContentBinary,
    ContentDeleted,
    ContentJSON,
    ContentString,
    ContentType,
    Item,
    Skip,
    Update,
)
from collab.ycodec.yupdate import decode_state_vector, decode_update

AuthorOf = Callable[[ID], str | None]
MAX_PENDING_ITEMS = 10_000  # items (and deleted ranges) waiting for a missing predecessor; more are forgotten


@dataclass(frozen=True, slots=True)
class FieldChange:
    """What one update did to one field.

    ``before``/``after`` are the field's values around the update (None when absent). A conflict is a write
    concurrent with the value it met: ``lost_value``/``lost_author`` name the write that is no longer
    visible (the incoming one when it lost, else the value it displaced), ``winner_author`` who wrote
    ``after``. A nested type's lost content is not reconstructed: its ``lost_value`` is None.
    """

    field: str
    before: AnyValue
    after: AnyValue
    author: str | None
    conflict: bool = False
    overwritten_author: str | None = None
    winner_author: str | None = None
    lost_value: AnyValue = None
    lost_author: str | None = None


@dataclass(frozen=True, slots=True)
class FieldEntry:
    id: ID  # the map entry (its last element) holding the field
    author: str | None
    value: AnyValue
    nested: bool = False  # a nested type: ``value`` is read from the document
    deleted: bool = False


@dataclass(slots=True)
class _Key:
    path: WinnerPath = field(default_factory=WinnerPath)  # of the key's origin tree, live entry last
    live: FieldEntry | None = None


@dataclass(slots=True)
class _Touch:
    before: FieldEntry | None
    conflict: bool = False
    lost: tuple[AnyValue, str | None] | None = None


def _nobody(_: ID) -> None:
    return None


def _plain(value: AnyValue) -> AnyValue:
    if value is UNDEFINED:
        return None
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _element_value(item: Item, j: int) -> AnyValue:
    c = item.content
    if isinstance(c, ContentAny | ContentJSON):
        return _plain(c.values[j])
    if isinstance(c, ContentBinary):
        return c.data
    if isinstance(c, ContentString):
        return c.text
    return None  # a nested type (read from the document when it is live), a subdocument, deleted content


class FieldIndex:
    """For each key of one root map: the entry that holds it, plus every known item range's field."""

    def __init__(self, root: str = "fields") -> None:
        self.root = root
        self._keys: dict[str, _Key] = {}
        self._ranges: dict[int, ItemRanges] = {}
        self._state: dict[int, int] = {}  # per client, the clock up to which structs were ingested
        # What the document could not integrate yet (a predecessor is missing), with its author.
        self._pending: list[tuple[Item, str | None]] = []
        self._pending_deletes = PendingDeletes(MAX_PENDING_ITEMS)

    @classmethod
    def from_state(
        cls, state: bytes, doc: Doc, author_of: AuthorOf = _nobody, root: str = "fields"
    ) -> FieldIndex:
        """Index a document from its full state (``doc.get_update()`` or a merged log) and ``doc`` itself,
        which must hold that state; ``author_of`` attributes each entry by its item ID."""
        index = cls(root)
        index._ingest(decode_update(state), doc, author_of, deleter=None)
        return index

    def entry(self, key: str) -> FieldEntry | None:
        """The live entry of ``key``, or None when the key is absent or deleted."""
        k = self._keys.get(key)
        return k.live if k is not None and k.live is not None and not k.live.deleted else None

    def attribute(self, key: str, author: str | None) -> None:
        """Name the author of ``key``'s live entry (known from elsewhere, e.g. the stored change log)."""
        k = self._keys.get(key)
        if k is not None and k.live is not None:
            k.live = replace(k.live, author=author)

    def values(self) -> dict[str, AnyValue]:
        return {key: k.live.value for key, k in self._keys.items() if k.live and not k.live.deleted}

    def _find(self, id_: ID) -> Owner | None:
        ranges = self._ranges.get(id_.client)
        return ranges.find(id_.clock) if ranges is not None else None

    def _ingest(
        self,
        decoded: Update,
        doc: Doc,
        author_of: AuthorOf,
        deleter: str | None,
        integrated: dict[int, int] | None = None,
    ) -> dict[str, _Touch]:
        """Index the update's structs and deletions; ``integrated`` is the document's state vector (read
        from ``doc`` when not given: decoding it costs the document's number of clients)."""
        if integrated is None:
            integrated = decode_state_vector(doc.get_state())
        structs: list[tuple[Item | GC | Skip, str | None]] = [*self._pending]
        structs.extend((s, author_of(s.id)) for s in decoded.structs)
        touched: dict[str, _Touch] = {}
        fresh: list[tuple[int, int, int]] = []
        new = self._new_items(structs, doc, integrated)
        for n, owner in resolve_owners([item for item, _, _, _ in new], self.root, self._find):
            item, first, stop, author = new[n]
            fresh.append((item.id.client, item.id.clock + first, item.id.clock + stop))
            ranges = self._ranges.get(item.id.client)
            if ranges is None:
                ranges = self._ranges[item.id.client] = ItemRanges()
            ranges.add(*fresh[-1][1:], owner)
            if owner.entry is not None:
                self._nested_edit(touched, owner, author, deletion=False)
            else:
                self._write(touched, owner.key, item, first, stop, author)
        # A deletion of what had not arrived yet waits (as in Yjs) and applies to what arrives later.
        for client, start, end in fresh:
            for clock, stop, by in self._pending_deletes.overlapping(client, start, end):
                self._delete(touched, client, max(clock, start), min(stop, end), by)
        for client, clock, end in coalesced(decoded.delete_set):
            self._delete(touched, client, clock, end, deleter)
            if end > integrated.get(client, 0):
                self._pending_deletes.add(client, clock, end, deleter)
        self._pending_deletes.forget(integrated, {s.id.client for s, _ in structs})
        for key in touched:
            live = self._keys[key].live if key in self._keys else None
            if live is not None and live.nested and not live.deleted:
                self._keys[key].live = FieldEntry(live.id, live.author, _doc_value(doc, self.root, key), True)
        for client, clock in integrated.items():
            self._state[client] = max(clock, self._state.get(client, 0))
        return touched

    def _delete(self, touched: dict[str, _Touch], client: int, clock: int, end: int, by: str | None) -> None:
        ranges = self._ranges.get(client)
        if ranges is None:
            return
        for start, stop, owner in ranges.overlapping(clock, end):
            if owner.entry is not None:
                self._nested_edit(touched, owner, by, deletion=True)
                continue
            live = self._keys[owner.key].live if owner.key in self._keys else None
            # A delete set repeats every deletion its sender knows of: only the live entry's counts.
            hit = live is not None and live.id.client == client and max(start, clock) <= live.id.clock
            if live and not live.deleted and hit and live.id.clock < min(stop, end):
                touched.setdefault(owner.key, _Touch(live))
                author = by if by is not None else live.author
                self._keys[owner.key].live = FieldEntry(live.id, author, None, live.nested, deleted=True)

    def _new_items(
        self, structs: list[tuple[Item | GC | Skip, str | None]], doc: Doc, integrated: Mapping[int, int]
    ) -> list[tuple[Item, int, int, str | None]]:
        """The items not ingested before, each with the offsets of a new part of it (an item partly ingested
        past a gap before has several); the rest wait in ``_pending``.

        yrs integrates an item past a gap in its client's clocks when what it refers to is there (the state
        vector stays below the gap), and keeps it pending otherwise: the document's own encoding tells."""
        structs.sort(key=lambda pair: pair[0].id)  # stable: a pending copy comes before a re-sent one
        ahead = {s.id.client for s, _ in structs if s.id.clock + s.length > integrated.get(s.id.client, 0)}
        present = _present_beyond(doc, integrated, ahead) if ahead else {}
        covered = dict(self._state)
        new: list[tuple[Item, int, int, str | None]] = []
        self._pending = []
        for struct, author in structs:
            client, start = struct.id
            end = start + struct.length
            if not isinstance(struct, Item):
                if isinstance(struct, GC) and end <= integrated.get(client, 0):
                    covered[client] = max(end, covered.get(client, 0))
            elif end <= covered.get(client, 0):
                continue  # seen before
            elif end <= integrated.get(client, 0):
                unseen = self._unseen(client, max(start, covered.get(client, 0)), end)
                new.extend((struct, lo - start, hi - start, author) for lo, hi in unseen)
                covered[client] = end
            elif self._find(struct.id) is not None:
                continue  # seen before, past a gap
            elif _within(present.get(client, []), start):
                new.append((struct, 0, struct.length, author))
            else:
                self._pending.append((struct, author))
        del self._pending[:-MAX_PENDING_ITEMS]
        return new

    def _unseen(self, client: int, start: int, end: int) -> list[tuple[int, int]]:
        """The parts of clocks ``start..end-1`` not ingested yet: past the index's state, only an item
        integrated past a gap can have been."""
        ranges = self._ranges.get(client)
        if ranges is None:
            return [(start, end)] if start < end else []
        parts = []
        for lo, hi, _ in ranges.overlapping(start, end):
            if lo > start:
                parts.append((start, lo))
            start = max(start, hi)
        return [*parts, (start, end)] if start < end else parts

    def _write(
        self, touched: dict[str, _Touch], key: str, item: Item, first: int, stop: int, author: str | None
    ) -> None:
        """Write elements ``first..stop-1`` of the map item to ``key``: a run in which the first element's
        origin is the item's (or the element before it) and each next one was written on the one before.
        So only the first competes; the rest follow it onto the path, or out of sight; the last is the value.
        """
        client, clock = item.id
        origin = item.origin if first == 0 else ID(client, clock + first - 1)
        last = stop - 1
        nested = isinstance(item.content, ContentType)
        gone = isinstance(item.content, ContentDeleted)  # deleted by construction, delete set or not
        new = FieldEntry(ID(client, clock + last), author, _element_value(item, last), nested, gone)
        # Looked up before creating: a `setdefault` default (a `_Key` makes a path) is built every time.
        k = self._keys.get(key)
        if k is None:
            k = self._keys[key] = _Key()
        touch = touched.get(key)
        if touch is None:
            touch = touched[key] = _Touch(self.entry(key))
        on_path, rival = k.path.follower(origin)
        if not on_path or (rival is not None and client <= rival):
            touch.conflict = True  # loses: it stays invisible in the document
            touch.lost = (new.value, new.author)
            return
        if rival is not None:
            touch.conflict = True  # wins a concurrent write: the entry it displaces is lost
            if k.live is not None:
                touch.lost = (None if k.live.deleted else k.live.value, k.live.author)
            k.path.cut_after(origin)
        k.path.append(client, clock + first, clock + stop)  # else sequential: it saw the live entry
        k.live = new

    def _nested_edit(
        self, touched: dict[str, _Touch], owner: Owner, author: str | None, deletion: bool
    ) -> None:
        k = self._keys.get(owner.key)
        live = k.live if k is not None else None
        if live is not None and live.id == owner.entry and not live.deleted:
            touched.setdefault(owner.key, _Touch(live))
            if author is not None:  # the last editor becomes the field's author
                self._keys[owner.key].live = FieldEntry(live.id, author, live.value, True)
        elif not deletion:  # typed into a nested type that another write replaced: the typing is lost
            touch = touched.setdefault(owner.key, _Touch(self.entry(owner.key)))
            touch.conflict = True
            touch.lost = (None, author)


def _present_beyond(
    doc: Doc, integrated: Mapping[int, int], clients: set[int]
) -> dict[int, list[tuple[int, int]]]:
    """The clock ranges of ``clients`` the document holds at or past its state vector (gap-integrated)."""
    # From one clock below the state: a diff from the state itself, or from 0 for a client at 0, is empty.
    since = {c: k - 1 if c in clients else k for c, k in integrated.items() if k or c not in clients}
    probe = b"".join(write_var_uint(c) + write_var_uint(k) for c, k in since.items())
    present: dict[int, list[tuple[int, int]]] = {}
    for s in decode_update(doc.get_update(write_var_uint(len(since)) + probe)).structs:
        if s.id.client in clients and not isinstance(s, Skip):
            present.setdefault(s.id.client, []).append((s.id.clock, s.id.clock + s.length))
    return present


def _within(ranges: list[tuple[int, int]], clock: int) -> bool:
    """Whether ``clock`` falls in one of ``ranges`` (sorted, disjoint)."""
    i = bisect.bisect_right(ranges, (clock, math.inf)) - 1
    return i >= 0 and clock < ranges[i][1]


def _doc_value(doc: Doc, root: str, key: str) -> AnyValue:
    value = doc.get(root, type=Map).get(key)
    if isinstance(value, Text):
        return str(value)
    to_py = getattr(value, "to_py", None)
    if to_py is not None:
        result: AnyValue = to_py()
        return result
    return str(value) if value is not None else None


@dataclass(frozen=True, slots=True)
class FieldEdit:
    """What one update did to the fields: the changes for the history, and every key it touched (written,
    deleted or edited inside, changed or not), whose value may differ now."""

    changes: tuple[FieldChange, ...]
    touched: frozenset[str]


def field_edit(
    index: FieldIndex,
    update: Update,
    doc_after: Doc,
    author: str | None,
    integrated: dict[int, int] | None = None,
) -> FieldEdit:
    """The field changes the decoded ``update`` made, given ``index`` as it was before and ``doc_after``, the
    document with the update applied (``integrated``: its state vector, when the caller keeps it); updates
    ``index``. One change per field touched, conflicts included, in the order the update first touched
    them; writes that changed nothing (same value, no conflict) are left out. Two concurrent writes of the
    same value are no conflict: nothing was lost, so nobody has anything to settle.
    """
    touched = index._ingest(update, doc_after, lambda _: author, author, integrated)
    changes = []
    for key, touch in touched.items():
        after = index.entry(key)
        before_value = touch.before.value if touch.before else None
        after_value = after.value if after else None
        conflict = touch.conflict and not _same_value(touch.lost, after_value)
        if not conflict and before_value == after_value:
            continue
        lost_value, lost_author = touch.lost if conflict and touch.lost else (None, None)
        changes.append(
            FieldChange(
                field=key,
                before=before_value,
                after=after_value,
                author=author,
                conflict=conflict,
                overwritten_author=touch.before.author if touch.before else None,
                winner_author=after.author if after else None,
                lost_value=lost_value,
                lost_author=lost_author,
            )
        )
    return FieldEdit(tuple(changes), frozenset(touched))


def _same_value(lost: tuple[AnyValue, str | None] | None, after: AnyValue) -> bool:
    """Whether the write that lost held the value that is shown anyway. A nested type's lost content is
    not known (None), so typing lost into a replaced Y.Text always stays a conflict."""
    if lost is None:
        return False
    value, _ = lost
    return value is not None and value == after


def changes_for(
    index: FieldIndex, update: bytes | Update, doc_after: Doc, author: str | None
) -> list[FieldChange]:
    """`field_edit`'s changes, for an update given as bytes or decoded."""
    decoded = decode_update(update) if isinstance(update, bytes) else update
    return list(field_edit(index, decoded, doc_after, author).changes)
