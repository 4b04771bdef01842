"""Self-test of the Node client harness.

Against the Node reference server (`@y/websocket-server` 0.1.1, installed in bench/ by the set-up, or
COLLAB_YWS_REFERENCE = path of its ``src/server.js``): two real y-websocket clients converge. Against two
stand-in Python servers: the harness reports a 44xx rejection and follows message 100 (saved), which the
reference server never sends.
"""

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Doc, YMessageType, YSyncMessageType, handle_sync_message, write_message
from websockets.asyncio.server import ServerConnection, serve

from tests.interop.node_client import CommandFailed, CommandTimeout, ConnectionRejected, NodeClient

REFERENCE_ENV = "COLLAB_YWS_REFERENCE"
# The benchmark installs the reference server (bench/package.json); the harness self-test reuses it.
BENCH_REFERENCE = Path(__file__).resolve().parents[2] / "bench/node_modules/@y/websocket-server/src/server.js"
MESSAGE_AUTH = 2
MESSAGE_SAVED = 100


def free_port() -> int:
    # The reference server takes its port from PORT and only prints the one it was given.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def reference_url() -> AsyncIterator[str]:
    server_js = os.environ.get(REFERENCE_ENV) or str(BENCH_REFERENCE)
    if not os.path.exists(server_js):  # noqa: ASYNC240 - one stat before a subprocess starts
        pytest.fail(
            f"no Node reference server at {server_js}: run ./scripts/setup --dev (or set {REFERENCE_ENV})"
        )
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        "node",
        server_js,
        env={**os.environ, "HOST": "127.0.0.1", "PORT": str(port)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    try:
        async with asyncio.timeout(10):
            while b"running at" not in (line := await process.stdout.readline()):
                assert line, f"reference server exited: {await process.stdout.read()!r}"
        yield f"ws://127.0.0.1:{port}"
    finally:
        process.kill()
        await process.wait()
        await process.stdout.read()


def room() -> str:
    return f"room-{uuid.uuid4().hex}"


# --- against the reference server -------------------------------------------------------------------


async def test_a_field_set_in_one_client_reaches_the_other(reference_url: str) -> None:
    name = room()
    async with NodeClient(name="alice") as alice, NodeClient(name="bob") as bob:
        await alice.connect(reference_url, name)
        await bob.connect(reference_url, name)
        await alice.set("address", {"city": "Lyon", "lines": ["1 rue Neuve"]})
        await bob.wait_field("address", {"city": "Lyon", "lines": ["1 rue Neuve"]})
        await bob.set("revenue", 5000)
        await alice.wait_field("revenue", 5000)
        assert await alice.fields() == await bob.fields()
        await alice.set_awareness({"field": "revenue"})
        assert await bob.wait_awareness(alice.client_id) == {"field": "revenue"}


async def test_text_inserts_from_both_clients_merge(reference_url: str) -> None:
    name = room()
    async with NodeClient(name="alice") as alice, NodeClient(name="bob") as bob:
        await alice.connect(reference_url, name)
        await bob.connect(reference_url, name)
        await alice.text_insert("notes", 0, "hello")
        await bob.wait_field("notes", "hello")
        await asyncio.gather(alice.text_insert("notes", 0, ">> "), bob.text_insert("notes", None, " world"))
        await asyncio.gather(
            alice.wait_field("notes", ">> hello world"), bob.wait_field("notes", ">> hello world")
        )


async def test_offline_edits_converge_when_both_come_back(reference_url: str) -> None:
    name = room()
    async with NodeClient(name="alice") as alice, NodeClient(name="bob") as bob:
        await alice.connect(reference_url, name)
        await bob.connect(reference_url, name)
        await alice.text_insert("notes", 0, "shared")
        await bob.wait_field("notes", "shared")
        await asyncio.gather(alice.offline(), bob.offline())

        await alice.set("revenue", 5000)
        await alice.text_insert("notes", 0, "A:")
        await alice.set("alice_done", True)  # set last: seen by bob means all of alice's edits are
        await bob.set("revenue", 6000)
        await bob.text_insert("notes", 6, ":B")
        await bob.set("bob_done", True)
        assert (await alice.get()).synced is False

        await asyncio.gather(alice.online(), bob.online())
        await asyncio.gather(alice.wait_field("bob_done", True), bob.wait_field("alice_done", True))
        a, b = await alice.get(), await bob.get()
        assert a.fields == b.fields
        assert a.clocks == b.clocks
        assert a.fields["notes"] == "A:shared:B"
        assert a.fields["revenue"] in (5000, 6000)
        assert a.close_codes == []  # going offline is a local close, not recorded


# --- against stand-in servers ---------------------------------------------------------------------


Handler = Callable[[ServerConnection], Awaitable[None]]


@pytest.fixture
async def stand_in() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    """Starts websocket servers on free ports running a given handler; returns their base url."""
    servers = []

    async def start(handler: Handler) -> str:
        server = await serve(handler, "127.0.0.1", 0)
        servers.append(server)
        return f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}"

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


