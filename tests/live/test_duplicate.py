"""Duplicating a record: a new record of the same collection with the same values (rich text as its text,
unique fields left empty), made by the caller; viewers refused, other tenants' records missing."""

from __future__ import annotations

from typing import Any

from pycrdt import Text

from tests.support.live_server import LiveServer
from tests.support.sse import FeedClient
from tests.support.yclient import YClient

MISSING = "0" * 32


async def test_duplicate_copies_the_values_as_they_are_now(live_server: LiveServer, admin_token: str) -> None:
    values: dict[str, Any] = {
        "name": "Panda",
        "revenue": 5000,
        "stage": "prospect",
        "active": True,
        "next_call": "2026-12-24",
        "notes": "**bold** words",
    }
    record = await live_server.create_record(admin_token, values)
    editor = await live_server.add_user("ed@example.com", "editor")
    viewer = await live_server.add_user("vic@example.com", "viewer")
    await live_server.cli("tenant", "add", "rival")
    rival = await live_server.add_user("boss@rival.example", "admin", tenant="rival")
    live = await YClient(f"{live_server.ws_url}/{record}", admin_token).connect()
    notes = live.fields["notes"]
    assert isinstance(notes, Text)
    notes += " and more"  # a live edit, not yet in any summary: the copy takes the record as it is now
    await live.wait_saved()
    await live.close()

    async with (
        FeedClient(live_server.base_url, viewer, "customers") as feed,
        live_server.client(editor) as http,
    ):
        me = (await http.get("/api/auth/me")).json()["user"]
        copied = await http.post(f"/api/records/{record}/duplicate")
        assert copied.status_code == 201, copied.text
        copy = copied.json()
        event = await feed.next()
        while event.type != "record.created":  # presence and the live edit's update may come first
            event = await feed.next()
        assert (event.data["record"], event.data["by"]["id"]) == (copy["id"], me["id"])
        assert event.data["fields"] == copy["fields"]
        assert copy["id"] != record and copy["collection"] == "customers"
        assert copy["fields"] == values | {"notes": "**bold** words and more"}
        assert copy["created_by"]["id"] == me["id"]
        listed = (await http.get("/api/records", params={"collection": "customers"})).json()["records"]
        assert {record, copy["id"]} <= {r["id"] for r in listed}
        history = (await http.get(f"/api/records/{copy['id']}/history")).json()["changes"]
        assert {c["user"]["id"] for c in history} == {me["id"]}
        assert (await http.post(f"/api/records/{MISSING}/duplicate")).status_code == 404
    reopened = await YClient(f"{live_server.ws_url}/{copy['id']}", editor).connect()
    assert str(reopened.fields["notes"]) == "**bold** words and more"  # rich text, editable as text
    await reopened.close()
    async with live_server.client(viewer) as http:
        assert (await http.post(f"/api/records/{record}/duplicate")).status_code == 403
    async with live_server.client(rival) as http:
        assert (await http.post(f"/api/records/{record}/duplicate")).status_code == 404


async def test_a_unique_field_is_left_empty_in_the_copy(live_server: LiveServer, admin_token: str) -> None:
    collection = {
        "name": "vehicles",
        "label": "Vehicles",
        "fields": [
            {"key": "plate", "label": "Plate", "type": "text", "unique": True},
            {"key": "model", "label": "Model", "type": "text"},
        ],
    }
    async with live_server.client(admin_token) as http:
        assert (await http.post("/api/collections", json=collection)).status_code == 201
    record = await live_server.create_record(admin_token, {"plate": "CX-50", "model": "Van"}, "vehicles")
    async with live_server.client(admin_token) as http:
        copied = await http.post(f"/api/records/{record}/duplicate")
        assert copied.status_code == 201, copied.text
        assert copied.json()["fields"] == {"model": "Van"}
