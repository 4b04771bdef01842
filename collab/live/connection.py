"""One client's connection to a room: identity, and a single sender draining a queue bounded in bytes.

The room never awaits a client: it enqueues. Under pressure (something already waiting when a document
update arrives) consecutive queued updates form a run that the sender merges with `merge_updates` and
sends as one update, so a reader that keeps up on average is never closed by a burst; other messages
(awareness, saved, auth) keep their place between runs. A connection is closed with 1013 (y-websocket
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
from collections import deque
from dataclasses import replace
from datetime import UTC, datetime

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


def _size(entry: bytes | _Run) -> int:
    return (entry.size if isinstance(entry, _Run) else len(entry)) + _ENTRY_OVERHEAD_BYTES


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
        self._wakeup = asyncio.Event()
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

    def set_role(self, role: Role) -> None:
        """An admin changed the user's role: the next message is judged by the new one."""
        if role is not self.principal.role:
            self.principal = replace(self.principal, role=role)
            self.denied_write_notified = False

    def start(self) -> None:
        self._sender = asyncio.create_task(self._send_loop(), name=f"collab-sender-{self.id}")

    def enqueue(self, message: bytes) -> None:
        if self.close_code is not None:
            return
        if not self._queue:
            # Nothing was waiting, so nothing was stuck: the stall clock starts now.
            self._progress_at = self._clock.monotonic()
            self._wakeup.set()
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

    async def _send_loop(self) -> None:
        while True:
            if not self._queue:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            head = self._queue[0]
            self._sending = True
            try:
                for frame in self._frames_of(head):
                    await self.channel.send(frame)
            except Exception:
                # The peer vanished mid-send; the reader loop notices the same and cleans up.
                log.debug("send to connection %s failed", self.id, exc_info=True)
                return
            finally:
                self._sending = False
            self._queue.popleft()
            self._queued_bytes -= _size(head)
            self._progress_at = self._clock.monotonic()
