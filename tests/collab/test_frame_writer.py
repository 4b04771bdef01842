"""Binary frames framed once and written straight to the transport (collab/live/frame.py, the WebSocket
protocol of server/strangers.py): the bytes a client reads are exactly websockets' own framing, flow
control still holds a send back (the connection queues), and a closing or closed connection takes no
frame. Real sockets and uvicorn's protocol on this loop; the client is websockets' Sans-I/O client, whose
parser refuses a malformed or masked server frame."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
import uvicorn
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.server import ServerState
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

from auth.principal import Principal, Role
from collab.live.connection import Connection
from collab.live.frame import SHARED_MAX_BYTES, binary_frame
from server.strangers import GuardedWebSocketProtocol, StrangerGuard, WaitLimits, guarded_protocols
from tests.support.polling import until
from web.channel import WebSocketChannel

WHO = Principal("id-ann", "t1", "default", "ann@example.com", "ann", Role.EDITOR, "s-ann")
LIMITS = WaitLimits(
    header_seconds=30, body_seconds=30, first_message_seconds=60, max_pending=64, max_header_bytes=8192
)


def _websockets_frame(payload: bytes) -> bytes:
    """What uvicorn wrote before, through websockets' own framing."""
    return Frame(Opcode.BINARY, payload).serialize(mask=False)


@pytest.mark.unit
@pytest.mark.parametrize("length", [0, 1, 125, 126, 127, 65535, 65536, 70000])
def test_a_frame_is_byte_identical_to_websockets_framing(length: int) -> None:
    payload = bytes(range(256)) * (length // 256) + bytes(length % 256)
    assert binary_frame(payload) == _websockets_frame(payload)


@dataclass
class Accepted:
    websocket: WebSocket
    send: Send
    done: asyncio.Event

    @property
    def protocol(self) -> GuardedWebSocketProtocol:
        owner = getattr(self.send, "__self__", None)
        assert isinstance(owner, GuardedWebSocketProtocol)
        return owner

    def channel(self) -> WebSocketChannel:
        return WebSocketChannel(self.websocket, self.send)


class Server:
    """uvicorn's WebSocket protocol as collab serves it (the guarded class), on a port of this loop; each
    accepted socket is handed to the test and held open until the test lets it go."""

    def __init__(self) -> None:
        self.accepted: asyncio.Queue[Accepted] = asyncio.Queue()
        self.port = 0
        self.clients: list[Client] = []  # closed at the end, whatever the test did

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive, send)
        await websocket.accept()
        done = asyncio.Event()
        self.accepted.put_nowait(Accepted(websocket, send, done))
        await done.wait()


