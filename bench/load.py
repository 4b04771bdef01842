"""Room load time against log length: with snapshots, loading reads one snapshot and the rows after it.

    .venv/bin/python -m bench.load [--lengths 1000,10000,100000]

For each log length, one record gets that many real updates (map sets and text inserts from a pycrdt
client) through the update writer, with the server's snapshot policy (every 500 stored updates); then the
room is loaded cold several times and the median time is printed, with and without snapshots.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from pycrdt import Doc, Map, Text

from collab.origin import Origin, OriginKind
from collab.store.snapshotter import load_document, take_snapshot
from collab.store.writer import SqlUpdateWriter
from collab.store.writes import PendingWrite
from persistence.database import Database
from persistence.models import Collection, Record, Tenant

SNAPSHOT_EVERY = 500
LOADS = 5


def updates(count: int) -> list[bytes]:
    doc: Doc = Doc()
    fields = doc.get("fields", type=Map)
    fields["notes"] = Text()
    out = []
    for n in range(count):
        before = doc.get_state()
        if n % 2:
            fields[f"k{n % 50}"] = n
        else:
            fields["notes"].insert(0, "x")
        out.append(doc.get_update(before))
    return out


async def measure(length: int, folder: Path) -> tuple[float, float]:
    async with Database(f"sqlite:///{folder / f'load-{length}.db'}") as database:
        await database.migrate()
        async with database.session() as session:
            tenant = Tenant(slug="t", name="t")
            session.add(tenant)
            await session.flush()
            collection = Collection(tenant_id=tenant.id, name="c", label="c", fields=[])
            session.add(collection)
            await session.flush()
            records = [Record(tenant_id=tenant.id, collection_id=collection.id) for _ in range(2)]
            session.add_all(records)
            await session.commit()
        plain, snapped = records[0].id, records[1].id
        origin = Origin(OriginKind.LIVE, None, None)
        async with SqlUpdateWriter(database) as writer:
            for n, update in enumerate(updates(length), start=1):
                for record_id in (plain, snapped):
                    writer.submit(PendingWrite(record_id, update, origin, b""))
                if n % SNAPSHOT_EVERY == 0:
                    await writer.flush()
                    await take_snapshot(database, snapped, "auto")
            await writer.flush()
        timings = {}
        for record_id in (plain, snapped):
            runs = []
            for _ in range(LOADS):
                started = time.perf_counter()
                await load_document(database, record_id)
                runs.append(time.perf_counter() - started)
            timings[record_id] = statistics.median(runs) * 1000
        return timings[plain], timings[snapped]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="1000,10000,50000")
    lengths = [int(n) for n in parser.parse_args().lengths.split(",")]
    with tempfile.TemporaryDirectory() as folder:
        print(f"{'log length':>12} {'load, log only (ms)':>22} {'load, with snapshots (ms)':>28}")
        for length in lengths:
            plain, snapped = await measure(length, Path(folder))
            print(f"{length:>12,} {plain:>22.1f} {snapped:>28.1f}")


if __name__ == "__main__":
    asyncio.run(main())