def saving_room(stale: bool = False) -> Handler:
    """A one-connection room that answers sync and sends message 100 after the initial sync and each
    update, carrying the state vector of its document (or of nothing, when ``stale``)."""

    async def handler(ws: ServerConnection) -> None:
        doc: Doc[Any] = Doc()
        async for message in ws:
            if not isinstance(message, bytes) or message[0] != YMessageType.SYNC:
                continue  # awareness
            reply = handle_sync_message(message[1:], doc)
            if reply is not None:
                await ws.send(reply)
            if message[1] in (YSyncMessageType.SYNC_STEP1, YSyncMessageType.SYNC_UPDATE):
                vector = Doc().get_state() if stale else doc.get_state()
                await ws.send(bytes([MESSAGE_SAVED]) + write_message(vector))

    return handler


async def test_a_44xx_close_rejects_connect(stand_in: Callable[[Handler], Awaitable[str]]) -> None:
    async def reject(ws: ServerConnection) -> None:
        await ws.close(4401, "not authenticated")

    url = await stand_in(reject)
    async with NodeClient() as client:
        with pytest.raises(ConnectionRejected) as rejected:
            await client.connect(url, room(), token="secret")
        assert (rejected.value.code, rejected.value.reason) == (4401, "not authenticated")
        assert (await client.get()).close_codes == [4401]
        assert (await client.wait_close(4401)).reason == "not authenticated"


async def test_permission_denied_is_recorded(stand_in: Callable[[Handler], Awaitable[str]]) -> None:
    async def read_only(ws: ServerConnection) -> None:
        doc: Doc[Any] = Doc()
        async for message in ws:
            if isinstance(message, bytes) and message[:2] == bytes(
                [YMessageType.SYNC, YSyncMessageType.SYNC_STEP1]
            ):
                await ws.send(bytes([MESSAGE_AUTH, 0]) + write_message(b"read-only"))
                await ws.send(handle_sync_message(message[1:], doc) or b"")

    url = await stand_in(read_only)
    async with NodeClient() as client:
        await client.connect(url, room())  # the auth message precedes sync step 2
        assert (await client.get()).permission_denied == ["read-only"]


async def test_wait_saved_follows_message_100(stand_in: Callable[[Handler], Awaitable[str]]) -> None:
    url = await stand_in(saving_room())
    async with NodeClient() as client:
        await client.connect(url, room())
        assert (await client.wait_saved()).count == 1  # sent right after the initial sync
        await client.set("revenue", 5000)
        await client.text_insert("notes", 0, "hi")
        saved = await client.wait_saved(scope="all")
        assert saved.clocks == (await client.get()).clocks
        assert client.client_id in saved.clocks
        assert (await client.get()).errors == []  # message 100 was read, and nothing was answered


async def test_wait_saved_times_out_when_the_vector_does_not_cover(
    stand_in: Callable[[Handler], Awaitable[str]],
) -> None:
    url = await stand_in(saving_room(stale=True))
    async with NodeClient() as client:
        await client.connect(url, room())
        await client.set("revenue", 5000)
        with pytest.raises(CommandTimeout) as timeout:
            await client.wait_saved(timeout=0.3)
        assert timeout.value.reply is not None
        assert timeout.value.reply["stored"] == {}
        assert timeout.value.reply["local"] == {str(client.client_id): 1}


async def test_a_failing_command_leaves_the_client_usable() -> None:
    async with NodeClient() as client:
        await client.set("revenue", 5000)
        with pytest.raises(CommandFailed, match=r"is not a Y\.Text"):
            await client.text_insert("revenue", 0, "x")
        with pytest.raises(TimeoutError):
            await client.wait_field("revenue", 6000, timeout=0.1)
        assert await client.fields() == {"revenue": 5000}
