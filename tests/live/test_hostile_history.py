"""A few bytes never freeze the server (issue 12, finding 3): an editor's update of 21-28 bytes declaring a
deleted map entry 10^7 or 2^31 clocks long costs the history index what a one-clock entry costs, when it
arrives and when the record loads again after a restart, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from collab import close_codes
from collab.ycodec import protocol
from tests.collab.test_field_changes import deleted_entry
from tests.support.live_server import LiveServer
from tests.support.server_process import ServerProcess
from tests.support.yclient import YClient

HEALTH_SECONDS = 1.0  # what a load balancer would allow /healthz
LOAD_SECONDS = 5.0  # opening the record after a restart, the stored hostile update included
OUTCOME_SECONDS = 15.0


async def healthy(server: LiveServer) -> None:
    async with server.client() as http:
        response = await asyncio.wait_for(http.get("/healthz"), HEALTH_SECONDS)
        assert response.status_code == 200


async def healthy_until(server: LiveServer, work: asyncio.Future[Any]) -> None:
    """/healthz answers within a second again and again while ``work`` runs, and once more after it."""
    while not work.done():
        await healthy(server)
    await healthy(server)


async def accepted_or_refused(client: YClient, clock: int) -> int | None:
    """Wait until the server confirmed this client's clock up to ``clock`` (None) or closed it (the code)."""
    saved = asyncio.ensure_future(
        client.wait_until(
            lambda: client.saved_own >= clock or client.closed.is_set(), "saved", OUTCOME_SECONDS
        )
    )
    closed = asyncio.ensure_future(client.closed.wait())
    try:
        await asyncio.wait_for(
            asyncio.wait({saved, closed}, return_when=asyncio.FIRST_COMPLETED), OUTCOME_SECONDS
        )
    finally:
        saved.cancel()
        closed.cancel()
    return client.close_code if client.saved_own < clock else None


@pytest.mark.server_process  # restarted: the stored hostile update is loaded again
async def test_a_huge_declared_length_never_freezes_the_server(
    live_server: ServerProcess, admin_token: str
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Panda", "revenue": 1000})
    editor = await live_server.add_user("mallory@example.com", "editor")
    url = f"{live_server.ws_url}/{record}"
    for length in (10**7, 2**31):
        # A fresh connection, so a fresh client id at clock 0: a valid Yjs update, whatever else it is.
        client = await YClient(url, editor).connect()
        update = deleted_entry(client.doc.client_id, length)
        assert len(update) <= 31  # 21-28 bytes with a Yjs client id; pycrdt's take up to 3 bytes more
        await client.send(protocol.sync_update(update))
        outcome = asyncio.ensure_future(accepted_or_refused(client, length))
        await healthy_until(live_server, outcome)
        assert outcome.result() in (None, close_codes.MALFORMED), outcome.result()  # saved, or refused
        await client.close()
    async with live_server.client(admin_token) as http:
        before_restart = (await http.get(f"/api/records/{record}")).json()["fields"]
        assert (await http.get(f"/api/records/{record}/history")).status_code == 200

    await live_server.restart()
    # Opening the record loads its stored updates, the hostile ones among them, and indexes their history.
    reader = YClient(url, admin_token)
    opened = asyncio.ensure_future(reader.connect(wait_synced=False))
    await healthy_until(live_server, opened)
    await reader.wait(reader.synced.wait(), "the record to load", LOAD_SECONDS)
    async with live_server.client(admin_token) as http:
        record_response = await asyncio.wait_for(http.get(f"/api/records/{record}"), LOAD_SECONDS)
        assert record_response.json()["fields"] == before_restart
        history = await asyncio.wait_for(http.get(f"/api/records/{record}/history"), LOAD_SECONDS)
        assert history.status_code == 200
    await healthy(live_server)
    await reader.close()
