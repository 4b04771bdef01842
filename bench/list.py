"""The list API on 100,000 records: server time of `GET /api/records` pages, sorted, filtered, deep, searched.

    .venv/bin/python -m bench.list [--records 100000] [--rounds 30]
    .venv/bin/python -m bench.list --database-url postgresql://postgres@127.0.0.1:5432/test

Seeds one collection straight through SQL (records with their summaries, search text and typed values, as
the update writer keeps them; a bulk insert, not the API), runs ANALYZE as the databases' maintenance
would, then times requests to the app in this process through httpx's ASGI transport (routing, role
check, SQL, rendering: the server's whole time, no network) and prints p50 and p95 per kind of page.
SQLite by default (a temporary file); with a PostgreSQL URL a throw-away database is created on that
server and dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import logging
import random
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, select, text

from auth.principal import Principal, Role
from bench.servers import throwaway_postgres
from collab.records import list_query
from collab.records.document import summarize
from collab.records.list_query import Cursor, ListQuery, encode_cursor
from collab.records.schema import specs_from_json
from collab.services import listing
from collab.settings import Settings
from persistence.database import Database, normalise_url
from persistence.models import Collection, Record, RecordValue, Tenant, User, new_id, utcnow
from persistence.record_values import values_of
from persistence.tenant_scope import APP_ROLE, tenant_scope
from server.app import create_app

PASSWORD = "bench-password-1"
WORDS = ["panda", "koala", "lynx", "otter", "heron", "bison", "gecko", "ibis", "yak", "orca", "tapir", "wren"]
STAGES = ["lead", "prospect", "customer"]
BATCH = 2000
YEAR_SECONDS = 365 * 24 * 3600


IN_RANGE = {"f.revenue.gte": "20000", "f.revenue.lte": "40000", "f.stage.in": "lead,prospect"}


def scenarios(deep_cursor: str, second_page: str) -> list[tuple[str, dict[str, str], float]]:
    """(name, parameters, target p95 in ms): 50 ms for sorted and filtered pages, 100 ms for searches
    (`q`, and a text "contains", which reads every value of its field the same way). `second_page`: the
    cursor after the first page of "range + any-of" (its total an estimate, which the cursor carries)."""
    in_range = IN_RANGE
    return [
        ("newest first", {}, 50),
        ("sorted by text", {"sort": "name"}, 50),
        ("sorted by number, desc", {"sort": "revenue", "order": "desc"}, 50),
        ("sorted by date", {"sort": "next_call"}, 50),
        ("number range", {"f.revenue.gte": "20000", "f.revenue.lte": "40000"}, 50),
        ("any-of, by text", {"f.stage.in": "lead,prospect", "sort": "name"}, 50),
        ("within 7 days", {"updated_within_days": "7"}, 50),
        ("range + any-of", in_range, 50),
        ("range + any-of, page 2", {**in_range, "cursor": second_page}, 50),
        ("range + any-of, by number", {"sort": "revenue", **in_range}, 50),
        ("range + any-of, by text", {"sort": "name", **in_range}, 50),
        ("checkbox + within 7 days", {"f.active.is": "true", "updated_within_days": "7", "sort": "name"}, 50),
        ("empty email, by date", {"f.email.empty": "1", "sort": "next_call", "order": "desc"}, 50),
        ("deep cursor (50%)", {"sort": "revenue", "cursor": deep_cursor}, 50),
        ("text contains", {"f.name.contains": "otter gmbh 1"}, 100),
        ("search", {"q": "koala"}, 100),
        ("search, rare", {"q": "wren sa 9999"}, 100),
    ]


def fields_of(rng: random.Random, n: int) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name": f"{rng.choice(WORDS).title()} {rng.choice(['Ltd', 'GmbH', 'SA', 'Inc'])} {n}",
        "email": f"contact{n}@{rng.choice(WORDS)}.example",
        "revenue": rng.randrange(100_000),
        "stage": rng.choice(STAGES),
        "active": rng.random() < 0.5,
        "next_call": f"2025-{rng.randrange(1, 13):02}-{rng.randrange(1, 29):02}",
    }
    if rng.random() < 0.1:  # some records lack a value
        del fields[rng.choice(list(fields))]
    return fields


async def seed(database: Database, collection: Collection, count: int) -> None:
    rng = random.Random(100_000)
    started = time.perf_counter()
    moment = utcnow()
    for start in range(0, count, BATCH):
        records, values = [], []
        for n in range(start, min(start + BATCH, count)):
            fields = fields_of(rng, n)
            summary, search_text = summarize(fields)
            record_id = new_id()
            # Made and last changed some time in the past year.
            created = moment - dt.timedelta(seconds=rng.randrange(YEAR_SECONDS))
            updated = created + (moment - created) * rng.random()
            records.append(
                {
                    "id": record_id,
                    "tenant_id": collection.tenant_id,
                    "collection_id": collection.id,
                    "created_at": created,
                    "updated_at": updated,
                    "summary": summary,
                    "search_text": search_text,
                }
            )
            values += [
                {
                    "record_id": record_id,
                    "tenant_id": collection.tenant_id,
                    "collection_id": collection.id,
                    "field": field,
                    "text_value": text_value,
                    "text_folded": folded,
                    "number_value": number,
                    "date_value": day,
                    "bool_value": flag,
                }
                for field, text_value, folded, number, day, flag in values_of(summary)
            ]
        async with database.engine.begin() as connection:  # Core executemany: no ORM objects
            await connection.execute(insert(Record), records)
            await connection.execute(insert(RecordValue), values)
    # What the databases' own maintenance does to a table that grew (autovacuum on PostgreSQL also sets
    # the visibility map, without which no index-only scan is one).
    maintenance = "VACUUM ANALYZE" if database.dialect == "postgresql" else "ANALYZE"
    async with database.engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text(maintenance))
    print(f"seeded {count:,} records in {time.perf_counter() - started:.0f} s")


async def deep_cursor(database: Database, collection: Collection, count: int) -> str:
    """The cursor after the record halfway through the list sorted by revenue."""
    async with database.session() as session:
        row = (
            await session.execute(
                select(RecordValue.number_value, RecordValue.record_id)
                .where(RecordValue.collection_id == collection.id, RecordValue.field == "revenue")
                .order_by(RecordValue.number_value, RecordValue.record_id)
                .offset(count // 2)
                .limit(1)
            )
        ).one()
    query = ListQuery(sort="revenue", kind="number", descending=False)
    return encode_cursor(query, Cursor(False, row[0], row[1]))


@contextlib.asynccontextmanager
async def serving(url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        database_url=url,
        bootstrap_admin_password=PASSWORD,
        http_reads_per_second=0,
        http_searches_per_second=0,
    )
    app = create_app(settings)
    async with app.http_app.router.lifespan_context(app.http_app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            login = {"tenant": "default", "email": settings.bootstrap_admin_email, "password": PASSWORD}
            token = (await http.post("/api/auth/login", json=login)).json()["token"]
            http.headers["Authorization"] = f"Bearer {token}"
            yield http


async def run(url: str, count: int, rounds: int) -> bool:
    async with serving(url) as http, Database(url) as database, contextlib.AsyncExitStack() as stack:
        async with database.session() as session:
            tenant = (await session.scalars(select(Tenant).where(Tenant.slug == "default"))).one()
            collection = (
                await session.scalars(
                    select(Collection).where(
                        Collection.tenant_id == tenant.id, Collection.name == "customers"
                    )
                )
            ).one()
            owner = (await session.scalars(select(User).where(User.tenant_id == tenant.id))).first()
        assert owner is not None
        principal = Principal(
            owner.id, tenant.id, tenant.slug, owner.email, owner.name, Role(owner.role), "bench"
        )
        await seed(database, collection, count)
        role = APP_ROLE if database.dialect == "postgresql" else None
        app_database = await stack.enter_async_context(Database(url, role=role))
        cursor = await deep_cursor(database, collection, count)
        first = await http.get("/api/records", params={"collection": "customers", **IN_RANGE})
        second_page = first.raise_for_status().json()["next_cursor"]
        print(f"{database.dialect}, {count:,} records, {rounds} requests each (limit 50), in ms:")
        print("request: the whole GET in the app; CPU: this process's CPU time for it (the app, and SQLite,")
        print("which runs in it; PostgreSQL's own is not included), steadier than wall time on a busy")
        print("machine; list SQL: the listing's queries alone (total and page); ~: the total is an estimate")
        print(
            f"{'page':>28} {'total':>8} {'p50':>7} {'p95':>7} {'CPU p50':>8} {'SQL p50':>8} {'SQL p95':>8}"
            f" {'target':>7}"
        )
        met = True
        specs = specs_from_json(collection.fields)
        for name, params, target in scenarios(cursor, second_page):
            timings, cpu, sql, total = [], [], [], ""
            for _ in range(rounds):
                started, used = time.perf_counter(), time.process_time()
                response = await http.get("/api/records", params={"collection": "customers", **params})
                timings.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - used) * 1000)
                response.raise_for_status()
                body = response.json()
                total = ("~" if body.get("total_is_estimate") else "") + str(body["total"])
                query = list_query.parse(specs, params)
                # As the app runs it: its role (row-level security) and the tenant's scope.
                with tenant_scope(tenant.id):
                    async with app_database.session() as session, session.begin():
                        started = time.perf_counter()
                        await listing.page(session, database.dialect, principal, collection, query)
                        sql.append((time.perf_counter() - started) * 1000)
            p50, p95 = _percentiles(timings)
            met &= p95 <= target
            flag = "" if p95 <= target else "  MISSED"
            sql50, sql95 = _percentiles(sql)
            cpu50, _ = _percentiles(cpu)
            row = f"{p50:>7.1f} {p95:>7.1f} {cpu50:>8.1f} {sql50:>8.1f} {sql95:>8.1f} {target:>7.0f}{flag}"
            print(f"{name:>28} {total:>8} {row}")
        return met


def _percentiles(timings: list[float]) -> tuple[float, float]:
    ordered = sorted(timings)
    return statistics.median(ordered), ordered[max(0, round(len(ordered) * 0.95) - 1)]


@contextlib.contextmanager
def database_url(given: str | None) -> Iterator[str]:
    if given is not None and normalise_url(given).get_backend_name() == "postgresql":
        with throwaway_postgres(normalise_url(given).render_as_string(hide_password=False)) as url:
            yield url
        return
    if given is not None:
        yield given
        return
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--database-url", help="PostgreSQL: a throw-away database is made on its server")
    options = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with database_url(options.database_url) as url:
        met = asyncio.run(run(url, options.records, options.rounds))
    raise SystemExit(0 if met else 1)


if __name__ == "__main__":
    main()
