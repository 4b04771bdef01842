"""A loaded room's history index is built on a worker thread while the loop goes on serving, and an edit
that comes first gets it built on the loop from the document as loaded (collab/live/pending_index.py)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from pycrdt import Doc, Map

from collab.live.pending_index import PendingIndex
from collab.records.field_changes import FieldIndex
from tests.support.polling import until

pytestmark = pytest.mark.unit


class GatedBuilder:
    """Builds real indexes; on a worker thread only once `gate` is set (on the loop's thread at once)."""

    def __init__(self, fail_on_thread: bool = False) -> None:
        self.gate = threading.Event()
        self.threads: list[threading.Thread] = []
        self._fail_on_thread = fail_on_thread

    def __call__(self, doc: Doc) -> FieldIndex:
        self.threads.append(threading.current_thread())
        if threading.current_thread() is not threading.main_thread():
            assert self.gate.wait(10), "the test never let the worker thread go on"
            if self._fail_on_thread:
                raise RuntimeError("a copy that cannot be indexed")
        return FieldIndex.from_state(doc.get_update(), doc)


@pytest.fixture
def threads() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=1) as executor:
        yield executor


def named(value: str) -> Doc:
    doc: Doc = Doc()
    doc["fields"] = Map({"name": value})
    return doc


def value_of(index: FieldIndex | None) -> object:
    assert index is not None
    entry = index.entry("name")
    assert entry is not None
    return entry.value


async def loop_turns(count: int) -> None:
    """Let the loop run `count` turns (a finished job's result reaches its callbacks within two)."""
    for _ in range(count):
        await asyncio.sleep(0)


async def test_the_index_is_built_on_a_worker_thread_while_the_loop_goes_on(
    threads: ThreadPoolExecutor,
) -> None:
    builder = GatedBuilder()
    built: list[FieldIndex | None] = []
    PendingIndex(builder, threads).start(named("Ann"), built.append)
    # The loop keeps turning (this poll) while the build waits: a build on the loop would block it here.
    await until(lambda: bool(builder.threads), "the build started")
    assert builder.threads[0] is not threading.main_thread()
    assert not built
    builder.gate.set()
    await until(lambda: bool(built), "the index handed to the room")
    assert value_of(built[0]) == "Ann"


async def test_an_edit_before_the_thread_is_done_gets_the_index_built_on_the_loop(
    threads: ThreadPoolExecutor,
) -> None:
    builder = GatedBuilder()
    built: list[FieldIndex | None] = []
    doc = named("Ann")
    pending = PendingIndex(builder, threads)
    pending.start(doc, built.append)
    await until(lambda: bool(builder.threads), "the build started")
    assert value_of(pending.now(doc)) == "Ann"
    assert builder.threads[-1] is threading.main_thread()
    builder.gate.set()
    await asyncio.to_thread(threads.shutdown)  # the worker thread's build has ended
    await loop_turns(3)
    assert not built, "the worker thread's late index is dropped"


async def test_a_finished_build_is_handed_over_once_and_never_built_again(
    threads: ThreadPoolExecutor,
) -> None:
    builder = GatedBuilder()
    builder.gate.set()
    built: list[FieldIndex | None] = []
    doc = named("Ann")
    pending = PendingIndex(builder, threads)
    pending.start(doc, built.append)
    await until(lambda: bool(built), "the index handed to the room")
    assert pending.now(doc) is built[0], "the thread's index, not a second build"
    await loop_turns(3)
    assert len(built) == 1
    assert [thread is threading.main_thread() for thread in builder.threads] == [False]


async def test_a_build_that_fails_on_the_thread_is_done_on_the_loop(threads: ThreadPoolExecutor) -> None:
    builder = GatedBuilder(fail_on_thread=True)
    builder.gate.set()
    built: list[FieldIndex | None] = []
    PendingIndex(builder, threads).start(named("Ann"), built.append)
    await until(lambda: bool(built), "the index handed to the room")
    assert value_of(built[0]) == "Ann"
    assert builder.threads[-1] is threading.main_thread()
