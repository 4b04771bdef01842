"""Hostile HTTP input against a live server, on SQLite and PostgreSQL: typed 4xx answers, nothing changed,
nothing stuck, no traceback; and rows that already hold Infinity or NaN are read as null.

One server per database for every check (and one restart, to reload the record from storage).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text

from persistence.database import Database
from tests.support.server_process import ServerProcess
from tests.support.sse import FeedClient
from tests.support.yclient import YClient

DEEP = 100_000

# Raw bodies: the point is what the client sends byte for byte, not what Python's json would write.
HOSTILE_PATCHES: list[tuple[str, str | bytes, set[int]]] = [
    ("2^64", '{"fields": {"name": "A", "revenue": 18446744073709551616}}', {422}),
    ("2^53", '{"fields": {"name": "A", "revenue": 9007199254740992}}', {422}),
    ("1e999", '{"fields":{"revenue":1e999}}', {400}),
    ("Infinity", '{"fields": {"name": "A", "revenue": Infinity}}', {400}),
    ("-Infinity", '{"fields": {"revenue": -Infinity}}', {400}),
    ("NaN", '{"fields": {"revenue": NaN}}', {400}),
    ("lone surrogate", '{"fields": {"name": "x\\ud800y"}}', {400, 422}),
    ("lone surrogate date", '{"fields": {"next_call": "\\udc00"}}', {400, 422}),
    ("lone surrogate key", '{"fields": {"\\ud800": 1}}', {400, 422}),
    ("compact date", '{"fields": {"next_call": "20200101"}}', {422}),
    ("week date", '{"fields": {"next_call": "2020-W01-1"}}', {422}),
    ("deep", '{"fields": ' + "[" * DEEP + "]" * DEEP + "}", {400}),
    ("deep object", '{"fields": {"name": ' + '{"a":' * 100 + "1" + "}" * 100 + "}}", {400}),
    ("not JSON", '{"fields": {"name": "A",', {400}),
    ("not UTF-8", b'{"fields": {"name": "\xff\xfe"}}', {400}),
]


def legacy_json(dialect: str, value: str) -> str:
    """A JSON text holding a number the old code let through: SQLite stored `Infinity` as it came,
    PostgreSQL's json takes `1e999` (read back as infinity)."""
    return value.replace("BIG", "Infinity" if dialect == "sqlite" else "1e999")


async def answer(http: httpx.AsyncClient, method: str, url: str, body: str | bytes) -> httpx.Response:
    content = body.encode() if isinstance(body, str) else body
    headers = {"Content-Type": "application/json", "If-Match": "*"}
    return await http.request(method, url, content=content, headers=headers)


async def record_of(http: httpx.AsyncClient, record_id: str) -> tuple[dict[str, Any], str]:
    response = await http.get(f"/api/records/{record_id}")
    assert response.status_code == 200, response.text
    return response.json()["fields"], response.headers["etag"]


@pytest.mark.server_process  # restarted: the record reloads from storage
async def test_hostile_input_gets_typed_4xx_and_leaves_everything_working(live_server: ServerProcess) -> None:
    token = await live_server.login()
    record = await live_server.create_record(token, {"name": "Hostile", "revenue": 1})
    legacy = await live_server.create_record(token, {"name": "Legacy", "revenue": 7})
    editor = await YClient(f"{live_server.ws_url}/{record}", token).connect()  # the room is live

    async with live_server.client(token) as http:
        before = await record_of(http, record)
        for name, body, statuses in HOSTILE_PATCHES:
            response = await answer(http, "PATCH", f"/api/records/{record}", body)
            assert response.status_code in statuses, (name, response.status_code, response.text)
            assert response.json()["error"] in ("bad_request", "invalid"), name
            assert await record_of(http, record) == before, name
        async with live_server.client() as anonymous:  # before authentication too
            for name, body in [
                ("deep", "[" * DEEP + "]" * DEEP),
                ("deep object", '{"email": ' + '{"a":' * DEEP + "1" + "}" * DEEP + "}"),
                ("Infinity", '{"tenant": "default", "email": Infinity, "password": "x"}'),
                ("lone surrogate", '{"tenant": "default", "email": "\\ud800@x", "password": "x"}'),
            ]:
                response = await answer(anonymous, "POST", "/api/auth/login", body)
                assert response.status_code == 400, (name, response.text)
                assert response.json()["error"] == "bad_request"

        # Nothing is stuck: a later PATCH is stored and reaches the live editor, a live edit is saved.
        patched = await http.patch(
            f"/api/records/{record}", json={"fields": {"revenue": 2}}, headers={"If-Match": "*"}
        )
        assert patched.status_code == 200, patched.text
        await editor.wait_until(lambda: editor.fields.get("revenue") == 2, "the PATCH, live")
        editor.fields["stage"] = "customer"
        await editor.wait_saved()
        await editor.close()
        fields, tag = await record_of(http, record)
        assert fields == {"name": "Hostile", "revenue": 2, "stage": "customer"}

    # Rows written before the checks existed: the list, the history and the feed read them as null.
    async with Database(live_server.database_url) as database, database.engine.begin() as connection:
        dialect = database.dialect
        await connection.execute(
            text("UPDATE records SET summary = :summary WHERE id = :id"),
            {"summary": legacy_json(dialect, '{"name": "Legacy", "revenue": BIG}'), "id": legacy},
        )
        await connection.execute(
            text("UPDATE events SET fields = :fields WHERE record_id = :id"),
            {"fields": legacy_json(dialect, '{"name": "Legacy", "revenue": -BIG}'), "id": legacy},
        )
        await connection.execute(
            text("UPDATE changes SET after = :after WHERE record_id = :id AND field = 'revenue'"),
            {"after": legacy_json(dialect, "BIG"), "id": legacy},
        )

    await live_server.restart()  # the record's room reloads from storage
    token = await live_server.login()
    async with live_server.client(token) as http:
        assert await record_of(http, record) == (fields, tag)
        listed = await http.get("/api/records", params={"collection": "customers"})
        assert listed.status_code == 200, listed.text
        rows = {row["id"]: row for row in listed.json()["records"]}
        assert rows[legacy]["fields"] == {"name": "Legacy", "revenue": None}
        history = await http.get(f"/api/records/{legacy}/history")
        assert history.status_code == 200, history.text
        revenue = [entry["after"] for entry in history.json()["changes"] if entry["field"] == "revenue"]
        assert revenue == [None]
        for row in rows:
            assert (await http.get(f"/api/records/{row}")).status_code == 200
    async with FeedClient(live_server.base_url, token, "customers", last_event_id=0) as feed:
        assert feed.status == 200
        events = await feed.collect(2, types=("record.created",))
    legacy_event = next(event for event in events if event.data["record"] == legacy)
    assert legacy_event.data["fields"] == {"name": "Legacy", "revenue": None}

    log = live_server.log_path.read_text(errors="replace")
    assert "Traceback" not in log, live_server.log_tail(60)
