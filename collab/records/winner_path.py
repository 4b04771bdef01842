"""The winner path of one map key: its entries from the first write to the live one, as runs.

Every entry on the path names the entry before it as its origin. A map item of length L is L such entries
in a row (element j's origin is element j-1), and an update may declare any L in a few bytes (a deleted run
of 2^31 costs 21 bytes), so the path holds runs ``(client, start, end)`` of consecutive clocks, never one
object per entry: each operation costs O(log runs) whatever the lengths. An origin may point into the
middle of a run; cutting the path there splits the run.

Along the path one client's clocks grow (a client writes on top of an entry only after it exists), so each
client's runs are also kept in clock order, which is what finds the run holding an ID.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from collab.ycodec.ystructs import ID


@dataclass(slots=True)
class _Run:
    client: int
    start: int
    end: int  # exclusive


class WinnerPath:
    __slots__ = ("_by_client", "_runs")

    def __init__(self) -> None:
        self._runs: list[_Run] = []
        self._by_client: dict[int, list[int]] = {}  # indexes into _runs of each client's runs, by clock

    def follower(self, origin: ID | None) -> tuple[bool, int | None]:
        """Whether ``origin`` is on the path (None: its root is), and the client of the entry after it
        (None when ``origin`` is the live entry: a write on it is sequential)."""
        if origin is None:
            return True, self._runs[0].client if self._runs else None
        n = self._locate(origin)
        if n is None:
            return False, None
        if origin.clock + 1 < self._runs[n].end:
            return True, origin.client
        return True, self._runs[n + 1].client if n + 1 < len(self._runs) else None

    def cut_after(self, origin: ID | None) -> None:
        """Drop the entries after ``origin`` (all of them for None); ``origin`` must be on the path."""
        keep = 0
        if origin is not None:
            n = self._locate(origin)
            assert n is not None, "cut at an entry off the path"
            self._runs[n].end = origin.clock + 1
            keep = n + 1
        while len(self._runs) > keep:
            gone = len(self._runs) - 1
            indexes = self._by_client[self._runs.pop().client]
            if indexes[-1] == gone:
                indexes.pop()
            else:  # only a client whose clocks went backwards along the path (hostile) gets here
                indexes.remove(gone)

    def append(self, client: int, start: int, end: int) -> None:
        """Put entries ``start..end-1`` of ``client`` after the live entry, which the first one names."""
        last = self._runs[-1] if self._runs else None
        if last is not None and last.client == client and last.end == start:
            last.end = end  # one client writing on its own value: the run grows, the path does not
            return
        self._runs.append(_Run(client, start, end))
        indexes = self._by_client.setdefault(client, [])
        at = bisect.bisect_right(indexes, start, key=lambda i: self._runs[i].start)
        indexes.insert(at, len(self._runs) - 1)

    def _locate(self, id_: ID) -> int | None:
        indexes = self._by_client.get(id_.client)
        if not indexes:
            return None
        at = bisect.bisect_right(indexes, id_.clock, key=lambda i: self._runs[i].start) - 1
        if at < 0:
            return None
        n = indexes[at]
        return n if id_.clock < self._runs[n].end else None
