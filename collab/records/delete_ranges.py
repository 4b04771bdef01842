"""Deleted clock ranges, handled as ranges: an update may declare any length (2^53 in a few bytes), and may
list one range many times, so nothing here costs more than the number of ranges.

A delete set is applied coalesced (sorted and merged per client): deleting a union of ranges deletes the
same entries as deleting each range. A deletion of clocks the document has not integrated yet waits (as in
Yjs) in :class:`PendingDeletes` and applies to what arrives later.
"""

from __future__ import annotations

import bisect

from collab.ycodec.ystructs import DeleteSet

_Range = tuple[int, int, str | None]  # start, end (exclusive), who deleted it


def coalesced(delete_set: DeleteSet) -> list[tuple[int, int, int]]:
    """``(client, start, end)`` for each client's ranges, sorted and merged; clients in encoded order."""
    out: list[tuple[int, int, int]] = []
    for client, ranges in delete_set.clients.items():
        merged: list[tuple[int, int, int]] = []
        for clock, length in sorted(ranges):
            if merged and clock <= merged[-1][2]:
                merged[-1] = (client, merged[-1][1], max(merged[-1][2], clock + length))
            elif length > 0:
                merged.append((client, clock, clock + length))
        out.extend(merged)
    return out


class PendingDeletes:
    """Deleted ranges waiting for their items, per client: disjoint, sorted, each with who deleted it first
    (a later deletion of the same clocks changes nothing, as in the document). At most ``limit`` ranges are
    kept; more are forgotten (only their history entries would be missing)."""

    __slots__ = ("_clients", "_count", "_limit")

    def __init__(self, limit: int) -> None:
        self._clients: dict[int, list[_Range]] = {}
        self._count = 0
        self._limit = limit

    def add(self, client: int, start: int, end: int, by: str | None) -> None:
        if self._count >= self._limit or start >= end:
            return
        ranges = self._clients.setdefault(client, [])
        # The ranges that overlap or touch [start, end): they and the gaps between them are rewritten.
        lo = bisect.bisect_left(ranges, start, key=lambda r: r[1])
        hi = bisect.bisect_right(ranges, end, key=lambda r: r[0])
        pieces: list[_Range] = []
        cursor = start
        for r in ranges[lo:hi]:
            if cursor < min(r[0], end):
                pieces.append((cursor, min(r[0], end), by))
            pieces.append(r)
            cursor = max(cursor, r[1])
        if cursor < end:
            pieces.append((cursor, end, by))
        merged: list[_Range] = []
        for piece in pieces:
            if merged and merged[-1][1] == piece[0] and merged[-1][2] == piece[2]:
                merged[-1] = (merged[-1][0], piece[1], piece[2])
            else:
                merged.append(piece)
        ranges[lo:hi] = merged
        self._count += len(merged) - (hi - lo)

    def overlapping(self, client: int, start: int, end: int) -> list[_Range]:
        ranges = self._clients.get(client)
        if not ranges:
            return []
        i = bisect.bisect_right(ranges, start, key=lambda r: r[1])
        found = []
        while i < len(ranges) and ranges[i][0] < end:
            found.append(ranges[i])
            i += 1
        return found

    def forget(self, integrated: dict[int, int], clients: set[int]) -> None:
        """Drop the ranges of ``clients`` that end within what the document has integrated."""
        for client in clients & self._clients.keys():
            ranges = self._clients[client]
            done = bisect.bisect_right(ranges, integrated.get(client, 0), key=lambda r: r[1])
            del ranges[:done]
            self._count -= done
            if not ranges:
                del self._clients[client]
