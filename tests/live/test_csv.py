"""CSV import and CSV/JSON export (issue 16): SQLite and PostgreSQL, a real server in this process."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from collab.services import export, listing
from tests.support.app_server import AppServer
from tests.support.live_server import LiveServer, running
from tests.support.sse import FeedClient

FIELDS = [
    {"key": "name", "label": "Name", "type": "text"},
    {"key": "rate", "label": "Rate", "type": "number"},
    {"key": "active", "label": "Active", "type": "boolean"},
    {"key": "start", "label": "Start", "type": "date"},
    {"key": "stage", "label": "Stage", "type": "select", "options": ["lead", "customer"]},
    {"key": "notes", "label": "Notes", "type": "richtext"},
]
HEADER = "Name,Rate,Active,Start,Stage,Notes\r\n"


@pytest.fixture
async def server(database_url: str, tmp_path: Path) -> AsyncIterator[LiveServer]:
    """Import and export budgets off: these tests import and export more often than a person would."""
    env = {"COLLAB_HTTP_IMPORTS_PER_SECOND": "0", "COLLAB_HTTP_EXPORTS_PER_SECOND": "0"}
    async with running(AppServer(database_url, tmp_path / "server.log", env)) as started:
        yield started


async def _collection(http: httpx.AsyncClient, name: str) -> None:
    made = await http.post("/api/collections", json={"name": name, "label": name.title(), "fields": FIELDS})
    assert made.status_code == 201, made.text


async def _commit(
    http: httpx.AsyncClient, name: str, body: str | bytes, **params: str
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The progress lines and the outcome of a committed import."""
    lines: list[dict[str, Any]] = []
    async with http.stream(
        "POST",
        f"/api/collections/{name}/import",
        params={"mode": "commit", **params},
        content=body.encode() if isinstance(body, str) else body,
        headers={"content-type": "text/csv"},
        timeout=120,
    ) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("application/x-ndjson")
        async for line in response.aiter_lines():
            if line:
                lines.append(json.loads(line))
    return lines[:-1], lines[-1]


async def _preview(http: httpx.AsyncClient, name: str, body: str, **params: str) -> httpx.Response:
    return await http.post(
        f"/api/collections/{name}/import",
        params=params,
        content=body.encode(),
        headers={"content-type": "text/csv"},
    )


async def _all(http: httpx.AsyncClient, name: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"collection": name, "limit": "200", "sort": "created_at", "order": "asc"}
        page = (await http.get("/api/records", params=params | ({"cursor": cursor} if cursor else {}))).json()
        found += page["records"]
        cursor = page["next_cursor"]
        if cursor is None:
            return found


async def test_ten_thousand_rows_import_with_progress_attributed_to_the_importer(server: LiveServer) -> None:
    admin = await server.login()
    editor = await server.add_user("ed@example.com", "editor")
    async with server.client(admin) as http:
        await _collection(http, "people")
    rows = [
        f"Person {n},{n % 97}.5,{'yes' if n % 2 else 'no'},2024-01-{1 + n % 28:02d},"
        f"{'lead' if n % 3 else 'Customer'},"
        f'"Line one of {n}\nline two, with a comma"\r\n'
        for n in range(10_000)
    ]
    body = HEADER + "".join(rows)
    async with FeedClient(server.base_url, editor, "people") as feed, server.client(editor) as http:
        started = time.perf_counter()
        progress, outcome = await _commit(http, "people", body)
        took = time.perf_counter() - started
        print(f"imported 10,000 rows in {took:.2f} s ({server.database_url.split(':')[0]})")
        assert outcome["created"] == 10_000 and outcome["skipped"] == 0 and outcome["errors"] == []
        assert progress[0] == {"done": 0, "total": 10_000}
        dones = [line["done"] for line in progress]
        assert dones == sorted(dones) and dones[-1] == 10_000 and len(dones) > 10  # batch by batch
        # Every record is announced to open lists, as a create is.
        created = 0
        while created < 10_000:
            event = await feed.next(within=30)
            if event.type == "record.created":
                created += 1
                assert event.data["by"]["email"] == "ed@example.com"
        listed = (await http.get("/api/records", params={"collection": "people", "q": "person 4242"})).json()
        assert listed["total"] == 1
        record = listed["records"][0]
        assert record["fields"] == {
            "name": "Person 4242",
            "rate": 71.5,
            "active": False,
            "start": "2024-01-15",
            "stage": "customer",
            "notes": "Line one of 4242\nline two, with a comma",
        }
        assert record["created_by"]["email"] == "ed@example.com"
        assert record["updated_by"]["email"] == "ed@example.com"
        history = (await http.get(f"/api/records/{record['id']}/history")).json()
        authors = {change["user"]["email"] for change in history["changes"]}
        assert authors == {"ed@example.com"}, history
        total = (await http.get("/api/records", params={"collection": "people", "limit": "1"})).json()[
            "total"
        ]
        assert total == 10_000
        # The stored document is the record: a full GET reads it.
        got = (await http.get(f"/api/records/{record['id']}")).json()
        assert got["fields"] == record["fields"]


