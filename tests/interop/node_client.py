"""Drive a real Node.js Yjs client (``y-websocket`` 3) from async tests.

Each :class:`NodeClient` is one ``node client.mjs`` process holding one ``Y.Doc`` and one
``WebsocketProvider``, exactly as a browser tab would. Needs ``npm ci`` in ``tests/interop``::

    async with NodeClient() as alice, NodeClient() as bob:
        await alice.connect("ws://127.0.0.1:8000/ws", record_id, token=alice_token)
        await bob.connect("ws://127.0.0.1:8000/ws", record_id, token=bob_token)
        await alice.set("revenue", 5000)               # doc.getMap('fields').set(...)
        await alice.text_insert("notes", 0, "hello")   # nested Y.Text, created if absent
        seconds = await bob.wait_field("notes", "hello")
        saved = await alice.wait_saved()               # message 100 covers alice's own clock
        state = await bob.get()                        # ClientState: fields, clocks, close codes…

Connection: ``connect(url, room, token=None)`` returns once synced (the room is appended to the url:
``ws://host/ws`` + ``/`` + record id, token as ``?token=``); ``offline()`` / ``online()`` drop and
resume the socket (edits made offline are sent on resync: use ``wait_field`` on the peer to see them
arrive); ``wait_synced()`` waits for an automatic reconnect; ``wait_close(code)`` for a close the
server sent. Content: ``set``, ``delete``, ``text_insert``, ``text_delete``, ``get``, ``fields``,
``encode_state`` (``Y.encodeStateAsUpdate``, for comparing with pycrdt), ``own_clock`` (the client's own
clock, to tell which edits a saved message covers). Durability: ``saved`` and
``wait_saved(scope="own"|"all", min_count=1)``. Presence: ``set_awareness``, ``awareness``,
``wait_awareness``. Abuse: ``send_raw(bytes)`` writes one binary frame as is. Waits take a ``timeout``
in seconds and return how long they took. Nothing here sleeps: every wait is answered by the Node
process when its condition holds, or fails at its deadline.

Errors carry the tail of the process's stderr::

    NodeClientError              the process failed to start, died, or broke the protocol
    ├── CommandFailed            the client answered ok:false (.command, .reply)
    │   └── ConnectionRejected   connect/online/wait_synced saw a 44xx close (.code, .reason)
    └── CommandTimeout           also a TimeoutError: a wait ran out (.command, .reply or None)

Leaving the ``async with`` block closes the client gracefully (the server sees a clean close) and kills
it if it does not exit at once; ``kill()`` simulates a client that vanishes.
"""

# The waits take `timeout` on purpose (ASYNC109 prefers a caller's asyncio.timeout): the deadline is
# passed to the Node process, which enforces it and answers a timeout with its diagnostics.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import shutil
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self, TypeAlias

INTEROP_DIR = Path(__file__).resolve().parent
CLIENT_SCRIPT = INTEROP_DIR / "client.mjs"
# The Node side enforces a wait's own timeout; the driver's deadline is a backstop a little later, so
# that a timeout normally arrives with Node's diagnostics (current value, stored and local clocks).
DRIVER_GRACE_SECONDS = 2.0
EXIT_GRACE_SECONDS = 2.0
STDERR_TAIL_LINES = 40
MAX_LINE_BYTES = 64 * 1024 * 1024

JSONValue: TypeAlias = dict[str, "JSONValue"] | list["JSONValue"] | str | int | float | bool | None
Reply: TypeAlias = dict[str, Any]


class NodeClientError(Exception):
    """The Node client could not do what was asked; the message ends with its stderr tail."""


class CommandFailed(NodeClientError):
    """The client answered ``ok: false``; ``reply`` is the whole answer."""

    def __init__(self, message: str, command: str, reply: Reply) -> None:
        super().__init__(message)
        self.command = command
        self.reply = reply


class ConnectionRejected(CommandFailed):
    """The server closed the connection with a permanent (4400-4499) code before it synced."""

    def __init__(self, message: str, command: str, reply: Reply) -> None:
        super().__init__(message, command, reply)
        self.code: int = reply["closeCode"]
        self.reason: str = reply.get("closeReason", "")