class Client:
    """A WebSocket client on a raw socket: the test decides when it reads."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int) -> None:
        self.reader = reader
        self.writer = writer
        self.protocol = ClientProtocol(parse_uri(f"ws://127.0.0.1:{port}/ws"))
        self.raw = bytearray()  # everything read after the handshake

    @classmethod
    async def connect(cls, port: int, receive_buffer: int | None = None) -> Client:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        reader, writer = await asyncio.open_connection(sock=sock)
        client = cls(reader, writer, port)
        client.protocol.send_request(client.protocol.connect())
        writer.write(b"".join(client.protocol.data_to_send()))
        while client.protocol.state is State.CONNECTING:
            data = await asyncio.wait_for(reader.read(65536), 10)
            assert data, "the server closed during the handshake"
            client.protocol.receive_data(data)
        assert client.protocol.state is State.OPEN
        assert client.protocol.events_received(), "the handshake's response"
        return client

    async def messages(self, count: int, within: float = 10.0) -> list[bytes]:
        """Read until `count` binary messages have been parsed (or the server closed)."""
        found: list[bytes] = []
        async with asyncio.timeout(within):
            while len(found) < count:
                data = await self.reader.read(65536)
                if not data:
                    break
                self.raw += data
                self.protocol.receive_data(data)
                for event in self.protocol.events_received():
                    assert isinstance(event, Frame)
                    if event.opcode is Opcode.CLOSE:
                        return found
                    assert event.opcode is Opcode.BINARY
                    found.append(bytes(event.data))
        assert self.protocol.parser_exc is None
        return found

    def close(self) -> None:
        self.writer.close()


@pytest_asyncio.fixture
async def server() -> AsyncIterator[Server]:
    served = Server()
    _, protocol_class = guarded_protocols(StrangerGuard(LIMITS))
    config = uvicorn.Config(
        served.app, interface="asgi3", ws=protocol_class, ws_per_message_deflate=False, log_level="warning"
    )
    config.load()
    state = ServerState()

    def protocol() -> Any:
        return protocol_class(config=config, server_state=state, app_state={})

    listening = await asyncio.get_running_loop().create_server(protocol, "127.0.0.1", 0)
    served.port = listening.sockets[0].getsockname()[1]
    try:
        yield served
    finally:
        for client in served.clients:
            client.close()
        for connection in list(state.connections):
            connection.shutdown()
        listening.close()
        await listening.wait_closed()


async def _accepted(server: Server, receive_buffer: int | None = None) -> tuple[Client, Accepted]:
    client = await Client.connect(server.port, receive_buffer)
    server.clients.append(client)
    accepted = await asyncio.wait_for(server.accepted.get(), 10)
    return client, accepted


async def test_one_broadcast_reaches_every_client_as_websockets_would_frame_it(server: Server) -> None:
    pairs = [await _accepted(server) for _ in range(3)]
    payloads = [b"\x00\x02\x05hello", bytes(300), bytes(range(256)) * 300]  # short, 16-bit and 64-bit lengths
    assert len(payloads[2]) > SHARED_MAX_BYTES
    for payload in payloads:
        for _, accepted in pairs:
            sending = accepted.channel().send(payload)
            with pytest.raises(StopIteration):  # an open socket takes the frame without suspending
                sending.send(None)
    for client, accepted in pairs:
        assert await client.messages(len(payloads)) == payloads
        assert bytes(client.raw) == b"".join(_websockets_frame(payload) for payload in payloads)
        client.close()
        accepted.done.set()


async def test_a_paused_transport_holds_sends_back_and_the_connection_queues(server: Server) -> None:
    client, accepted = await _accepted(server, receive_buffer=4096)
    protocol = accepted.protocol
    protocol.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    protocol.transport.set_write_buffer_limits(high=16 * 1024)
    connection = Connection(accepted.channel(), WHO, "r1")
    connection.start()
    sent: list[bytes] = []
    for n in range(200):  # the client reads nothing: the kernel's buffers fill, then uvicorn's
        payload = n.to_bytes(2, "big") * 4096
        connection.enqueue(payload)
        sent.append(payload)
        await asyncio.sleep(0)  # a new turn: the next message is again sent at once if it can be
        if connection.queued:
            break
    assert connection.queued, "no send was ever held back"
    assert not protocol.writable.is_set()
    # Held back at the high-water mark: frames written past it would pile up in the transport unbounded.
    assert protocol.transport.get_write_buffer_size() <= 16 * 1024 + len(_websockets_frame(sent[-1]))
    for n in range(200, 210):  # these wait behind the held send, in the connection's queue
        payload = n.to_bytes(2, "big") * 4096
        connection.enqueue(payload)
        sent.append(payload)
    received = await client.messages(len(sent))  # reading resumes the transport; the queue drains in order
    assert received == sent
    assert bytes(client.raw) == b"".join(_websockets_frame(payload) for payload in sent)
    await until(lambda: connection.queued == 0, "the queue drained")
    client.close()
    accepted.done.set()
    connection.close(1000)
    await connection.stop()


async def test_nothing_is_written_after_the_close_frame(server: Server) -> None:
    client, accepted = await _accepted(server)
    await accepted.send({"type": "websocket.send", "bytes": b"before"})
    await accepted.send({"type": "websocket.close", "code": 1000})
    with pytest.raises(RuntimeError):  # uvicorn's answer to a send after close, as before
        await accepted.send({"type": "websocket.send", "bytes": b"after"})
    assert await client.messages(2) == [b"before"]  # then the close frame, and nothing behind it
    client.close()
    accepted.done.set()


async def test_a_connection_whose_client_is_gone_takes_no_frame(server: Server) -> None:
    client, accepted = await _accepted(server)
    client.close()
    await until(lambda: accepted.protocol.disconnected, "the server saw the client go")
    with pytest.raises(ClientDisconnected):
        await accepted.send({"type": "websocket.send", "bytes": b"late"})
    connection = Connection(accepted.channel(), WHO, "r1")
    connection.start()
    connection.enqueue(b"late")  # the room never hears of it: the send failed, nothing is queued
    connection.enqueue(b"later")
    assert connection.queued == 0
    accepted.done.set()
    await connection.stop()
