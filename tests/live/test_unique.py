"""Unique fields: a duplicate over HTTP is 409 naming the record that holds the value; concurrent writes of
one value leave exactly one record holding it; a live edit that duplicates is corrected, never left stored,
and its sender is told why (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.support.live_server import LiveServer
from tests.support.polling import poll_until
from tests.support.server_process import ServerProcess
from tests.support.yclient import YClient

VEHICLES = {
    "name": "vehicles",
    "label": "Vehicles",
    "fields": [
        {"key": "title", "label": "Title", "type": "text", "unique": True},
        {"key": "plate", "label": "Plate", "type": "text"},
        {"key": "vin", "label": "VIN", "type": "decimal", "scale": 0, "unique": True},
    ],
}


async def define(server: LiveServer, token: str) -> None:
    async with server.client(token) as http:
        assert (await http.post("/api/collections", json=VEHICLES)).status_code == 201


async def titles(server: LiveServer, token: str) -> list[str]:
    async with server.client(token) as http:
        page = (await http.get("/api/records", params={"collection": "vehicles", "limit": "200"})).json()
        return sorted(r["fields"].get("title", "") for r in page["records"])


async def test_a_duplicate_over_http_is_409_naming_the_record_that_holds_it(
    live_server: LiveServer, admin_token: str
) -> None:
    await define(live_server, admin_token)
    first = await live_server.create_record(admin_token, {"title": "Vehicle #50", "vin": "7"}, "vehicles")
    other = await live_server.create_record(admin_token, {"title": "Vehicle #51"}, "vehicles")
    async with live_server.client(admin_token) as http:
        for fields in ({"title": "  vehicle #50 "}, {"title": "Other", "vin": 7}):
            answer = await http.post("/api/records", json={"collection": "vehicles", "fields": fields})
            assert answer.status_code == 409, answer.text
            body = answer.json()
            assert body["error"] == "duplicate_value" and body["record_id"] == first
            assert body["record_title"] == "Vehicle #50" and body["field"] in fields
        tag = (await http.get(f"/api/records/{other}")).headers["etag"]
        answer = await http.patch(
            f"/api/records/{other}", json={"fields": {"title": "VEHICLE #50"}}, headers={"If-Match": tag}
        )
        assert answer.status_code == 409 and answer.json()["record_id"] == first
        # Its own value is no duplicate of itself; a deleted record's values are free again.
        same = await http.patch(
            f"/api/records/{first}",
            json={"fields": {"title": "Vehicle #50", "plate": "X"}},
            headers={"If-Match": (await http.get(f"/api/records/{first}")).headers["etag"]},
        )
        assert same.status_code == 200, same.text
        assert (await http.delete(f"/api/records/{first}")).status_code == 204
        answer = await http.patch(
            f"/api/records/{other}", json={"fields": {"title": "Vehicle #50"}}, headers={"If-Match": tag}
        )
        assert answer.status_code == 200, answer.text
    assert await titles(live_server, admin_token) == ["Vehicle #50"]


async def test_concurrent_writes_of_one_value_leave_exactly_one_holder(
    live_server: LiveServer, admin_token: str
) -> None:
    await define(live_server, admin_token)
    async with live_server.client(admin_token) as http:

        async def create(n: int) -> int:
            answer = await http.post(
                "/api/records", json={"collection": "vehicles", "fields": {"title": "Race", "plate": str(n)}}
            )
            return answer.status_code

        codes = await asyncio.gather(*(create(n) for n in range(8)))
        assert sorted(codes) == [201] + [409] * 7, codes
        # Edits racing for one value through different records' rooms: one wins, the others are 409.
        ids = [
            (
                await http.post("/api/records", json={"collection": "vehicles", "fields": {"title": f"E{n}"}})
            ).json()["id"]
            for n in range(4)
        ]
        tags = [(await http.get(f"/api/records/{i}")).headers["etag"] for i in ids]

        async def edit(record_id: str, tag: str) -> int:
            answer = await http.patch(
                f"/api/records/{record_id}", json={"fields": {"title": "Won"}}, headers={"If-Match": tag}
            )
            return answer.status_code

        codes = await asyncio.gather(*(edit(i, t) for i, t in zip(ids, tags, strict=True)))
        assert sorted(codes) == [200] + [409] * 3, codes
    found = await titles(live_server, admin_token)
    assert found.count("Race") == 1 and found.count("Won") == 1, found


async def test_a_live_duplicate_is_corrected_never_stored_and_its_sender_told(
    live_server: LiveServer, admin_token: str
) -> None:
    await define(live_server, admin_token)
    await live_server.create_record(admin_token, {"title": "Vehicle #50"}, "vehicles")
    mine = await live_server.create_record(admin_token, {"title": "Vehicle #7"}, "vehicles")
    client = await YClient(f"{live_server.ws_url}/{mine}", admin_token).connect()
    watcher = await YClient(f"{live_server.ws_url}/{mine}", admin_token).connect()
    client.fields["title"] = "vehicle #50"
    await client.wait_until(lambda: client.fields.get("title") == "Vehicle #7", "the value put back")
    await watcher.wait_until(lambda: watcher.fields.get("title") == "Vehicle #7", "the others corrected too")
    await client.wait_until(lambda: bool(client.notices), "the notice")
    assert client.notices[-1] == {
        "kind": "corrected",
        "fields": {"title": "must be unique: already used by «Vehicle #50»"},
    }
    assert not watcher.notices  # only the sender is told
    client.fields["title"] = "Vehicle #8"  # a free value goes through as ever
    await client.wait_until(lambda: watcher.fields.get("title") == "Vehicle #8", "a free value")
    await client.wait_saved()
    await client.close()
    await watcher.close()
    assert await titles(live_server, admin_token) == ["Vehicle #50", "Vehicle #8"]
    async with live_server.client(admin_token) as http:  # the value it held before is free again
        answer = await http.post(
            "/api/records", json={"collection": "vehicles", "fields": {"title": "Vehicle #7"}}
        )
        assert answer.status_code == 201, answer.text
        taken = await http.post(
            "/api/records", json={"collection": "vehicles", "fields": {"title": "vehicle #8"}}
        )
        assert taken.status_code == 409 and taken.json()["record_id"] == mine


@pytest.mark.server_process  # restarted: the record is read back from storage
async def test_a_live_duplicate_reloads_from_storage_without_the_duplicate(
    live_server: ServerProcess, admin_token: str
) -> None:
    await define(live_server, admin_token)
    await live_server.create_record(admin_token, {"title": "Taken"}, "vehicles")
    mine = await live_server.create_record(admin_token, {"title": "Free"}, "vehicles")
    client = await YClient(f"{live_server.ws_url}/{mine}", admin_token).connect()
    for value in ["T", "Ta", "Taken", "Takenx", "Taken"]:  # typing through values, one of them taken
        client.fields["title"] = value
    await client.wait_until(lambda: bool(client.notices), "the notice")
    await client.wait_until(lambda: client.fields.get("title") != "Taken", "corrected")
    await client.wait_saved()
    await client.close()
    await live_server.restart()  # perhaps before the correction was stored: then the load corrects it
    token = await live_server.login()
    again = await YClient(f"{live_server.ws_url}/{mine}", token).connect()
    await again.wait_until(lambda: (again.fields.get("title") or "").casefold() != "taken", "no duplicate")
    await again.close()
    async with live_server.client(token) as http:
        fields: dict[str, Any] = (await http.get(f"/api/records/{mine}")).json()["fields"]
    assert (fields.get("title") or "").casefold() != "taken"
    # A correction made by the load is stored by the writer like any edit, a commit later: the list (read
    # from what is stored) shows it then, and never keeps the duplicate.
    await poll_until(
        lambda: titles(live_server, token), lambda found: found.count("Taken") == 1, "the correction stored"
    )