BAD = (
    HEADER
    + "Ada,10,yes,2024-01-01,lead,\r\n"
    + "Bob,ten,yes,2024-01-01,lead,\r\n"  # row 2: not a number
    + "Cy,3,maybe,2024-02-30,lead,\r\n"  # row 3: neither a boolean nor a day
    + "Di,4,no,,lead,\r\n"
    + "Ed,5,1,2024-03-03,stranger,\r\n"  # row 5: no such option
)


async def test_preview_names_each_bad_row_and_refuse_creates_nothing_while_skip_creates_the_rest(
    server: LiveServer,
) -> None:
    admin = await server.login()
    async with server.client(admin) as http:
        await _collection(http, "people")
        preview = await _preview(http, "people", BAD)
        assert preview.status_code == 200, preview.text
        answer = preview.json()
        assert answer["total_rows"] == 5 and answer["valid_rows"] == 2 and answer["invalid_rows"] == 3
        assert {(e["row"], e["field"]) for e in answer["errors"]} == {
            (2, "rate"),
            (3, "active"),
            (3, "start"),
            (5, "stage"),
        }
        assert answer["headers"] == ["Name", "Rate", "Active", "Start", "Stage", "Notes"]
        assert answer["mapping"] == {h: h.lower() for h in answer["headers"]}  # guessed from the labels
        assert [row["fields"]["name"] for row in answer["sample"]] == ["Ada", "Di"]
        assert answer["sample"][0]["fields"] == {
            "name": "Ada",
            "rate": 10,
            "active": True,
            "start": "2024-01-01",
            "stage": "lead",
        }
        assert (await http.get("/api/records", params={"collection": "people"})).json()["total"] == 0

        _, refused = await _commit(http, "people", BAD, on_error="refuse")
        assert refused["refused"] is True and refused["created"] == 0 and len(refused["errors"]) == 4
        assert (await http.get("/api/records", params={"collection": "people"})).json()["total"] == 0

        _, skipped = await _commit(http, "people", BAD, on_error="skip")
        assert skipped["created"] == 2 and skipped["skipped"] == 3 and skipped["refused"] is False
        names = sorted(r["fields"]["name"] for r in await _all(http, "people"))
        assert names == ["Ada", "Di"]

        many = (await _preview(http, "people", HEADER + "X,bad,,,,\r\n" * 250)).json()
        assert many["invalid_rows"] == 250 and len(many["errors"]) == 200 and many["more_errors"] == 50

        # All valid: refuse creates every row, in one transaction.
        _, whole = await _commit(http, "people", HEADER + "Fay,1,no,,,\r\nGus,2,no,,,\r\n", on_error="refuse")
        assert whole["created"] == 2 and whole["refused"] is False


