"""The update writer and its log appender alone: CPU per update, without rooms, sockets or clients.

    .venv/bin/python -m bench.appender                          # 100 records, 3,000 updates of `name`
    .venv/bin/python -m bench.appender --typing --chars 99000   # keystrokes at the end of a long text
    .venv/bin/python -m bench.appender --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/x

A `SqlUpdateWriter` on a fresh database (a temporary SQLite file unless `--database-url` names an empty
one), fed `PendingWrite`s as a room queues them: each update carries its field change and the record's
field values (the sample `customers` collection, seven fields). Without `--typing`, like `bench.run`'s
rates: each update sets `name` of one of `--records` records, in turn. With `--typing`: one record's rich
text `notes` holds `--chars` characters, then `--keys` keystrokes are added at its end at `--rate` per
second (one history burst, as a person types). Each update is flushed before the next (one commit each,
as at low rates); `--batch N` submits N at a time instead. It waits for the writer's `Committed`, not for
`flush()`, which also writes the history's waiting values, as a room's commits do not.

Prints the process's CPU per update (`time.process_time`: the event loop's part, the writer's, the
driver's) and, on SQLite, the CPU of aiosqlite's worker thread inside the appender's transaction
(`time.thread_time` around `LogAppender._write_sqlite`): the thread the brief of issue 17 measured.
Both are CPU time, so other processes' load moves them little; run twice and compare.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from collab.origin import Origin, OriginKind
from collab.records.field_changes import FieldChange
from collab.records.records import SAMPLE_COLLECTION
from collab.store.writer import SqlUpdateWriter
from collab.store.writes import Committed, PendingWrite, WriteOutcome
from persistence.database import Database
from persistence.log_appender import LogAppender
from persistence.models import Collection, Record, Tenant, User, new_id


class ThreadClock:
    """The CPU time of the SQLite writer thread spent in the appender's transactions."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._original: Callable[..., Any] = LogAppender._write_sqlite

    def install(self) -> None:
        original = self._original

        def timed(appender: LogAppender, *args: Any) -> Any:
            started = time.thread_time()
            try:
                return original(appender, *args)
            finally:
                self.seconds += time.thread_time() - started

        LogAppender._write_sqlite = timed  # type: ignore[method-assign]

    def remove(self) -> None:
        LogAppender._write_sqlite = self._original  # type: ignore[method-assign]


async def _seed(database: Database, records: int) -> tuple[str, str, str, list[str]]:
    tenant_id, collection_id, user_id = new_id(), new_id(), new_id()
    ids = [new_id() for _ in range(records)]
    async with database.session() as session, session.begin():
        session.add(Tenant(id=tenant_id, slug=tenant_id, name="Bench"))
        await session.flush()
        session.add(
            User(id=user_id, tenant_id=tenant_id, email="b@x.org", name="B", role="editor", password_hash="-")
        )
        session.add(
            Collection(
                id=collection_id,
                tenant_id=tenant_id,
                name="customers",
                label="Customers",
                fields=SAMPLE_COLLECTION["fields"],
            )
        )
        await session.flush()
        session.add_all(Record(id=i, tenant_id=tenant_id, collection_id=collection_id) for i in ids)
    return tenant_id, collection_id, user_id, ids


def _fields(name: str, notes: str) -> dict[str, Any]:
    return {
        "name": name,
        "email": "ada@example.com",
        "revenue": 125000,
        "stage": "prospect",
        "active": True,
        "next_call": "2026-12-24",
        "notes": notes,
    }


