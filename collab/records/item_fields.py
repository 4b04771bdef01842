"""Which field of a root map each item of a document belongs to.

An item names its parent (a root type by name with the map key as ``parent_sub``, or a nested type by that
type's item ID) only when it has no origin; otherwise it shares the parent and key of the item its origin
(else its right origin) names. So an item's field follows a chain of references that may run through other
items of the same update, in any order. Items of other roots, and items that refer to something unknown
(never seen, or garbage-collected), belong to no field.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple

from collab.ycodec.ystructs import ID, Item


class Owner(NamedTuple):
    key: str
    entry: ID | None  # None: an entry of the root map itself; else the field's nested type it sits in


class ItemRanges:
    """Known item ranges of one client, sorted by clock, each with its owner."""

    __slots__ = ("ends", "owners", "starts")

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.owners: list[Owner] = []

    def add(self, start: int, end: int, owner: Owner) -> None:
        i = bisect.bisect_left(self.starts, start)
        if i and self.ends[i - 1] == start and self.owners[i - 1] == owner:
            self.ends[i - 1] = end  # typing runs merge, so memory follows the structs, not the characters
            return
        self.starts.insert(i, start)
        self.ends.insert(i, end)
        self.owners.insert(i, owner)

    def find(self, clock: int) -> Owner | None:
        i = bisect.bisect_right(self.starts, clock) - 1
        return self.owners[i] if i >= 0 and clock < self.ends[i] else None

    def overlapping(self, clock: int, end: int) -> Iterator[tuple[int, int, Owner]]:
        i = max(bisect.bisect_right(self.starts, clock) - 1, 0)
        while i < len(self.starts) and self.starts[i] < end:
            if self.ends[i] > clock:
                yield self.starts[i], self.ends[i], self.owners[i]
            i += 1


def resolve_owners(
    items: Sequence[Item], root: str, known: Callable[[ID], Owner | None]
) -> list[tuple[int, Owner]]:
    """``(index in items, owner)`` for the items of map ``root``, each after the items it refers to.

    ``known`` answers for items seen before; the others are looked up among ``items``."""
    starts: dict[int, list[tuple[int, int, int]]] = {}
    for n, item in enumerate(items):
        starts.setdefault(item.id.client, []).append((item.id.clock, item.id.clock + item.length, n))
    for ranges in starts.values():
        ranges.sort()
    owners: dict[int, Owner | None] = {}
    ordered: list[tuple[int, Owner]] = []

    def local(ref: ID) -> int | None:
        ranges = starts.get(ref.client, [])
        i = bisect.bisect_right(ranges, (ref.clock, float("inf"), 0)) - 1
        return ranges[i][2] if i >= 0 and ref.clock < ranges[i][1] else None

    for first in range(len(items)):
        stack, on_stack = [first], {first}
        while stack:  # an explicit stack: an origin chain can be as long as the document
            n = stack[-1]
            if n in owners:
                on_stack.discard(stack.pop())
                continue
            item = items[n]
            ref = item.parent if isinstance(item.parent, ID) else item.origin or item.right_origin
            owner: Owner | None
            if ref is None:
                key = item.parent_sub if item.parent == root else None
                owner = Owner(key, None) if key is not None else None
            else:
                owner = known(ref)
                m = local(ref) if owner is None else None
                if m is not None and m not in owners and m not in on_stack:
                    stack.append(m)
                    on_stack.add(m)
                    continue
                if m is not None:
                    owner = owners.get(m)  # None also for a reference cycle: malformed, so ignored
                if owner is not None and isinstance(item.parent, ID):
                    owner = Owner(owner.key, owner.entry or item.parent)
            owners[n] = owner
            on_stack.discard(stack.pop())
            if owner is not None:
                ordered.append((n, owner))
    return ordered