async def test_a_mapping_chooses_columns_and_bad_input_is_a_typed_error(server: LiveServer) -> None:
    admin = await server.login()
    viewer = await server.add_user("vi@example.com", "viewer")
    async with server.client(admin) as http:
        await _collection(http, "people")
        semicolons = "\ufeffFull name;Score;Ignored\r\nAda;1,5;x\r\nBob;2;y\r\n"
        mapping = json.dumps({"Full name": "name", "Ignored": None})
        answer = (await _preview(http, "people", semicolons, mapping=mapping)).json()
        assert answer["headers"] == ["Full name", "Score", "Ignored"]  # the BOM is not part of a name
        assert answer["valid_rows"] == 2 and answer["mapping"] == {"Full name": "name"}

        cases = {
            "not UTF-8": ("Name\r\n\xe9t\xe9\r\n".encode("latin-1"), {}),
            "unknown column": (b"Name\r\nAda\r\n", {"mapping": json.dumps({"Nom": "name"})}),
            "unknown field": (b"Name\r\nAda\r\n", {"mapping": json.dumps({"Name": "nom"})}),
            "mapping not JSON": (b"Name\r\nAda\r\n", {"mapping": "{"}),
            "nothing mapped": (b"Other\r\nAda\r\n", {}),
            "too many rows": (("Name\r\n" + "x\r\n" * 10_001).encode(), {}),
            "a row too wide": (b"Name\r\nAda,1\r\n", {}),
            "empty": (b"", {}),
        }
        for case, (body, params) in cases.items():
            response = await http.post(
                "/api/collections/people/import",
                params=params,
                content=body,
                headers={"content-type": "text/csv"},
            )
            assert response.status_code == 400, (case, response.text)
            assert response.json()["error"] in ("invalid_csv", "bad_request"), case
        wrong_type = await http.post(
            "/api/collections/people/import",
            content=b"Name\r\nAda\r\n",
            headers={"content-type": "text/plain"},
        )
        assert wrong_type.status_code == 415
        too_big = await http.post(
            "/api/collections/people/import",
            content=b"Name\r\n" + b"x" * (20 * 1024 * 1024),
            headers={"content-type": "text/csv"},
        )
        assert too_big.status_code == 413  # declared too long: refused before it is read
        other_path = await http.post("/api/records", content=b"a,b", headers={"content-type": "text/csv"})
        assert other_path.status_code == 415  # CSV is taken at the import only
        assert (await _preview(http, "nosuch", "Name\r\nAda\r\n")).status_code == 404
        bad_mode = await _preview(http, "people", "Name\r\nAda\r\n", mode="later")
        assert bad_mode.status_code == 400
    async with server.client(viewer) as http:
        assert (await _preview(http, "people", "Name\r\nAda\r\n")).status_code == 403
        assert (await http.get("/api/collections/people/export")).status_code == 200  # readers export
    # Another tenant's collection answers like a missing one.
    await server.cli("tenant", "add", "acme")
    acme = await server.add_user("boss@acme.example", "admin", tenant="acme")
    async with server.client(acme) as http:
        assert (await _preview(http, "people", "Name\r\nAda\r\n")).status_code == 404
        assert (await http.get("/api/collections/people/export")).status_code == 404


TRICKY: list[dict[str, Any]] = [
    {"name": "=SUM(A1:A9)", "rate": -5, "active": True, "start": "2024-02-29", "stage": "lead"},
    {"name": "'=quoted already", "rate": 0.25, "active": False, "notes": "x" * 450 + " **bold**"},
    {"name": "-5", "rate": 1e15, "stage": "customer", "notes": 'He said "hi", then\nleft; twice'},
    {"name": "+33 1 23 45", "notes": "@mention\tand tab"},
    {"name": 'Zoë, the "best"', "rate": 3},
    {"name": "''", "active": True},
    {},
]


def _rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))


async def test_an_export_imports_back_to_the_same_values_and_formulas_are_escaped(server: LiveServer) -> None:
    admin = await server.login()
    async with server.client(admin) as http:
        await _collection(http, "people")
        await _collection(http, "copy")
        for fields in TRICKY:
            made = await http.post("/api/records", json={"collection": "people", "fields": fields})
            assert made.status_code == 201, made.text
        first = await http.get("/api/collections/people/export", params={"format": "csv", "sort": "name"})
        assert first.status_code == 200
        assert first.headers["content-type"].startswith("text/csv")
        disposition = first.headers["content-disposition"]
        assert disposition.startswith('attachment; filename="people-') and disposition.endswith('.csv"')
        rows = _rows_of(first.text)
        assert rows[0] == ["id", "Name", "Rate", "Active", "Start", "Stage", "Notes"]
        cells = {row[1] for row in rows[1:]}
        assert "'=SUM(A1:A9)" in cells and "''=quoted already" in cells and "'+33 1 23 45" in cells
        assert "-5" in cells  # a plain number is no formula
        assert all(not cell.startswith(("=", "+", "@")) for row in rows[1:] for cell in row)

        _, outcome = await _commit(http, "copy", first.text.encode("utf-8"), on_error="refuse")
        assert outcome["created"] == len(TRICKY), outcome
        again = await http.get("/api/collections/copy/export", params={"format": "csv", "sort": "name"})
        assert [row[1:] for row in _rows_of(again.text)] == [row[1:] for row in rows]

        originals = (await http.get("/api/collections/people/export", params={"format": "json"})).json()
        copies = (await http.get("/api/collections/copy/export", params={"format": "json"})).json()
        key = json.dumps
        assert sorted(key(item["fields"], sort_keys=True) for item in copies) == sorted(
            key(item["fields"], sort_keys=True) for item in originals
        )
        long_notes = next(item for item in originals if (item["fields"]["notes"] or "").startswith("xxx"))
        assert long_notes["fields"]["notes"] == "x" * 450 + " **bold**"  # whole, not the list's summary