class Feeder:
    def __init__(self, writer: SqlUpdateWriter, tenant_id: str, collection_id: str, user_id: str) -> None:
        self._writer = writer
        self._tenant_id, self._collection_id = tenant_id, collection_id
        self._origin = Origin(OriginKind.LIVE, user_id, new_id(), 1)
        self._clock = 0
        self._submitted = 0
        self._stored = 0
        self._progress = asyncio.Event()
        writer.subscribe(self._committed)

    def _committed(self, outcome: WriteOutcome) -> None:
        if isinstance(outcome, Committed):
            self._stored += len(outcome.writes)
            self._progress.set()

    async def stored(self) -> None:
        """Until every write submitted so far is committed."""
        while self._stored < self._submitted:
            self._progress.clear()
            await self._progress.wait()

    def submit(self, record_id: str, change: FieldChange, fields: dict[str, Any]) -> None:
        self._clock += 1
        self._submitted += 1
        self._writer.submit(
            PendingWrite(
                record_id=record_id,
                update=b"\x01\x01\x80\x80\x80\x08" + self._clock.to_bytes(4, "big") + b"\x00" * 24,
                origin=self._origin,
                state_vector_after=b"\x01\x80\x80\x80\x08" + self._clock.to_bytes(4, "big"),
                changes=(change,),
                fields=fields,
                tenant_id=self._tenant_id,
                collection_id=self._collection_id,
            )
        )


async def _run(args: argparse.Namespace, url: str) -> None:
    clock = ThreadClock()
    async with Database(url) as database:
        await database.migrate()
        records = 1 if args.typing else args.records
        tenant_id, collection_id, user_id, ids = await _seed(database, records)
        async with SqlUpdateWriter(database, burst_seconds=3.0) as writer:
            feeder = Feeder(writer, tenant_id, collection_id, user_id)
            notes = "x" * args.chars if args.typing else "Met at the fair; wants a quote."
            names = dict.fromkeys(ids, "Ada Lovelace")
            for record_id in ids:  # each record's first write: its rows and summary (not measured)
                fields = _fields(names[record_id], notes)
                feeder.submit(record_id, FieldChange("notes", None, notes, user_id), fields)
            await writer.flush()
            count = args.keys if args.typing else args.updates
            pause = 1.0 / args.rate if args.typing and args.rate > 0 else 0.0
            clock.install()
            started_cpu = time.process_time()
            started_wall = time.monotonic()
            for number in range(count):
                if args.typing:
                    before, notes = notes, notes + "a"
                    record_id = ids[0]
                    change = FieldChange("notes", before, notes, user_id)
                else:
                    record_id = ids[number % len(ids)]
                    before = names[record_id]
                    names[record_id] = f"Ada Lovelace {number}"
                    change = FieldChange("name", before, names[record_id], user_id)
                feeder.submit(record_id, change, _fields(names[record_id], notes))
                if (number + 1) % args.batch == 0:
                    await feeder.stored()
                if pause:
                    await asyncio.sleep(pause)
            await feeder.stored()
            cpu = time.process_time() - started_cpu
            wall = time.monotonic() - started_wall
            clock.remove()
    what = f"keystrokes at {args.chars:,} characters" if args.typing else "updates of `name`"
    print(f"{count:,} {what}, {records} records, batches of {args.batch}, {database.dialect}, {wall:.1f} s")
    print(f"  process CPU per update: {cpu / count * 1e6:,.0f} us")
    if database.dialect == "sqlite":
        thread = clock.seconds / count * 1e6
        print(f"  SQLite writer thread CPU per update (in the transaction): {thread:,.0f} us")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.appender", description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100)
    parser.add_argument("--updates", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=1, help="updates submitted per flush")
    parser.add_argument("--typing", action="store_true", help="keystrokes at the end of a long text")
    parser.add_argument("--chars", type=int, default=99_000)
    parser.add_argument("--keys", type=int, default=300)
    parser.add_argument("--rate", type=float, default=20.0, help="keystrokes per second (0: at once)")
    parser.add_argument("--database-url", help="an empty database (default: a temporary SQLite file)")
    args = parser.parse_args()
    if args.database_url:
        asyncio.run(_run(args, args.database_url))
        return
    folder = Path(tempfile.mkdtemp(prefix="collab-appender-"))
    try:
        asyncio.run(_run(args, f"sqlite+aiosqlite:///{folder}/bench.db"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