class CommandTimeout(NodeClientError, TimeoutError):
    """A command did not complete in time; ``reply`` holds Node's diagnostics when it timed out there."""

    def __init__(self, message: str, command: str, reply: Reply | None) -> None:
        super().__init__(message)
        self.command = command
        self.reply = reply


@dataclass(frozen=True)
class Close:
    """A close frame (or network loss) the client saw; local disconnects are not recorded."""

    code: int
    reason: str


@dataclass(frozen=True)
class Saved:
    """The last saved message (type 100) received: ``count`` so far and its state vector."""

    count: int
    state_vector: bytes | None
    clocks: dict[int, int]


@dataclass(frozen=True)
class ClientState:
    """What ``get()`` reports: the document and the connection's history."""

    client_id: int
    fields: dict[str, Any]
    state_vector: bytes
    clocks: dict[int, int]
    connected: bool
    synced: bool
    closes: list[Close]
    close_codes: list[int]
    permission_denied: list[str]
    errors: list[str]
    saved_count: int


def _clocks(raw: dict[str, int]) -> dict[int, int]:
    return {int(client): clock for client, clock in raw.items()}


def _seconds(reply: Reply) -> float:
    return float(reply["elapsedMs"]) / 1000


def _saved(reply: Reply) -> Saved:
    vector = reply["stateVector"]
    return Saved(
        reply["count"], None if vector is None else base64.b64decode(vector), _clocks(reply["clocks"])
    )


