"""Real yjs + y-websocket clients under Node, and a pycrdt client, against a live collab server."""

from __future__ import annotations

import asyncio

from pycrdt import Text

from collab import close_codes
from tests.interop.node_client import ConnectionRejected, NodeClient
from tests.support.live_server import LiveServer
from tests.support.yclient import YClient


async def test_node_clients_co_edit_go_offline_and_converge(
    live_server: LiveServer, admin_token: str
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Panda", "notes": "Call "})
    bob_token = await live_server.add_user("bob@example.com", "editor")
    async with NodeClient(name="ann") as ann, NodeClient(name="bob") as bob:
        await ann.connect(live_server.ws_url, record, token=admin_token)
        await bob.connect(live_server.ws_url, record, token=bob_token)
        assert (await ann.fields())["name"] == "Panda"

        await ann.set("revenue", 5000)
        await bob.wait_field("revenue", 5000)
        await ann.text_insert("notes", None, "Monday")
        await bob.text_insert("notes", 0, ">> ")
        await ann.wait_field("notes", ">> Call Monday")
        await bob.wait_field("notes", ">> Call Monday")
        await ann.wait_saved()
        await bob.wait_saved()

        await ann.offline()
        await bob.offline()
        await ann.set("stage", "prospect")
        await ann.text_insert("notes", None, " (ann)")
        await bob.set("active", True)
        await bob.text_insert("notes", 0, "[bob] ")
        await ann.online()
        await bob.online()
        expected_notes = "[bob] >> Call Monday (ann)"
        await ann.wait_field("notes", expected_notes)
        await bob.wait_field("notes", expected_notes)
        await ann.wait_field("active", True)
        await bob.wait_field("stage", "prospect")
        await ann.wait_saved()
        await bob.wait_saved()
        assert await ann.fields() == await bob.fields()

        python = await YClient(f"{live_server.ws_url}/{record}", admin_token).connect()
        assert python.fields.to_py() == {
            "name": "Panda",
            "notes": expected_notes,
            "revenue": 5000.0,
            "stage": "prospect",
            "active": True,
        }
        notes = python.fields["notes"]
        assert isinstance(notes, Text)
        notes += "!"
        await python.wait_saved()
        await ann.wait_field("notes", expected_notes + "!")
        await python.close()

    async with live_server.client(admin_token) as http:
        stored = (await http.get(f"/api/records/{record}")).json()["fields"]
    assert stored["notes"] == expected_notes + "!" and stored["revenue"] == 5000


async def test_node_presence_is_stamped_with_the_real_user(live_server: LiveServer, admin_token: str) -> None:
    record = await live_server.create_record(admin_token)
    mallory_token = await live_server.add_user("mallory@example.com", "editor")
    async with NodeClient(name="ann") as ann, NodeClient(name="mallory") as mallory:
        await ann.connect(live_server.ws_url, record, token=admin_token)
        await mallory.connect(live_server.ws_url, record, token=mallory_token)
        await mallory.set_awareness({"user": {"name": "Admin", "id": "forged"}, "field": "name"})
        seen = await ann.wait_awareness(mallory.client_id)
        assert seen["user"]["name"] == "mallory" and seen["field"] == "name"


async def test_node_clients_get_the_contract_close_codes(live_server: LiveServer, admin_token: str) -> None:
    record = await live_server.create_record(admin_token)
    async with NodeClient(name="anonymous") as anonymous:
        try:
            await anonymous.connect(live_server.ws_url, record, token="wrong")
        except ConnectionRejected as rejected:
            assert rejected.code == close_codes.NOT_AUTHENTICATED
        else:
            raise AssertionError("a wrong token was accepted")
    async with NodeClient(name="lost") as lost:
        try:
            await lost.connect(live_server.ws_url, "0" * 32, token=admin_token)
        except ConnectionRejected as rejected:
            assert rejected.code == close_codes.NOT_FOUND
        else:
            raise AssertionError("a missing record was served")


async def test_a_node_viewer_is_refused_writes_but_stays(live_server: LiveServer, admin_token: str) -> None:
    record = await live_server.create_record(admin_token, {"name": "Look"})
    viewer_token = await live_server.add_user("viv@example.com", "viewer")
    async with NodeClient(name="viv") as viv, NodeClient(name="ann") as ann:
        await viv.connect(live_server.ws_url, record, token=viewer_token)
        await ann.connect(live_server.ws_url, record, token=admin_token)
        await viv.set("name", "Hacked")
        await ann.set("stage", "lead")
        await viv.wait_field("stage", "lead")
        state = await viv.get()
        assert state.permission_denied and state.connected
    async with live_server.client(admin_token) as http:
        assert (await http.get(f"/api/records/{record}")).json()["fields"] == {
            "name": "Look",
            "stage": "lead",
        }


async def test_twenty_node_clients_open_a_new_record_at_once(
    live_server: LiveServer, admin_token: str
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Crowd"})
    clients = [NodeClient(name=f"c{i}") for i in range(20)]
    for client in clients:
        await client.start()
    try:
        await asyncio.gather(*(c.connect(live_server.ws_url, record, token=admin_token) for c in clients))
        await clients[0].set("email", "all")
        await asyncio.gather(*(c.wait_field("email", "all") for c in clients))
    finally:
        await asyncio.gather(*(c.close() for c in clients))
