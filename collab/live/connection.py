"""One client's connection to a room: identity, and a single sender draining a queue bounded in bytes.

The room never awaits a client: it enqueues. The first message enqueued in a turn of the event loop while
nothing is queued is handed to the channel at once, in the caller's task: a channel whose transport takes
it without waiting (uvicorn's send, while the socket is not paused) finishes there, and no task switch
happens per receiver per update (`_send_now`). What follows in the same turn (a burst: a reader loop
handling many frames that arrived together) queues, and a sender task sends it at the next turn, merged;
so does everything behind a send that has to wait (back-pressure). The sender task ends when the queue
is empty. Under pressure (something already waiting when a document update arrives) consecutive queued
updates form a run that the sender merges with `merge_updates` and sends as one update, so a reader that
keeps up on average is never closed by a burst; other messages (awareness, saved, auth) keep their place
between runs. A connection is closed with 1013 (y-websocket
reconnects and re-syncs) only when it is really stuck:

- no send completed for `send_stall_seconds` while something was queued (checked at every enqueue and by
  one timer per connection while it has a backlog), or
- the backlog waiting behind the message being sent is above `send_queue_bytes`. Frames are counted at
  their full size although the room shares one frame among all receivers, so the budget bounds the
  memory one connection can hold, whatever the others do. The message at the head never counts: a
  joiner's sync step 2 may be larger than the budget and must still be sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import weakref
from collections import deque
from collections.abc import Awaitable, Coroutine, Generator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from pycrdt import merge_updates

from auth.principal import Principal, Role
from collab.clock import SYSTEM_CLOCK, Clock
from collab.errors import ConsumerTooSlow, close_frame
from collab.live.awareness import DEFAULT_LIMITS, AwarenessLimits
from collab.live.channel import Channel
from collab.live.rate_limit import TokenBucket
from collab.ycodec import protocol

log = logging.getLogger(__name__)

_ids = itertools.count(1)

DEFAULT_SEND_QUEUE_BYTES = 16 * 1024 * 1024
DEFAULT_SEND_STALL_SECONDS = 30.0
# What a queued entry costs besides its bytes (object header, deque slot): a flood of tiny messages counts.
_ENTRY_OVERHEAD_BYTES = 64
# A run stops growing at this size and a new one starts: merging stays a bounded piece of work on the loop.
_RUN_MAX_BYTES = 1024 * 1024
_UPDATE_STEPS = (protocol.SYNC_STEP2, protocol.SYNC_UPDATE)


def _is_update(frame: bytes) -> bool:
    """A sync step 2 or update frame (both carry one Yjs update), recognised by its first two bytes."""
    return len(frame) > 1 and frame[0] == protocol.SYNC and frame[1] in _UPDATE_STEPS


class _Run:
    """Document update frames queued back to back, to be sent as one merged update."""

    __slots__ = ("frames", "size")

    def __init__(self, first: bytes) -> None:
        self.frames = [first]
        self.size = len(first)

    def add(self, frame: bytes) -> None:
        self.frames.append(frame)
        self.size += len(frame)

    def merged(self) -> bytes:
        """One frame holding every update of the run. A run holding a sync step 2 is sent as a step 2, so
        a joiner still learns it is synced. Raises whatever yrs raises when it refuses to merge."""
        messages = [protocol.decode_message(frame) for frame in self.frames]
        merged = merge_updates(*(m.update for m in messages if isinstance(m, protocol.SyncUpdate)))
        step2 = any(isinstance(m, protocol.SyncUpdate) and m.step2 for m in messages)
        return protocol.sync_step2(merged) if step2 else protocol.sync_update(merged)


class _Turns:
    """Counts the event loop's turns, for one loop: `now()` is the current turn's number. It costs one
    callback per turn in which someone asked, whatever the number of connections."""

    __slots__ = ("_armed", "_loop", "_turn")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._turn = 0
        self._armed = False

    def now(self) -> int:
        if not self._armed:
            self._armed = True
            self._loop.call_soon(self._next)
        return self._turn

    def _next(self) -> None:
        self._turn += 1
        self._armed = False


_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Turns] = weakref.WeakKeyDictionary()


def _turns_of(loop: asyncio.AbstractEventLoop) -> _Turns:
    turns = _turns.get(loop)
    if turns is None:
        turns = _turns[loop] = _Turns(loop)
    return turns


def _size(entry: bytes | _Run) -> int:
    return (entry.size if isinstance(entry, _Run) else len(entry)) + _ENTRY_OVERHEAD_BYTES


class _Rest(Awaitable[None]):
    """The rest of a channel's `send` that was started by hand and stopped at its first wait (`pending`,
    what it yielded): awaiting this goes on from there, in whatever task awaits it."""

    __slots__ = ("_coro", "_pending")

    def __init__(self, coro: Coroutine[Any, Any, None], pending: Any) -> None:
        self._coro = coro
        self._pending = pending

    def __await__(self) -> Generator[Any, Any, None]:
        signal = self._pending
        while True:
            try:
                received = yield signal
            except GeneratorExit:
                self._coro.close()
                raise
            except BaseException as exc:  # cancellation included: the send itself decides what it means
                try:
                    signal = self._coro.throw(exc)
                except StopIteration:
                    return
            else:
                try:
                    signal = self._coro.send(received)
                except StopIteration:
                    return


class Connection:
    def __init__(
        self,
        channel: Channel,
        principal: Principal,
        record_id: str,
        send_queue_bytes: int = DEFAULT_SEND_QUEUE_BYTES,
        rate: TokenBucket | None = None,
        *,
        send_stall_seconds: float = DEFAULT_SEND_STALL_SECONDS,
        awareness_limits: AwarenessLimits = DEFAULT_LIMITS,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.id = next(_ids)
        self.channel = channel
        self.principal = principal
        self.rate = rate
        self.joined_at = datetime.now(UTC)
        self.record_id = record_id
        self.denied_write_notified = False
        self.awareness_limits = awareness_limits
        self._budget = send_queue_bytes
        self._stall_seconds = send_stall_seconds
        self._clock = clock
        self._queue: deque[bytes | _Run] = deque()
        self._queued_bytes = 0  # of every entry in `_queue`, the head included
        self._sending = False  # the head entry is being sent: nothing may join it any more
        self._progress_at = clock.monotonic()  # the last completed send, or when the queue last filled
        self._started = False
        self._turns: _Turns | None = None  # the loop's turn counter, once started
        self._sent_in_turn = -1  # the turn in which a message last went out at once
        self._failed = False  # a send raised: the peer is gone, nothing more is sent
        self._watchdog: asyncio.TimerHandle | None = None
        self._sender: asyncio.Task[None] | None = None
        self._closing: asyncio.Task[None] | None = None
        self.close_code: int | None = None
        self.closed = asyncio.Event()

    @property
    def user_stamp(self) -> dict[str, str]:
        """The `user` field the server writes into every awareness state of this connection."""
        return {"id": self.principal.user_id, "name": self.principal.name, "color": self.principal.color}

    @property
    def backlog_bytes(self) -> int:
        """What waits behind the head entry (the one being sent, or sent next): the figure the budget caps."""
        if not self._queue:
            return 0
        return self._queued_bytes - _size(self._queue[0])

    @property
    def queued(self) -> int:
        """Entries not yet sent, the one being sent included (0: everything handed to the channel)."""
        return len(self._queue)

    def set_role(self, role: Role) -> None:
        """An admin changed the user's role: the next message is judged by the new one."""
        if role is not self.principal.role:
            self.principal = replace(self.principal, role=role)
            self.denied_write_notified = False

    def start(self) -> None:
        """From now on messages go to the channel (those enqueued before wait for this)."""
        self._started = True
        self._turns = _turns_of(asyncio.get_running_loop())
        if self._queue:
            self._progress_at = self._clock.monotonic()
            self._start_sender(None)

    def enqueue(self, message: bytes) -> None:
        if self.close_code is not None or self._failed:
            return
        if not self._queue:
            if self._turns is not None:
                turn = self._turns.now()
                if turn != self._sent_in_turn:
                    self._sent_in_turn = turn
                    self._send_now(message)
                    return
            # Nothing was waiting, so nothing was stuck: the stall clock starts now.
            self._progress_at = self._clock.monotonic()
        elif self.check_progress():
            return
        if _is_update(message) and self._joinable_tail():
            tail = self._queue[-1]
            if isinstance(tail, bytes):
                tail = self._queue[-1] = _Run(tail)
            tail.add(message)
            self._queued_bytes += len(message)
        else:
            self._queue.append(message)
            self._queued_bytes += len(message) + _ENTRY_OVERHEAD_BYTES
        if self.backlog_bytes > self._budget:
            log.warning(
                "closing connection %s on record %s: consumer too slow (%d bytes queued)",
                self.id,
                self.record_id,
                self.backlog_bytes,
            )
            self.close(*close_frame(ConsumerTooSlow("consumer too slow")))
        elif self._watchdog is None:
            self._watchdog = asyncio.get_running_loop().call_later(self._stall_seconds, self._watch)
        if self.close_code is None and self._started and self._sender is None:
            self._start_sender(None)

    def _send_now(self, message: bytes) -> None:
        """Send with nothing queued, in the caller's task: usually the channel takes the message at once.
        A send that has to wait (back-pressure) keeps the message queued as the entry being sent, and a
        sender task finishes it; what is enqueued meanwhile waits behind it. A failed send ends sending
        (the peer is gone; its reader loop cleans up)."""
        coro = self.channel.send(message)
        try:
            pending = coro.send(None)
        except StopIteration:
            return
        except Exception:
            log.debug("send to connection %s failed", self.id, exc_info=True)
            self._failed = True
            return
        self._queue.append(message)
        self._queued_bytes += len(message) + _ENTRY_OVERHEAD_BYTES
        self._sending = True
        self._progress_at = self._clock.monotonic()
        if self._watchdog is None:
            self._watchdog = asyncio.get_running_loop().call_later(self._stall_seconds, self._watch)
        self._start_sender(_Rest(coro, pending))

    def _start_sender(self, head_in_flight: _Rest | None) -> None:
        self._sender = asyncio.create_task(self._drain(head_in_flight), name=f"collab-sender-{self.id}")

    def _joinable_tail(self) -> bool:
        """Can an update join the last queued entry? Only an update run that is not already being sent."""
        if not self._queue or (self._sending and len(self._queue) == 1):
            return False
        tail = self._queue[-1]
        return (isinstance(tail, _Run) and tail.size < _RUN_MAX_BYTES) or (
            isinstance(tail, bytes) and _is_update(tail)
        )

    def check_progress(self) -> bool:
        """Close the connection if something is queued and no send completed for `send_stall_seconds`;
        return whether it is (now) closing."""
        if self.close_code is not None:
            return True
        idle = self._clock.monotonic() - self._progress_at
        if self._queue and idle >= self._stall_seconds:
            log.warning(
                "closing connection %s on record %s: no send completed for %.0f s (%d bytes queued)",
                self.id,
                self.record_id,
                idle,
                self._queued_bytes,
            )
            self.close(*close_frame(ConsumerTooSlow("consumer stuck")))
            return True
        return False

    def _watch(self) -> None:
        """The stall timer: a stuck peer is closed even when nothing more is enqueued for it."""
        self._watchdog = None
        if self.check_progress() or not self._queue:
            return
        wait = self._progress_at + self._stall_seconds - self._clock.monotonic()
        self._watchdog = asyncio.get_running_loop().call_later(max(wait, 0.0), self._watch)

    def close(self, code: int, reason: str = "") -> None:
        """Ask for this connection to close; messages still queued are dropped (the client re-syncs)."""
        if self.close_code is not None:
            return
        self.close_code = code
        self._queue.clear()
        self._queued_bytes = 0
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        if self._sender is not None:
            self._sender.cancel()
        self._closing = asyncio.create_task(self._close(code, reason), name=f"collab-close-{self.id}")

    async def _close(self, code: int, reason: str) -> None:
        try:
            await self.channel.close(code, reason)
        except Exception:
            log.debug("close of connection %s failed; the peer is already gone", self.id, exc_info=True)
        finally:
            self.closed.set()

    async def stop(self) -> None:
        """Wait for the sender and any close in progress; used when the reader loop ends."""
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender
        if self._closing is not None:
            await self._closing

    def _frames_of(self, entry: bytes | _Run) -> list[bytes]:
        if isinstance(entry, bytes):
            return [entry]
        try:
            return [entry.merged()]
        except (KeyboardInterrupt, SystemExit, asyncio.CancelledError):
            raise
        except BaseException:  # pycrdt's ValueError, MalformedMessage, pyo3's PanicException (BaseException)
            log.warning(
                "%d updates queued for connection %s on record %s could not be merged; sent one by one",
                len(entry.frames),
                self.id,
                self.record_id,
                exc_info=True,
            )
            return entry.frames

    async def _drain(self, head_in_flight: _Rest | None) -> None:
        """Send the queue out, oldest first, until it is empty; `head_in_flight`: the rest of the head
        entry's send, begun by `_send_now`."""
        try:
            if head_in_flight is not None:
                await head_in_flight
                self._sent_head()
            while self._queue:
                head = self._queue[0]
                self._sending = True
                for frame in self._frames_of(head):
                    await self.channel.send(frame)
                self._sent_head()
        except Exception:
            # The peer vanished mid-send; the reader loop notices the same and cleans up.
            log.debug("send to connection %s failed", self.id, exc_info=True)
            self._failed = True
        finally:
            self._sending = False
            if self._sender is asyncio.current_task():
                self._sender = None

    def _sent_head(self) -> None:
        self._sending = False
        head = self._queue.popleft()
        self._queued_bytes -= _size(head)
        self._progress_at = self._clock.monotonic()
