"""`GET /api/records`: sorts, filters, total and keyset cursor, from the typed values stored per commit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.support.live_server import LiveServer
from tests.support.yclient import YClient

# (name, email, revenue, stage, active, next_call): ties and empties in every column.
ROWS: list[tuple[Any, ...]] = [
    ("Ada", "ada@example.com", 300, "lead", True, "2024-03-01"),
    ("ada", None, 300, "customer", False, "2024-03-01"),
    ("Bob", "bob@example.com", 12.5, "prospect", None, None),
    ("bob", "", -4, "lead", True, "2023-12-31"),
    ("Émile", "e@example.com", None, None, False, "2025-01-15"),
    ("zoë", "zoe@example.com", 1e6, "customer", True, "2024-03-02"),
    (None, "anon@example.com", 300, "lead", None, "2024-01-01"),
    ("Carl 100% _sure_", None, 0, "prospect", False, None),
    ("carl", "carl@example.com", 0.25, None, True, "2024-02-29"),
    ("Dora", "dora@example.com", 300, "lead", None, "2024-03-01"),
    ("", "x@example.com", 99, "customer", True, "2022-06-30"),
    ("Ada", None, None, "lead", False, None),
]
KEYS = ("name", "email", "revenue", "stage", "active", "next_call")


def fields_of(row: tuple[Any, ...]) -> dict[str, Any]:
    return {key: value for key, value in zip(KEYS, row, strict=True) if value is not None}


def sort_value(kind: str, value: Any) -> Any:
    """The value a record sorts by, or None when it counts as empty."""
    if kind == "text":
        return value.casefold() if isinstance(value, str) and value else None
    if kind == "number":
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if kind == "bool":
        return value if isinstance(value, bool) else None
    return dt.date.fromisoformat(value) if isinstance(value, str) and value else None


def expected_order(records: dict[str, dict[str, Any]], key: str, kind: str, descending: bool) -> list[str]:
    valued = sorted(
        ((v, rid) for rid, f in records.items() if (v := sort_value(kind, f.get(key))) is not None),
        reverse=descending,
    )
    empty = sorted(
        (rid for rid, f in records.items() if sort_value(kind, f.get(key)) is None), reverse=descending
    )
    return [rid for _, rid in valued] + empty


async def walk(
    http: httpx.AsyncClient, params: dict[str, Any], between: Callable[[], Any] | None = None
) -> tuple[list[str], int]:
    """Every page in turn; the ids in order and the total each page reported (all equal)."""
    ids: list[str] = []
    totals = set()
    cursor = None
    while True:
        response = await http.get("/api/records", params={**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        page = response.json()
        ids += [record["id"] for record in page["records"]]
        totals.add(page["total"])
        cursor = page["next_cursor"]
        if cursor is None:
            assert len(totals) == 1 or between is not None, totals
            return ids, max(totals)
        assert len(page["records"]) == int(params.get("limit", 50))
        if between is not None:
            await between()


async def create_rows(live_server: LiveServer, token: str) -> dict[str, dict[str, Any]]:
    return {await live_server.create_record(token, fields_of(row)): fields_of(row) for row in ROWS}


async def test_each_type_sorts_both_ways_with_ties_by_id_and_empties_last(
    live_server: LiveServer, admin_token: str
) -> None:
    records = await create_rows(live_server, admin_token)
    sorts = {
        "name": "text",
        "email": "text",
        "revenue": "number",
        "stage": "text",
        "active": "bool",
        "next_call": "date",
    }
    async with live_server.client(admin_token) as http:
        for key, kind in sorts.items():
            for order in ("asc", "desc"):
                for limit in (5, 200):
                    ids, total = await walk(
                        http, {"collection": "customers", "sort": key, "order": order, "limit": limit}
                    )
                    assert ids == expected_order(records, key, kind, order == "desc"), (key, order, limit)
                    assert total == len(records)
        listed = (await http.get("/api/records", params={"collection": "customers", "limit": 200})).json()
        created = {r["id"]: dt.datetime.fromisoformat(r["created_at"]) for r in listed["records"]}
        for sort in ("created_at", "updated_at"):
            for order in ("asc", "desc"):
                ids, total = await walk(
                    http, {"collection": "customers", "sort": sort, "order": order, "limit": 5}
                )
                assert ids == sorted(created, key=lambda rid: (created[rid], rid), reverse=order == "desc")
        # The default: newest first.
        assert [r["id"] for r in listed["records"]] == sorted(
            created, key=lambda rid: (created[rid], rid), reverse=True
        )
        assert listed["total"] == len(records) and listed["next_cursor"] is None


async def test_filters_and_their_totals(live_server: LiveServer, admin_token: str) -> None:
    editor = await live_server.add_user("ed@example.com", "editor")
    records = await create_rows(live_server, admin_token)
    by_editor = {
        await live_server.create_record(editor, {"name": "Ed's", "revenue": 5}): {
            "name": "Ed's",
            "revenue": 5,
        }
    }
    records |= by_editor
    async with live_server.client(editor) as http:
        editor_id = (await http.get("/api/auth/me")).json()["user"]["id"]

    def number(f: dict[str, Any]) -> Any:
        return sort_value("number", f.get("revenue"))

    cases: list[tuple[dict[str, str], Callable[[dict[str, Any]], bool]]] = [
        ({"f.name.contains": "AD"}, lambda f: "ad" in (f.get("name") or "").casefold()),
        ({"f.name.contains": "100%"}, lambda f: "100%" in (f.get("name") or "")),
        ({"f.name.contains": "_"}, lambda f: "_" in (f.get("name") or "")),
        (
            {"f.revenue.gte": "12.5", "f.revenue.lte": "300"},
            lambda f: number(f) is not None and 12.5 <= number(f) <= 300,
        ),
        ({"f.revenue.lte": "-1"}, lambda f: number(f) is not None and number(f) <= -1),
        (
            {"f.next_call.gte": "2024-01-01", "f.next_call.lte": "2024-03-01"},
            lambda f: "2024-01-01" <= f.get("next_call", "0") <= "2024-03-01",
        ),
        ({"f.stage.in": "lead,customer"}, lambda f: f.get("stage") in ("lead", "customer")),
        ({"f.stage.in": "LEAD,nope"}, lambda f: f.get("stage") == "lead"),  # like contains: any case
        ({"f.active.is": "true"}, lambda f: f.get("active") is True),
        ({"f.active.is": "false"}, lambda f: f.get("active") is not True),
        ({"f.email.empty": "1"}, lambda f: not f.get("email")),
        ({"f.email.empty": "0"}, lambda f: bool(f.get("email"))),
        ({"f.revenue.empty": "1"}, lambda f: number(f) is None),
        ({"updated_by": editor_id}, lambda f: f.get("name") == "Ed's"),
        ({"updated_within_days": "1"}, lambda f: True),
        (
            {"updated_within_days": "1", "f.revenue.gte": "0", "f.email.empty": "1"},
            lambda f: number(f) is not None and number(f) >= 0 and not f.get("email"),
        ),
        ({"q": "EXAMPLE.com"}, lambda f: "example.com" in (f.get("email") or "")),
        (
            {"f.revenue.gte": "0", "f.stage.in": "lead,prospect", "f.active.is": "false"},
            lambda f: (
                number(f) is not None
                and number(f) >= 0
                and f.get("stage") in ("lead", "prospect")
                and f.get("active") is not True
            ),
        ),
    ]
    async with live_server.client(admin_token) as http:
        for params, wanted in cases:
            expected = {rid for rid, f in records.items() if wanted(f)}
            ids, total = await walk(http, {"collection": "customers", "limit": 3, **params})
            assert sorted(ids) == sorted(expected), params
            assert total == len(expected), params
            # Sorted and filtered at once: the sort order of the matching records.
            ids, _ = await walk(
                http, {"collection": "customers", "limit": 2, "sort": "revenue", "order": "desc", **params}
            )
            assert ids == [
                rid for rid in expected_order(records, "revenue", "number", True) if rid in expected
            ], params


# About 120 writes within seconds: more than the default write budget (a burst of 100, then 10 a second)
# once the machine is fast enough, which is not what this test is about.
@pytest.mark.server_env(COLLAB_HTTP_WRITE_BURST="1000")
async def test_a_cursor_walk_visits_each_record_once_while_records_are_added_and_edited(
    live_server: LiveServer, admin_token: str
) -> None:
    originals = [
        await live_server.create_record(admin_token, {"name": f"R{n:02}", "revenue": n % 7})
        for n in range(30)
    ]
    async with live_server.client(admin_token) as http:
        for params in ({"sort": "revenue", "order": "asc"}, {}, {"sort": "name", "order": "desc"}):
            added = 0

            async def meanwhile() -> None:
                nonlocal added
                added += 1
                await live_server.create_record(admin_token, {"name": f"New {added}", "revenue": added % 7})
                for record in (originals[added], originals[-added]):  # one seen, one not yet (or so)
                    patched = await http.patch(
                        f"/api/records/{record}",
                        json={"fields": {"email": f"e{added}@example.com"}},
                        headers={"If-Match": "*"},
                    )
                    assert patched.status_code == 200, patched.text

            ids, _ = await walk(http, {"collection": "customers", "limit": 4, **params}, meanwhile)
            assert len(ids) == len(set(ids)), params
            assert set(originals) <= set(ids), params


async def test_deleted_records_and_other_tenants_are_never_listed_nor_counted(
    live_server: LiveServer, admin_token: str
) -> None:
    await live_server.cli("tenant", "add", "rival")
    rival = await live_server.add_user("boss@rival.example", "admin", tenant="rival")
    mine = [
        await live_server.create_record(admin_token, {"name": f"Mine {n}", "revenue": n}) for n in range(4)
    ]
    theirs = [await live_server.create_record(rival, {"name": f"Theirs {n}", "revenue": n}) for n in range(3)]
    params = {"collection": "customers", "sort": "revenue", "f.revenue.gte": "0"}
    async with live_server.client(admin_token) as http:
        page = (await http.get("/api/records", params=params)).json()
        assert [r["id"] for r in page["records"]] == mine and page["total"] == 4
        assert (await http.delete(f"/api/records/{mine[1]}")).status_code == 204
        for query in (params, {"collection": "customers"}, {"collection": "customers", "f.name.empty": "0"}):
            page = (await http.get("/api/records", params=query)).json()
            assert mine[1] not in {r["id"] for r in page["records"]} and page["total"] == 3, query
        assert (await http.post(f"/api/records/{mine[1]}/undelete")).status_code == 200
        page = (await http.get("/api/records", params=params)).json()
        assert [r["id"] for r in page["records"]] == mine and page["total"] == 4
    async with live_server.client(rival) as http:
        page = (await http.get("/api/records", params=params)).json()
        assert [r["id"] for r in page["records"]] == theirs and page["total"] == 3


async def test_a_live_edit_moves_the_record_in_the_next_list(
    live_server: LiveServer, admin_token: str
) -> None:
    records = [
        await live_server.create_record(admin_token, {"name": f"N{n}", "revenue": n}) for n in range(5)
    ]
    client = await YClient(f"{live_server.ws_url}/{records[0]}", admin_token).connect()
    try:
        client.fields["revenue"] = 1000
        client.fields["name"] = "Zed"
        await client.wait_saved()
    finally:
        await client.close()
    async with live_server.client(admin_token) as http:
        by_revenue = (
            await http.get(
                "/api/records", params={"collection": "customers", "sort": "revenue", "order": "desc"}
            )
        ).json()
        assert [r["id"] for r in by_revenue["records"]] == [records[0], *reversed(records[1:])]
        assert by_revenue["records"][0]["fields"] == {"name": "Zed", "revenue": 1000}
        named = (
            await http.get("/api/records", params={"collection": "customers", "f.name.contains": "zed"})
        ).json()
        assert [r["id"] for r in named["records"]] == [records[0]] and named["total"] == 1


async def test_bad_parameters_are_400_with_a_reason(live_server: LiveServer, admin_token: str) -> None:
    for n in range(3):
        await live_server.create_record(admin_token, {"name": f"N{n}", "revenue": n})
    async with live_server.client(admin_token) as http:
        first = (
            await http.get("/api/records", params={"collection": "customers", "sort": "revenue", "limit": 1})
        ).json()
        cursor = first["next_cursor"]
        assert cursor
        tampered = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
        bad = [
            {"sort": "nope"},
            {"sort": "revenue", "order": "sideways"},
            {"limit": "0"},
            {"limit": "201"},
            {"limit": "x"},
            {"offset": "10"},
            {"f.nope.contains": "a"},
            {"f.name.gte": "a"},
            {"f.revenue.contains": "1"},
            {"f.revenue.gte": "lots"},
            {"f.revenue.gte": "NaN"},
            {"f.next_call.lte": "2024-02-30"},
            {"f.active.is": "yes"},
            {"f.email.empty": "maybe"},
            {"f.name": "x"},
            {"updated_within_days": "-1"},
            {"sort": "revenue", "cursor": tampered},
            {"sort": "revenue", "cursor": cursor[:10]},
            {"sort": "revenue", "cursor": "%%%"},
            {"sort": "name", "cursor": cursor},
            {"sort": "revenue", "order": "desc", "cursor": cursor},
        ]
        for params in bad:
            response = await http.get("/api/records", params={"collection": "customers", **params})
            assert response.status_code == 400, (params, response.status_code, response.text)
            assert response.json()["error"] == "bad_request" and response.json()["message"], params
        follow = await http.get(
            "/api/records", params={"collection": "customers", "sort": "revenue", "cursor": cursor}
        )
        assert follow.status_code == 200 and follow.json()["total"] == 3
