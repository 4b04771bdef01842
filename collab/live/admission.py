"""Admission of a live update: what may enter a record's document, its log and every replica.

The invariant (docs/architecture.md): what the server confirms is exactly what a reload from storage
produces. Loading replays the log in the order the room applied it, so the document after a reload is the
live one as long as every accepted update was *fully integrated* when it was applied, and nothing in it can
make a later honest update disappear. An update is refused (close 4400, never logged nor confirmed) when:

- it does not decode, or holds values no JSON can carry (NaN, infinities, bytes, `undefined`), or content a
  record never holds (sub-documents, embeds, formats, nested maps or arrays, other root types than
  `fields`);
- it cannot be integrated now: a gap in a client's clocks, or an origin, right origin or parent that
  neither the document nor the update itself provides (yrs would keep it pending, invisible, and a later
  item reusing its id would vanish on reload), or a reference cycle;
- it writes new clocks under a Yjs client id that belongs to another user (or to the server): the owner's
  later items with those ids would be dropped as duplicates while "saved" says they are stored;
- its delete set reaches past the document's state: a pending deletion would silently delete the next
  items their owner writes;
- a clock runs past yrs' 32-bit range.

Every step is linear in the number of structs and ranges the update holds (bounded by its bytes), never in
the lengths or clocks it declares.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from collab.errors import MalformedMessage
from collab.ycodec.ystructs import (
    ID,
    AnyValue,
    ContentAny,
    ContentDeleted,
    ContentString,
    ContentType,
    Item,
    Skip,
    Struct,
    TypeRef,
    Update,
)

ROOT = "fields"
MAX_CLOCK = 2**32 - 1  # yrs keeps clocks as u32
_MAX_VALUE_DEPTH = 64


class UpdateRefused(MalformedMessage):
    """An update that must not enter the document; the message says why (it becomes the close reason)."""

    close_reason = None


@dataclass(frozen=True, slots=True)
class Admitted:
    update: Update
    # Client ids this update writes under for the first time: they now belong to its sender.
    claims: tuple[int, ...]
    # The clients whose clocks the update moves, with their clock once it is integrated (checked after
    # applying it); the others keep theirs.
    advanced: dict[int, int]
    # The new part of each struct: (struct, offset of the first clock the document lacks).
    fresh: tuple[tuple[Struct, int], ...]


def admit(update: Update, state: Mapping[int, int], owners: Mapping[int, str], user_id: str) -> Admitted:
    """Check a decoded update against the document's `state` vector and the client-id `owners`; raise
    `UpdateRefused` or return what applying it will change."""
    by_client = _by_client(update.structs)
    claims: list[int] = []
    fresh: dict[int, list[tuple[Struct, int]]] = {}
    for client, structs in by_client.items():
        known = state.get(client, 0)
        new = [(s, max(0, known - s.id.clock)) for s in structs if s.id.clock + s.length > known]
        if not new:
            continue  # already held: ignored by the document, harmless
        if new[0][0].id.clock > known:
            raise UpdateRefused(f"client {client} skips clocks {known} to {new[0][0].id.clock}")
        last = new[-1][0]
        if last.id.clock + last.length > MAX_CLOCK:
            raise UpdateRefused(f"client {client} clock beyond 2^32")
        owner = owners.get(client)
        if owner is None:
            claims.append(client)
        elif owner != user_id:
            raise UpdateRefused(f"client id {client} belongs to another writer")
        for struct, _ in new:
            if isinstance(struct, Skip):
                raise UpdateRefused(f"client {client} has a gap in its clocks")
            if isinstance(struct, Item):
                _check_item(struct)
        fresh[client] = new
    advanced = _integrate(fresh, state)
    for client, clock, length in update.delete_set.ranges():
        if clock + length > advanced.get(client, state.get(client, 0)):
            raise UpdateRefused(f"deletes clocks of client {client} that do not exist")
    ordered = tuple(pair for pairs in fresh.values() for pair in pairs)
    return Admitted(update, tuple(claims), advanced, ordered)


def _by_client(structs: tuple[Struct, ...]) -> dict[int, list[Struct]]:
    by_client: dict[int, list[Struct]] = {}
    for struct in structs:
        if struct.length == 0:
            raise UpdateRefused(f"client {struct.id.client} has an empty struct")
        run = by_client.setdefault(struct.id.client, [])
        if run and run[-1].id.clock + run[-1].length != struct.id.clock:
            raise UpdateRefused(f"client {struct.id.client} is listed twice with overlapping clocks")
        run.append(struct)
    return by_client


def _check_item(item: Item) -> None:
    if isinstance(item.parent, str) and (item.parent != ROOT or item.parent_sub is None):
        raise UpdateRefused(f"root type {item.parent[:40]!r} is not part of a record")
    if isinstance(item.parent, ID) and item.parent_sub is not None:
        raise UpdateRefused("keyed content inside a text")
    content = item.content
    if isinstance(content, ContentAny):
        for value in content.values:
            _check_value(value, 0)
    elif isinstance(content, ContentType):
        if content.ref is not TypeRef.TEXT:
            raise UpdateRefused(f"a nested {content.ref.name.lower()} is not a field value")
    elif not isinstance(content, ContentDeleted | ContentString):
        raise UpdateRefused(f"{type(content).__name__} is not a field value")


def _check_value(value: AnyValue, depth: int) -> None:
    if depth > _MAX_VALUE_DEPTH:
        raise UpdateRefused("value nested too deeply")
    if isinstance(value, float) and not math.isfinite(value):
        raise UpdateRefused("numbers must be finite")
    if isinstance(value, list):
        for element in value:
            _check_value(element, depth + 1)
    elif isinstance(value, dict):
        for element in value.values():
            _check_value(element, depth + 1)
    elif not isinstance(value, str | int | float | bool | None):
        raise UpdateRefused(f"{type(value).__name__} is not a JSON value")


def _references(struct: Struct, offset: int) -> list[ID]:
    if not isinstance(struct, Item):
        return []
    refs = []
    # Past the start of a struct, its origin is its own previous clock, which the document holds.
    if offset == 0 and struct.origin is not None:
        refs.append(struct.origin)
    if struct.right_origin is not None:
        refs.append(struct.right_origin)
    if isinstance(struct.parent, ID):
        refs.append(struct.parent)
    return refs


def _integrate(fresh: dict[int, list[tuple[Struct, int]]], state: Mapping[int, int]) -> dict[int, int]:
    """The clocks of the clients `fresh` moves once integrated as yrs does, or `UpdateRefused` if some
    struct would be left pending (the document's state is read, never copied: it may name many clients).

    A struct waits for the client that holds what it refers to; waiting on a client that is itself
    waiting further up is a cycle, and waiting on one with nothing left to give is a gap."""
    advanced: dict[int, int] = {}

    def avail(client: int) -> int:
        return advanced.get(client, state.get(client, 0))

    position = dict.fromkeys(fresh, 0)
    for start in fresh:
        stack, waiting = [start], {start}
        while stack:
            client = stack[-1]
            structs = fresh[client]
            if position[client] == len(structs):
                waiting.discard(stack.pop())
                continue
            struct, offset = structs[position[client]]
            missing = next(
                (ref for ref in _references(struct, offset) if ref.clock >= avail(ref.client)), None
            )
            if missing is None:
                advanced[client] = struct.id.clock + struct.length
                position[client] += 1
                if len(stack) > 1:  # back to the struct that waited for this one
                    waiting.discard(stack.pop())
                continue
            other = missing.client
            if other == client or other in waiting or position.get(other, 0) == len(fresh.get(other, ())):
                raise UpdateRefused(
                    f"refers to {missing.client}:{missing.clock}, which the record does not hold"
                )
            stack.append(other)
            waiting.add(other)
    return advanced


def clock_ends(update: Update) -> dict[int, int]:
    """Per client, the clock just past the last struct an update holds."""
    ends: dict[int, int] = {}
    for struct in update.structs:
        end = struct.id.clock + struct.length
        if end > ends.get(struct.id.client, 0):
            ends[struct.id.client] = end
    return ends