async def test_an_export_is_the_view_read_batch_by_batch(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = await server.login()
    async with server.client(admin) as http:
        await _collection(http, "people")
        body = HEADER + "".join(f"P{n:02d},{n},{'yes' if n % 2 else 'no'},,,\r\n" for n in range(30))
        assert (await _commit(http, "people", body))[1]["created"] == 30
        pages: list[int] = []
        page = listing.page

        async def counted(*args: Any, **kwargs: Any) -> listing.Page:
            found = await page(*args, **kwargs)
            pages.append(len(found.records))
            return found

        monkeypatch.setattr(export, "BATCH_ROWS", 4)
        monkeypatch.setattr(listing, "page", counted)
        params = {
            "format": "csv",
            "sort": "rate",
            "order": "desc",
            "f.active.is": "true",
            "columns": "rate,name",
        }
        response = await http.get("/api/collections/people/export", params=params)
        assert response.status_code == 200, response.text
        rows = _rows_of(response.text)
        assert rows[0] == ["id", "Rate", "Name"]
        assert [row[1:] for row in rows[1:]] == [[str(n), f"P{n:02d}"] for n in range(29, 0, -2)]
        assert pages == [4, 4, 4, 3]  # never more than a batch at once
        for params in ({"format": "xml"}, {"columns": "rate,nope"}, {"sort": "nope"}, {"f.rate.gte": "x"}):
            assert (await http.get("/api/collections/people/export", params=params)).status_code == 400


async def test_unique_values_and_references_are_checked_as_a_create_checks_them(server: LiveServer) -> None:
    admin = await server.login()
    await server.add_user("ann@example.com", "editor")
    fields = [
        {"key": "code", "label": "Code", "type": "text", "unique": True},
        {"key": "owner", "label": "Owner", "type": "person"},
        {"key": "email", "label": "Email", "type": "email"},
    ]
    async with server.client(admin) as http:
        made = await http.post(
            "/api/collections", json={"name": "things", "label": "Things", "fields": fields}
        )
        assert made.status_code == 201, made.text
        held = await http.post("/api/records", json={"collection": "things", "fields": {"code": "A1"}})
        assert held.status_code == 201, held.text
        ann = next(
            u for u in (await http.get("/api/admin/users")).json()["users"] if u["email"] == "ann@example.com"
        )
        body = (
            "Code,Owner,Email\r\n"
            " a1 ,,\r\n"  # row 1: held by the record above (compared trimmed, in any case)
            "B2,ANN@example.com,b@example.com\r\n"
            "b2,,\r\n"  # row 3: the same as row 2
            "C3,nobody-such-id,\r\n"  # row 4: no such user
            "D4,,not an address\r\n"  # row 5: not an email
            "E5,,\r\n"
        )
        preview = (await _preview(http, "things", body)).json()
        problems = {(e["row"], e["field"]): e["message"] for e in preview["errors"]}
        assert set(problems) == {(1, "code"), (3, "code"), (4, "owner"), (5, "email")}, problems
        assert "already used by" in problems[(1, "code")] and "row 2" in problems[(3, "code")]
        assert preview["valid_rows"] == 2
        _, outcome = await _commit(http, "things", body)
        assert outcome["created"] == 2 and outcome["skipped"] == 4
        owned = [r for r in await _all(http, "things") if r["fields"].get("code") == "B2"]
        assert owned[0]["fields"]["owner"] == ann["id"]  # named by email, stored by id
        again = await http.post("/api/records", json={"collection": "things", "fields": {"code": "e5"}})
        assert again.status_code == 409  # the imported value is claimed like a created one


async def test_decimals_lists_people_and_links_round_trip(server: LiveServer) -> None:
    admin = await server.login()
    async with server.client(admin) as http:
        projects = [{"key": "title", "label": "Title", "type": "text"}]
        made = await http.post(
            "/api/collections", json={"name": "projects", "label": "P", "fields": projects}
        )
        assert made.status_code == 201, made.text
        fields = [
            {"key": "name", "label": "Name", "type": "text"},
            {"key": "rate", "label": "Rate", "type": "decimal", "scale": 2},
            {"key": "tags", "label": "Tags", "type": "multiselect", "options": ["red", "blue", "-x"]},
            {"key": "owner", "label": "Owner", "type": "person"},
            {"key": "projects", "label": "Projects", "type": "link", "target": "projects", "many": True},
        ]
        for name in ("people", "copy"):
            made = await http.post("/api/collections", json={"name": name, "label": name, "fields": fields})
            assert made.status_code == 201, made.text
        me = (await http.get("/api/auth/me")).json()["user"]["id"]
        ids = []
        for title in ("Apollo", "Gemini"):
            project = await http.post(
                "/api/records", json={"collection": "projects", "fields": {"title": title}}
            )
            ids.append(project.json()["id"])
        rows = [
            {"name": "Ada", "rate": "6000.00", "tags": ["red", "blue"], "owner": me, "projects": ids},
            {"name": "Bob", "rate": "-0.50", "tags": ["-x"], "projects": ids[:1]},
            {"name": "Cy", "rate": "7", "tags": []},
        ]
        for fields_of_row in rows:
            made = await http.post("/api/records", json={"collection": "people", "fields": fields_of_row})
            assert made.status_code == 201, made.text
        exported = await http.get("/api/collections/people/export", params={"sort": "name"})
        cells = _rows_of(exported.text)
        assert cells[1][1:3] == ["Ada", "6000.00"] and cells[1][3] == "red; blue"
        assert cells[2][2:4] == ["-0.50", "'-x"]  # a decimal is a number; a list that starts with "-" is not
        assert cells[1][5] == "; ".join(ids)
        _, outcome = await _commit(http, "copy", exported.text.encode(), on_error="refuse")
        assert outcome["created"] == 3, outcome
        again = await http.get("/api/collections/copy/export", params={"sort": "name"})
        assert [row[1:] for row in _rows_of(again.text)] == [row[1:] for row in cells]
        copies = (
            await http.get("/api/collections/copy/export", params={"format": "json", "sort": "name"})
        ).json()
        assert copies[0]["fields"] == rows[0] | {"rate": "6000.00"}
        assert copies[2]["fields"]["rate"] == "7.00"  # stored canonical, as an HTTP create stores it


async def test_a_link_cell_names_records_by_id_or_by_title(server: LiveServer) -> None:
    """A title matches exactly but in any case, live records only, the id first; a title several records
    have, or none, is an error of its row. A link column costs one lookup, however many rows it has."""
    admin = await server.login()
    async with server.client(admin) as http:
        projects = [{"key": "title", "label": "Title", "type": "text"}]
        made = await http.post(
            "/api/collections", json={"name": "projects", "label": "P", "fields": projects}
        )
        assert made.status_code == 201, made.text
        fields = [
            {"key": "name", "label": "Name", "type": "text"},
            {"key": "projects", "label": "Projects", "type": "link", "target": "projects", "many": True},
        ]
        made = await http.post(
            "/api/collections", json={"name": "people", "label": "People", "fields": fields}
        )
        assert made.status_code == 201, made.text

        async def project(title: str) -> str:
            answer = await http.post(
                "/api/records", json={"collection": "projects", "fields": {"title": title}}
            )
            assert answer.status_code == 201, answer.text
            found: str = answer.json()["id"]
            return found

        apollo, gemini, gemini_too, vostok = [
            await project(t) for t in ("Apollo", "Gemini", "gemini", "Vostok")
        ]
        named_like_an_id = await project(apollo)  # a title that is another record's id
        assert (await http.delete(f"/api/records/{vostok}")).status_code in (200, 204)
        body = (
            "Name,Projects\r\n"
            "Ada,apollo\r\n"  # 1: by title, in another case
            f"Bob,{apollo}; Vostok\r\n"  # 2: an id, and a deleted record's title (no such live record)
            "Cy,Gemini\r\n"  # 3: two records have it
            "Di,Mercury\r\n"  # 4: nobody has it
            f"Ed,{gemini}; APOLLO\r\n"  # 5: an id and a title
            f"Fay,{apollo}\r\n"  # 6: an id and a title: the id wins
            f"Gus,{apollo.upper()}\r\n"  # 7: no id (ids are lower case), the title of `named_like_an_id`
        )
        preview = (await _preview(http, "people", body)).json()
        problems = {e["row"]: e["message"] for e in preview["errors"]}
        assert set(problems) == {2, 3, 4}, problems
        assert "2 records" in problems[3] and "Gemini" in problems[3]
        assert "«Mercury»" in problems[4] and "«Vostok»" in problems[2]
        statements: list[str] = []

        def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            statements.append(statement)

        event.listen(Engine, "before_cursor_execute", seen)
        try:
            _, outcome = await _commit(http, "people", body)
        finally:
            event.remove(Engine, "before_cursor_execute", seen)
        assert outcome["created"] == 4 and outcome["skipped"] == 3, outcome
        assert len([s for s in statements if "record_values.text_folded IN" in s]) == 1
        stored = {r["fields"]["name"]: r["fields"].get("projects") for r in await _all(http, "people")}
        assert stored == {
            "Ada": [apollo],
            "Ed": [gemini, apollo],
            "Fay": [apollo],
            "Gus": [named_like_an_id],
        }
        assert gemini_too not in str(stored)
