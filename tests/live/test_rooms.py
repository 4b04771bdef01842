"""Rooms over a real server and real sockets, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

from collab import close_codes
from collab.ycodec import protocol
from tests.support.live_server import LiveServer
from tests.support.yclient import YClient


async def test_two_clients_co_edit_and_both_are_confirmed(live_server: LiveServer, admin_token: str) -> None:
    record = await live_server.create_record(admin_token, {"name": "Panda"})
    url = f"{live_server.ws_url}/{record}"
    ann, bob = await YClient(url, admin_token).connect(), await YClient(url, admin_token).connect()
    assert ann.fields.to_py() == {"name": "Panda"}
    ann.fields["revenue"] = 5000
    bob.fields["stage"] = "lead"
    await bob.wait_until(lambda: bob.fields.get("revenue") == 5000, "bob sees ann's edit")
    await ann.wait_until(lambda: ann.fields.get("stage") == "lead", "ann sees bob's edit")
    await ann.wait_saved()
    await bob.wait_saved()
    await ann.close()
    await bob.close()
    async with live_server.client(admin_token) as http:
        fields = (await http.get(f"/api/records/{record}")).json()["fields"]
    assert fields == {"name": "Panda", "revenue": 5000, "stage": "lead"}


async def test_twenty_clients_open_a_new_record_at_once(live_server: LiveServer, admin_token: str) -> None:
    record = await live_server.create_record(admin_token, {"name": "Crowd"})
    url = f"{live_server.ws_url}/{record}"
    clients = await asyncio.gather(*(YClient(url, admin_token).connect() for _ in range(20)))
    assert all(client.fields.get("name") == "Crowd" for client in clients)
    clients[0].fields["revenue"] = 1
    await asyncio.gather(
        *(c.wait_until(lambda c=c: c.fields.get("revenue") == 1, "fan-out") for c in clients)
    )
    await asyncio.gather(*(client.close() for client in clients))


async def test_refusals_carry_their_close_codes(live_server: LiveServer, admin_token: str) -> None:
    record = await live_server.create_record(admin_token)
    no_token = YClient(f"{live_server.ws_url}/{record}", None)
    await no_token.connect(wait_synced=False)
    assert await no_token.wait_closed() == close_codes.NOT_AUTHENTICATED
    bad_token = YClient(f"{live_server.ws_url}/{record}", "not-a-token")
    await bad_token.connect(wait_synced=False)
    assert await bad_token.wait_closed() == close_codes.NOT_AUTHENTICATED
    missing = YClient(f"{live_server.ws_url}/{'0' * 32}", admin_token)
    await missing.connect(wait_synced=False)
    assert await missing.wait_closed() == close_codes.NOT_FOUND
    foreign = YClient(f"{live_server.ws_url}/{record}", admin_token)
    await foreign.connect(wait_synced=False, origin="http://evil.example")
    assert await foreign.wait_closed() == close_codes.FORBIDDEN


async def test_another_tenants_record_looks_missing(live_server: LiveServer, admin_token: str) -> None:
    record = await live_server.create_record(admin_token, {"name": "Secret"})
    await live_server.cli("tenant", "add", "other")
    outsider = await live_server.add_user("eve@other.example", "admin", tenant="other")
    client = YClient(f"{live_server.ws_url}/{record}", outsider)
    await client.connect(wait_synced=False)
    assert await client.wait_closed() == close_codes.NOT_FOUND
    async with live_server.client(outsider) as http:
        response = await http.get(f"/api/records/{record}")
        missing = await http.get(f"/api/records/{'0' * 32}")
    assert response.status_code == missing.status_code == 404
    assert response.json() == missing.json()


async def test_bad_frames_close_only_their_connection(live_server: LiveServer, admin_token: str) -> None:
    record = await live_server.create_record(admin_token, {"name": "Sturdy"})
    url = f"{live_server.ws_url}/{record}"
    witness = await YClient(url, admin_token).connect()
    huge = protocol.sync_update(b"\x00" * (8 * 1024 * 1024 + 1))
    cases: list[tuple[bytes | str, int]] = [
        (b"\x00\x02\x05\x01", close_codes.MALFORMED),  # truncated
        (protocol.sync_update(b"\x01\x02\x03\xff\xff\xff\x07"), close_codes.MALFORMED),  # not an update
        (b"\x01\x05\x01\x01\x01\x02{x", close_codes.MALFORMED),  # awareness that is not JSON
        ("hello", close_codes.MALFORMED),  # text frame
        (huge, close_codes.TOO_LARGE),
    ]
    for frame, expected in cases:
        attacker = await YClient(url, admin_token).connect()
        await attacker.send(frame)
        assert await attacker.wait_closed() == expected, repr(frame)[:40]
    witness.fields["email"] = "alive"
    await witness.wait_saved()
    late = await YClient(url, admin_token).connect()
    assert late.fields.to_py() == {"name": "Sturdy", "email": "alive"}
    await witness.close()
    await late.close()


async def test_a_viewer_receives_edits_but_its_updates_are_not_applied(
    live_server: LiveServer, admin_token: str
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Read me"})
    url = f"{live_server.ws_url}/{record}"
    viewer = await YClient(url, await live_server.add_user("viv@example.com", "viewer")).connect()
    editor = await YClient(url, admin_token).connect()
    for n in range(200):
        viewer.fields[f"v{n}"] = n
    await viewer.wait_until(lambda: viewer.denied >= 1, "permission-denied")
    editor.fields["stage"] = "lead"
    await viewer.wait_until(lambda: viewer.fields.get("stage") == "lead", "viewer sees the editor's edit")
    await editor.wait_saved()
    assert viewer.denied == 1 and viewer.close_code is None
    fresh = await YClient(url, admin_token).connect()
    assert fresh.fields.to_py() == {"name": "Read me", "stage": "lead"}
    for client in (viewer, editor, fresh):
        await client.close()


async def test_odd_values_from_a_client_never_block_the_log(
    live_server: LiveServer, admin_token: str
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Odd"})
    client = await YClient(f"{live_server.ws_url}/{record}", admin_token).connect()
    client.fields["name"] = "nul\x00inside"
    client.fields["k" * 100] = "a key longer than the history column"
    await client.wait_saved()
    client.fields["email"] = "still saved"
    await client.wait_saved()
    await client.close()
    async with live_server.client(admin_token) as http:
        assert (await http.get(f"/api/records/{record}")).json()["fields"]["email"] == "still saved"
        history = (await http.get(f"/api/records/{record}/history")).json()["changes"]
        assert {"name", "k" * 64, "email"} <= {change["field"] for change in history}
        assert (await http.get("/api/records", params={"collection": "cust\x00omers"})).status_code == 400
        bad = await http.post("/api/records", json={"collection": "customers", "fields": {"name": "a\x00b"}})
        assert bad.status_code == 400
