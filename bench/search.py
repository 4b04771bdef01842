"""Search as you type on 10,000 records: time to first results of `GET /api/records?q=` over HTTP.

    .venv/bin/python -m bench.search [--records 10000]

Starts a throw-away `collab serve` on SQLite, writes the records' rows straight into its database (names
and notes from a small vocabulary, summaries and search text as the update writer keeps them), then asks
for typical prefixes the way the browser's debounced search does and prints the latency percentiles.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from bench.servers import CollabServer
from collab.records.document import summarize
from persistence.models import Collection, Record

WORDS = ["panda", "koala", "lynx", "otter", "heron", "bison", "gecko", "ibis", "yak", "orca", "tapir", "wren"]
QUERIES = ["p", "pa", "pan", "panda", "koala ltd", "otter 12", "zzz", "gmbh", "o", "wren 9999"]
ROUNDS = 20


def fill(database_url: str, count: int) -> None:
    engine = create_engine(database_url.replace("+aiosqlite", ""))
    rng = random.Random(10_000)
    with Session(engine) as session:
        collection = session.scalars(select(Collection).where(Collection.name == "customers")).one()
        for n in range(count):
            fields = {
                "name": f"{rng.choice(WORDS).title()} {rng.choice(['Ltd', 'GmbH', 'SA', 'Inc'])} {n}",
                "notes": " ".join(rng.choice(WORDS) for _ in range(40)),
                "revenue": rng.randrange(100_000),
            }
            summary, search_text = summarize(fields)
            session.add(
                Record(
                    tenant_id=collection.tenant_id,
                    collection_id=collection.id,
                    summary=summary,
                    search_text=search_text,
                )
            )
        session.commit()
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    count = parser.parse_args().records
    with tempfile.TemporaryDirectory() as folder:
        collab = CollabServer(Path(folder), connections_per_user=20)
        server = collab.start(rooms=1, clients_per_room=1)
        try:
            fill(collab.database_url, count)
            base = server.peer_urls[0][0].split("/ws/")[0].replace("ws://", "http://")
            headers = {"Authorization": f"Bearer {collab.tokens[0]}"}
            with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
                print(f"{count:,} records; {ROUNDS} requests per query (limit 50, newest first)")
                print(f"{'query':>12} {'results':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
                for query in QUERIES:
                    timings, found = [], 0
                    for _ in range(ROUNDS):
                        started = time.perf_counter()
                        response = http.get("/api/records", params={"collection": "customers", "q": query})
                        timings.append((time.perf_counter() - started) * 1000)
                        found = len(response.json()["records"])
                    timings.sort()
                    p95 = timings[int(len(timings) * 0.95) - 1]
                    p50 = statistics.median(timings)
                    print(f"{query:>12} {found:>8} {p50:>8.1f} {p95:>8.1f} {timings[-1]:>8.1f}")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