class NodeClient:
    """One Node process with one ``Y.Doc`` and one ``WebsocketProvider``; see the module docstring."""

    def __init__(self, *, name: str = "node", command_timeout: float = 10.0, node: str = "node") -> None:
        self.name = name
        self.command_timeout = command_timeout
        self.events: list[dict[str, Any]] = []  # every unsolicited event, in order (for debugging)
        self._client_id: int | None = None
        self._node = node
        self._process: asyncio.subprocess.Process | None = None
        self._readers: list[asyncio.Task[None]] = []
        self._pending: dict[int, asyncio.Future[Reply]] = {}
        self._ready: asyncio.Future[Reply] | None = None
        self._stderr: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        self._next_id = 0
        self._gone = False

    async def __aenter__(self) -> Self:
        try:
            await self.start()
        except BaseException:
            await self.kill()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Spawn the process and wait until it is ready for commands."""
        if shutil.which(self._node) is None:
            raise NodeClientError(f"{self._node!r} is not on PATH")
        if not (INTEROP_DIR / "node_modules" / "y-websocket").is_dir():
            raise NodeClientError(f"Node packages missing: run `npm ci` in {INTEROP_DIR}")
        self._ready = asyncio.get_running_loop().create_future()
        self._process = await asyncio.create_subprocess_exec(
            self._node,
            str(CLIENT_SCRIPT),
            cwd=INTEROP_DIR,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=MAX_LINE_BYTES,
        )
        self._readers = [asyncio.create_task(self._read_stdout()), asyncio.create_task(self._read_stderr())]
        try:
            async with asyncio.timeout(self.command_timeout):
                ready = await self._ready
        except TimeoutError:
            self._ready.cancel()  # nobody will await it: an exception set later would go unretrieved
            raise CommandTimeout(self._describe("start", "no ready event"), "start", None) from None
        self._client_id = ready["clientId"]

    @property
    def client_id(self) -> int:
        """The ``Y.Doc``'s clientID (the key of this client's clock in state vectors)."""
        if self._client_id is None:
            raise NodeClientError(f"{self.name}: not started")
        return self._client_id

    async def close(self, timeout: float = EXIT_GRACE_SECONDS) -> None:
        """Destroy the provider (clean close frame) and let the process exit; kill it if it lingers."""
        process = self._process
        if process is not None and process.returncode is None and not self._gone:
            with contextlib.suppress(NodeClientError):
                await self._request("close", timeout)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await process.wait()
        await self.kill()

    async def kill(self) -> None:
        """Kill the process at once (the server sees the TCP connection drop) and reap it."""
        process = self._process
        if process is None:
            return
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        await process.wait()
        await asyncio.gather(*self._readers)  # both end at EOF, which the exit guarantees
        if process.stdin is not None:
            process.stdin.close()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                await process.stdin.wait_closed()

    # -- connection --------------------------------------------------------------------------------

    async def connect(
        self,
        url: str,
        room: str,
        token: str | None = None,
        *,
        params: dict[str, str] | None = None,
        timeout: float = 10.0,
    ) -> float:
        """Create the provider for ``url/room`` and wait until synced; raises ConnectionRejected on 44xx."""
        reply = await self._wait("connect", timeout, url=url, room=room, token=token, params=params or {})
        return _seconds(reply)

    async def offline(self) -> None:
        """``provider.disconnect()``: closes the socket; edits keep accumulating locally."""
        await self._request("offline")

    async def online(self, timeout: float = 10.0) -> float:
        """``provider.connect()`` and wait until synced again."""
        return _seconds(await self._wait("online", timeout))

    async def wait_synced(self, timeout: float = 10.0) -> float:
        """Wait until the provider is synced (e.g. after it reconnected by itself)."""
        return _seconds(await self._wait("wait_synced", timeout))

    async def wait_close(self, code: int | None = None, timeout: float = 10.0) -> Close:
        """Wait until a close with ``code`` (any code if None) has been seen, now or earlier."""
        reply = await self._wait("wait_close", timeout, code=code)
        return Close(reply["code"], reply["reason"])

    async def send_raw(self, data: bytes) -> None:
        """Send one binary frame as is on the open socket (to provoke 4400, 4413…)."""
        await self._request("send_raw", data=base64.b64encode(data).decode())

    # -- content -----------------------------------------------------------------------------------

    async def set(self, key: str, value: JSONValue) -> None:
        """``fields.set(key, value)`` with a plain JSON value."""
        await self._request("set", key=key, value=value)

    async def delete(self, key: str) -> None:
        await self._request("delete", key=key)

    async def text_insert(self, key: str, index: int | None, text: str) -> None:
        """Insert into the ``Y.Text`` at ``fields[key]``, creating it (in the same update) if absent.
        ``index=None`` appends, which stays right when a peer's edit arrives first."""
        await self._request("text_insert", key=key, index=index, text=text)

    async def text_delete(self, key: str, index: int, length: int) -> None:
        await self._request("text_delete", key=key, index=index, length=length)

    async def get(self) -> ClientState:
        r = await self._request("get")
        closes = [Close(c["code"], c["reason"]) for c in r["closes"]]
        return ClientState(
            client_id=r["clientId"],
            fields=r["fields"],
            state_vector=base64.b64decode(r["stateVector"]),
            clocks=_clocks(r["clocks"]),
            connected=r["connected"],
            synced=r["synced"],
            closes=closes,
            close_codes=r["closeCodes"],
            permission_denied=r["permissionDenied"],
            errors=r["errors"],
            saved_count=r["savedCount"],
        )

    async def fields(self) -> dict[str, Any]:
        """``fields.toJSON()``: scalars as JSON, a ``Y.Text`` as its string."""
        return (await self.get()).fields

    async def encode_state(self) -> bytes:
        """``Y.encodeStateAsUpdate(doc)``: the whole document as one update."""
        return base64.b64decode((await self._request("encode_state"))["update"])

    async def own_clock(self) -> int:
        """This client's own clock: how many of its own changes (items, characters) the document holds."""
        clock: int = (await self._request("own_clock"))["clock"]
        return clock

    async def wait_field(self, key: str, value: JSONValue, timeout: float = 10.0) -> float:
        """Wait until ``fields[key]`` deep-equals ``value`` (a ``Y.Text`` compares as its string)."""
        return _seconds(await self._wait("wait_field", timeout, key=key, value=value))

    # -- durability (message 100) ------------------------------------------------------------------

    async def saved(self) -> Saved:
        """The last saved message received (``count`` 0 and no vector before the first)."""
        return _saved(await self._request("saved"))

    async def wait_saved(
        self, timeout: float = 10.0, *, scope: Literal["own", "all"] = "own", min_count: int = 1
    ) -> Saved:
        """Wait until at least ``min_count`` saved messages arrived and the last one covers the local
        state vector: for this client's own id (``own``, the contract's "fully saved") or for every id
        it holds (``all``; only safe if the server will send another saved message to this client)."""
        return _saved(await self._wait("wait_saved", timeout, scope=scope, min_count=min_count))

    # -- awareness ---------------------------------------------------------------------------------

    async def set_awareness(self, state: dict[str, JSONValue] | None) -> None:
        """``awareness.setLocalState(state)``; None announces leaving."""
        await self._request("awareness_set", state=state)

    async def awareness(self) -> dict[int, Any]:
        return {
            int(client): state for client, state in (await self._request("awareness_get"))["states"].items()
        }

    async def wait_awareness(self, client_id: int, timeout: float = 10.0) -> dict[str, Any]:
        """Wait until the awareness state of ``client_id`` is known; returns it."""
        state: dict[str, Any] = (await self._wait("wait_awareness", timeout, client_id=client_id))["state"]
        return state

    # -- plumbing ----------------------------------------------------------------------------------

    async def _wait(self, command: str, timeout: float, **args: Any) -> Reply:
        timeout_ms = round(timeout * 1000)
        return await self._request(command, timeout + DRIVER_GRACE_SECONDS, timeout_ms=timeout_ms, **args)

    async def _request(self, command: str, deadline: float | None = None, **args: Any) -> Reply:
        process = self._process
        if process is None or process.stdin is None or self._gone:
            raise NodeClientError(self._describe(command, "the node client is not running"))
        self._next_id += 1
        request_id = self._next_id
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            process.stdin.write(json.dumps({"id": request_id, "cmd": command, **args}).encode() + b"\n")
            await process.stdin.drain()
            async with asyncio.timeout(self.command_timeout if deadline is None else deadline):
                reply = await future
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise NodeClientError(self._describe(command, f"cannot write to the node client: {exc}")) from exc
        except TimeoutError:
            raise CommandTimeout(
                self._describe(command, "no reply before the deadline"), command, None
            ) from None
        finally:
            self._pending.pop(request_id, None)
        if reply["ok"]:
            return reply
        details = {k: v for k, v in reply.items() if k not in ("id", "ok", "error", "timeout")}
        message = self._describe(command, f"{reply.get('error', 'failed')} {json.dumps(details)}")
        if reply.get("timeout"):
            raise CommandTimeout(message, command, reply)
        if "closeCode" in reply:
            raise ConnectionRejected(message, command, reply)
        raise CommandFailed(message, command, reply)

    def _describe(self, command: str, problem: str) -> str:
        message = f"{self.name}: {command}: {problem}"
        if self._stderr:
            message += "\n--- node stderr (last lines) ---\n" + "\n".join(self._stderr)
        return message

    async def _read_stdout(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        stdout = self._process.stdout
        while line := await stdout.readline():
            try:
                message = json.loads(line)
            except ValueError:
                self._stderr.append(f"[not JSON on stdout] {line.decode(errors='replace').rstrip()}")
                continue
            if "event" in message:
                self.events.append(message)
                if message["event"] == "ready" and self._ready is not None and not self._ready.done():
                    self._ready.set_result(message)
            elif (future := self._pending.get(message.get("id"))) is not None and not future.done():
                future.set_result(message)
        # EOF: the process is exiting. Let stderr drain first, so the failure says why.
        self._gone = True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(EXIT_GRACE_SECONDS):
                await self._process.wait()
                await self._readers[1]
        failure = NodeClientError(self._describe("exit", f"process ended (rc={self._process.returncode})"))
        for future in [*self._pending.values(), self._ready]:
            if future is not None and not future.done():
                future.set_exception(failure)

    async def _read_stderr(self) -> None:
        assert self._process is not None and self._process.stderr is not None
        while line := await self._process.stderr.readline():
            self._stderr.append(line.decode(errors="replace").rstrip())
