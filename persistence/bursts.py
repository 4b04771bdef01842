"""History bursts: one person's run of changes to one field, kept as one entry, and its unwritten value.

A change by the same user, to the same field, from the same origin, within the window of that person's
last change there (and no conflict, no comment on either) extends that entry (its `after` and time)
instead of adding one, so the history reads like a story, also when two people type into one field in
turn: bursts are keyed by record, field, user and origin (8 + 8 alternating characters made 16 entries
when the key was record and field).

Extending an entry rewrote its `after` with each keystroke: at the end of a long text, the whole text
encoded and written per key (at 300,000 characters ~0.6 ms to encode and ~2 ms of SQLite's time), so a
keystroke cost grew with the text. So an entry whose `after` is a long text (`DEFERRED_CHARS` or more) is
extended in memory: its `after` and time are written at most `deferred_seconds` after the first keystroke
not written yet, when the burst closes (its window passes, or the person's next change there opens a new
entry), and when the writer flushes (a request that reads after writing, a room's eviction, the shutdown).
The update log holds every keystroke whatever happens; what a crash can lose is the last
`deferred_seconds` of an open entry's `after` and time. The document rebuilt from the log up to the entry's
time is that entry's value, and the next entry's `before` (read from the document) is always right.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from persistence.changes import NewChange

# Shorter values are written with each change, as before: a few microseconds, and exact at every moment.
DEFERRED_CHARS = 4_000
_MAX_OPEN = 10_000

Key = tuple[str, str, str | None, str]


def key_of(change: NewChange) -> Key:
    return (change.record_id, change.field, change.user_id, change.origin)


def deferrable(value: Any) -> bool:
    """Whether extending an entry to this `after` may wait: a long text."""
    return isinstance(value, str) and len(value) >= DEFERRED_CHARS


@dataclass(frozen=True, slots=True)
class Burst:
    change_id: int
    user_id: str | None
    origin: str
    at: datetime
    closed: bool  # a conflict or a commented entry stands alone

    def extends(self, change: NewChange, at: datetime, window: timedelta) -> bool:
        return (
            not self.closed
            and not change.conflict
            and change.comment is None
            and change.user_id == self.user_id
            and change.origin == self.origin
            and at - self.at <= window
        )


@dataclass(frozen=True, slots=True)
class Unwritten:
    """An entry's newest `after` and time, not written yet; `since`: its first keystroke not written."""

    change_id: int
    after: Any
    at: datetime
    since: datetime


class Bursts:
    """The open entries of one writer, and their values not written yet. Changed only through a `Plan`
    once its transaction committed."""

    def __init__(self, window: timedelta, deferred: timedelta) -> None:
        self.window = window
        self.deferred = deferred
        self._open: dict[Key, Burst] = {}
        self._unwritten: dict[Key, Unwritten] = {}

    @property
    def unwritten(self) -> bool:
        return bool(self._unwritten)

    def due_in(self, now: datetime) -> float | None:
        """Seconds until an unwritten value is due (0 when one is), or None when there is none."""
        if not self._unwritten:
            return None
        due = min(min(e.since + self.deferred, e.at + self.window) for e in self._unwritten.values())
        return max(0.0, (due - now).total_seconds())

    def forget_unwritten(self) -> None:
        self._unwritten = {}

    def plan(self, at: datetime) -> Plan:
        return Plan(self, at)


class Plan:
    """One transaction's changes to the bursts: the appender asks what each change does, executes it, and
    applies the plan (`commit`) only once the transaction committed."""

    def __init__(self, bursts: Bursts, at: datetime) -> None:
        self._bursts = bursts
        self.at = at
        self._opened: dict[Key, Burst] = {}
        self._unwritten = dict(bursts._unwritten)

    def extends(self, change: NewChange) -> Burst | None:
        """The open entry this change extends, if any."""
        key = key_of(change)
        burst = self._opened.get(key) or self._bursts._open.get(key)
        return burst if burst is not None and burst.extends(change, self.at, self._bursts.window) else None

    def extended(self, change: NewChange, burst: Burst, written: bool) -> None:
        """`change` extended `burst`: its `after` was written, or waits (`written` False)."""
        key = key_of(change)
        self._opened[key] = replace(burst, at=self.at)
        if written:
            self._unwritten.pop(key, None)
            return
        previous = self._unwritten.get(key)
        since = previous.since if previous is not None and previous.change_id == burst.change_id else self.at
        self._unwritten[key] = Unwritten(burst.change_id, change.after, self.at, since)

    def closing(self, change: NewChange) -> Unwritten | None:
        """Before `change` opens a new entry: the unwritten value of the entry it does not extend, to write
        first."""
        return self._unwritten.pop(key_of(change), None)

    def opened(self, change: NewChange, change_id: int) -> None:
        closed = change.conflict or change.comment is not None
        self._opened[key_of(change)] = Burst(change_id, change.user_id, change.origin, self.at, closed)

    def due(self, everything: bool) -> list[Unwritten]:
        """The unwritten values to write in this transaction: all, or those whose time has come."""
        bursts = self._bursts
        due = [
            key
            for key, entry in self._unwritten.items()
            if everything or self.at - entry.since >= bursts.deferred or self.at - entry.at >= bursts.window
        ]
        return [self._unwritten.pop(key) for key in due]

    def newest(self) -> dict[str, int]:
        """The newest change id per record this transaction opened or extended."""
        newest: dict[str, int] = {}
        for (record_id, *_), burst in self._opened.items():
            newest[record_id] = max(newest.get(record_id, 0), burst.change_id)
        return newest

    def commit(self) -> None:
        bursts = self._bursts
        bursts._open.update(self._opened)
        bursts._unwritten = self._unwritten
        if len(bursts._open) > _MAX_OPEN:
            bursts._open = {
                key: burst
                for key, burst in bursts._open.items()
                if self.at - burst.at <= bursts.window or key in self._unwritten
            }
