"""A create that names its own id (a device that made the record offline) happens once, however often it
is sent: again by its author it answers 200 with the record; anyone else's holding of the id is one 409
that says nothing about whose record it is."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from tests.support.live_server import LiveServer

PEOPLE = {"name": "people", "label": "People", "fields": [{"key": "name", "label": "Name", "type": "text"}]}


async def _ids(http: httpx.AsyncClient, collection: str = "customers") -> list[str]:
    listed = (await http.get("/api/records", params={"collection": collection})).json()["records"]
    return [record["id"] for record in listed]


async def test_the_same_create_twice_makes_one_record(live_server: LiveServer, admin_token: str) -> None:
    record_id = uuid.uuid4().hex
    async with live_server.client(admin_token) as http:
        first = await http.post("/api/records", json={"collection": "customers", "id": record_id})
        assert first.status_code == 201, first.text
        assert first.json()["id"] == record_id
        # The first answer was lost; the device sends it again (its fields, if any, are the record's now).
        again = await http.post(
            "/api/records", json={"collection": "customers", "id": record_id, "fields": {"name": "x"}}
        )
        assert again.status_code == 200, again.text
        assert again.json() == first.json()
        assert await _ids(http) == [record_id]
        # The record is an ordinary one: it opens and changes like any other.
        assert (await http.get(f"/api/records/{record_id}")).json()["fields"] == {}


async def test_attempts_at_the_same_moment_still_make_one(live_server: LiveServer, admin_token: str) -> None:
    record_id = uuid.uuid4().hex
    async with live_server.client(admin_token) as http:
        answers = await asyncio.gather(
            *(http.post("/api/records", json={"collection": "customers", "id": record_id}) for _ in range(4))
        )
        assert sorted(answer.status_code for answer in answers) == [200, 200, 200, 201], [
            answer.text for answer in answers
        ]
        assert {answer.json()["id"] for answer in answers} == {record_id}
        assert await _ids(http) == [record_id]


async def test_an_id_held_by_anything_else_is_one_conflict(live_server: LiveServer, admin_token: str) -> None:
    await live_server.cli("tenant", "add", "rival")
    rival = await live_server.add_user("boss@rival.example", "admin", tenant="rival")
    editor = await live_server.add_user("ed@example.com", "editor")
    async with live_server.client(admin_token) as http:
        assert (await http.post("/api/collections", json=PEOPLE)).status_code == 201
        mine = uuid.uuid4().hex
        assert (
            await http.post("/api/records", json={"collection": "customers", "id": mine})
        ).status_code == 201
        # Another collection of the same user and tenant.
        other_collection = await http.post("/api/records", json={"collection": "people", "id": mine})
        gone = uuid.uuid4().hex
        assert (
            await http.post("/api/records", json={"collection": "customers", "id": gone})
        ).status_code == 201
        assert (await http.delete(f"/api/records/{gone}")).status_code == 204
        deleted = await http.post("/api/records", json={"collection": "customers", "id": gone})
    async with live_server.client(editor) as http:
        other_user = await http.post("/api/records", json={"collection": "customers", "id": mine})
    async with live_server.client(rival) as http:
        other_tenant = await http.post("/api/records", json={"collection": "customers", "id": mine})
        assert await _ids(http) == []
    bodies = set()
    for answer in (other_collection, deleted, other_user, other_tenant):
        assert answer.status_code == 409, answer.text
        bodies.add(answer.text)
    assert len(bodies) == 1  # whose the record is, and where, is not told
    assert mine not in bodies.pop()
    async with live_server.client(admin_token) as http:
        assert await _ids(http, "people") == []
        assert (await http.get(f"/api/records/{mine}")).json()["fields"] == {}


async def test_a_malformed_id_is_refused(live_server: LiveServer, admin_token: str) -> None:
    viewer = await live_server.add_user("viv@example.com", "viewer")
    async with live_server.client(admin_token) as http:
        for bad in ["ABCDEF" * 5 + "AB", "a" * 31, "a" * 33, "g" * 32, 12, ["a" * 32], "", "../" + "a" * 29]:
            answer = await http.post("/api/records", json={"collection": "customers", "id": bad})
            assert answer.status_code == 422, (bad, answer.text)
            assert set(answer.json()["fields"]) == {"id"}
        assert await _ids(http) == []
        # An explicit null is no id: the server picks one.
        assert (
            await http.post("/api/records", json={"collection": "customers", "id": None})
        ).status_code == 201
    async with live_server.client(viewer) as http:
        # The role is checked before the body is read.
        answer = await http.post("/api/records", json={"collection": "customers", "id": "x"})
        assert answer.status_code == 403
