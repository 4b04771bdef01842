"""A loaded room's history index, built on a worker thread.

The index costs every struct of the document, decoded in Python: 0.2-0.4 s for a record of 10,000 text
inserts at random places or 10,000 client ids (measured on this machine). Built on the event loop, that
stalled every room and tenant of the server for as long. It is built from a copy of the document as
loaded (its state applied to a fresh `Doc`, which shares nothing with the room's) on one worker thread
per registry: the GIL still serialises the Python, but the loop gets it back every switch interval
(5 ms) instead of after the whole build.

The index must describe the document before anything changes it (an update's history is read against it).
So an edit that comes before the thread is done builds it on the loop from the live document, as every
edit did before, and the thread's late result is dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Executor

from pycrdt import Doc

from collab.records.field_changes import FieldIndex

log = logging.getLogger(__name__)

# The index of a document (None: it cannot be built; the room then indexes from the next update on).
Builder = Callable[[Doc], FieldIndex | None]


def _from_copy(builder: Builder, state: bytes) -> FieldIndex | None:
    """On the worker thread: the index of a private copy of the document."""
    copy: Doc = Doc()
    copy.apply_update(state)
    return builder(copy)


class PendingIndex:
    """The history index of one room's document as loaded, until it is built."""

    def __init__(self, builder: Builder, threads: Executor) -> None:
        self._builder = builder
        self._threads = threads
        self._job: asyncio.Future[FieldIndex | None] | None = None
        self._taken = False  # `now` gave the index, or `start`'s callback did: nothing more to give

    def start(self, doc: Doc, built: Callable[[FieldIndex | None], None]) -> None:
        """Build it on the worker thread from `doc` as it is now; `built(index)` is called on the loop once
        it is ready, unless `now` came first. Call it before anything changes `doc`."""
        if self._job is not None or self._taken:
            return
        job = asyncio.get_running_loop().run_in_executor(
            self._threads, _from_copy, self._builder, doc.get_update()
        )
        self._job = job

        def finished(job: asyncio.Future[FieldIndex | None]) -> None:
            if self._taken or job.cancelled():
                return
            self._taken = True
            failure = job.exception()
            if failure is None:
                built(job.result())
                return
            # A copy pycrdt could not rebuild (it panics on some input): the live document, which has not
            # changed (`now` did not come), is indexed on the loop, as it was before.
            log.warning("history index built on the loop: the worker thread's build failed: %r", failure)
            built(self._builder(doc))

        job.add_done_callback(finished)

    def now(self, doc: Doc) -> FieldIndex | None:
        """The index at once, on the loop: the thread's, if it is done; otherwise built from `doc`, which
        must not have changed since `start` (the thread's build is dropped)."""
        self._taken = True
        job = self._job
        if job is not None and job.done() and not job.cancelled() and job.exception() is None:
            return job.result()
        if job is not None:
            job.cancel()  # not started yet: it never runs; running: its result is ignored
        return self._builder(doc)
