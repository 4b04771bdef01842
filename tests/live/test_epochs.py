"""A record's epoch over a live socket, on SQLite and PostgreSQL: a copy from another epoch (the record was
restored since it was synced) is refused with 4409 and nothing it sends is applied; no epoch, as before."""

from __future__ import annotations

import contextlib

import websockets

from collab import close_codes
from collab.ycodec import protocol
from tests.support.live_server import LiveServer
from tests.support.yclient import YClient


async def _record(live_server: LiveServer, token: str) -> tuple[str, str]:
    record = await live_server.create_record(token, {"name": "Acme"})
    async with live_server.client(token) as http:
        body = (await http.get(f"/api/records/{record}")).json()
    assert isinstance(body["epoch"], str) and len(body["epoch"]) == 32
    return record, body["epoch"]


async def _fields(live_server: LiveServer, token: str, record: str) -> dict[str, object]:
    async with live_server.client(token) as http:
        fields: dict[str, object] = (await http.get(f"/api/records/{record}")).json()["fields"]
    return fields


async def test_a_copy_from_another_epoch_is_refused_and_nothing_of_it_applied(
    live_server: LiveServer, admin_token: str
) -> None:
    record, epoch = await _record(live_server, admin_token)
    stale = YClient(f"{live_server.ws_url}/{record}?epoch={'0' * 32}&token={admin_token}", None)
    stale.fields["name"] = "Resurrected"  # held before connecting: sent below, as a stale copy would
    await stale.connect(wait_synced=False)
    with contextlib.suppress(websockets.ConnectionClosed):
        await stale.send(protocol.sync_update(stale.doc.get_update()))
    assert await stale.wait_closed() == close_codes.RESTORED

    current = await YClient(
        f"{live_server.ws_url}/{record}?epoch={epoch}&token={admin_token}", None
    ).connect()
    current.fields["stage"] = "lead"
    await current.wait_saved()
    await current.close()
    assert await _fields(live_server, admin_token, record) == {"name": "Acme", "stage": "lead"}


async def test_a_socket_naming_no_epoch_is_served_as_before(
    live_server: LiveServer, admin_token: str
) -> None:
    record, _ = await _record(live_server, admin_token)
    client = await YClient(f"{live_server.ws_url}/{record}", admin_token).connect()
    client.fields["stage"] = "lead"
    await client.wait_saved()
    await client.close()
    assert client.close_code != close_codes.RESTORED
    assert (await _fields(live_server, admin_token, record))["stage"] == "lead"


async def test_new_records_get_epochs_of_their_own(live_server: LiveServer, admin_token: str) -> None:
    epochs = {(await _record(live_server, admin_token))[1] for _ in range(2)}
    assert len(epochs) == 2
