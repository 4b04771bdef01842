"""Strangers against a live server: connections that keep it waiting, floods of sockets, bodies too large or
not JSON, and the browser security headers. Real sockets, one server per database for the whole group,
with short time-outs so that each wait is measured in seconds.

The server runs with 256 file descriptors (the attack that stopped health checks used up 1,024 with
1,100 idle sockets), so its bound on waiting connections is 128 (half of them).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import resource
import threading
from collections.abc import AsyncIterator, Awaitable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import websockets
import yaml
from playwright.async_api import async_playwright

from bench.servers import throwaway_postgres
from collab import close_codes
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PageErrors
from tests.browser.helpers import open_record, sign_in
from tests.support.live_server import ADMIN_EMAIL, ADMIN_PASSWORD, ROOT, SECRETS_SEEN
from tests.support.server_process import ServerProcess
from tests.support.yclient import YClient

pytestmark = pytest.mark.asyncio(loop_scope="module")

POSTGRES_ADMIN_URL = os.environ.get(
    "COLLAB_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
HEADER_SECONDS = 1.0
BODY_SECONDS = 2.0
FIRST_MESSAGE_SECONDS = 1.0
SERVER_FILES = 256
BOUND = SERVER_FILES // 2
# Time-outs fire on the server's loop; the close then crosses a busy 2-core machine to the test's loop.
SLACK_SECONDS = 1.5
GIVE_UP_SECONDS = 10.0  # before the fix, all of these stayed open for 70 s and more
MIB = 1024 * 1024


@dataclass
class Served:
    server: ServerProcess
    token: str
    record: str

    @property
    def pid(self) -> int:
        assert self.server.process is not None
        return self.server.process.pid

    def status(self, field: str) -> int:
        """A `/proc/PID/status` figure of the server, in kB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise KeyError(field)

    def open_files(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def log_has_no_traceback(self) -> None:
        text = self.server.log_path.read_text(errors="replace")
        assert "Traceback" not in text and "Exception in ASGI" not in text, self.server.log_tail()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('strangers') / 'collab.db'}"
    else:
        with throwaway_postgres(POSTGRES_ADMIN_URL) as url:
            yield url


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def served(database: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    env = {
        "COLLAB_HTTP_HEADER_TIMEOUT_SECONDS": str(HEADER_SECONDS),
        "COLLAB_HTTP_BODY_TIMEOUT_SECONDS": str(BODY_SECONDS),
        "COLLAB_WS_FIRST_MESSAGE_TIMEOUT_SECONDS": str(FIRST_MESSAGE_SECONDS),
        "COLLAB_TRUST_PROXY_HEADERS": "true",  # so that X-Forwarded-Proto can say HTTPS (for HSTS)
    }
    server = ServerProcess(database, tmp_path_factory.mktemp("strangers") / "server.log", env)
    # The server inherits the soft limit; this process keeps its own once the server has started.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (SERVER_FILES, hard))
    try:
        await server.start()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    try:
        token = await server.login()
        yield Served(server, token, await server.create_record(token, {"name": "Stranger danger"}))
    finally:
        await server.kill()


async def _closed_after(reader: asyncio.StreamReader, started: float) -> float:
    """Seconds from `started` until the server closed the connection (EOF or reset)."""
    with contextlib.suppress(ConnectionError):
        while await reader.read(65536):
            pass
    return asyncio.get_running_loop().time() - started


async def _bounded(wait: Awaitable[float]) -> float:
    """The seconds a connection stayed open, or infinity if it was still open after GIVE_UP_SECONDS."""
    try:
        return await asyncio.wait_for(wait, GIVE_UP_SECONDS)
    except TimeoutError:
        return math.inf


async def _connect(served: Served) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, float]:
    """A connection, and when it was asked for: the server's clock starts later (at its accept), so what
    the caller measures from here is never shorter than the server's wait, however slow this loop is to
    see the connection made (under CI load it was once slower than the deadline itself)."""
    started = asyncio.get_running_loop().time()
    reader, writer = await asyncio.open_connection("127.0.0.1", served.server.port)
    return reader, writer, started


async def _idle(served: Served) -> float:
    reader, writer, started = await _connect(served)
    try:
        return await _closed_after(reader, started)
    finally:
        writer.close()


async def _trickle(served: Served, data: bytes, every: float) -> float:
    """Send `data` a byte at a time (slowloris) until the server closes the connection."""
    reader, writer, started = await _connect(served)
    closed = asyncio.create_task(_closed_after(reader, started))
    try:
        for byte in data:
            if closed.done():
                break
            with contextlib.suppress(ConnectionError):
                writer.write(bytes([byte]))
                await writer.drain()
            await asyncio.wait([closed], timeout=every)  # the attacker's pace
        return await closed
    finally:
        writer.close()


async def _half_sent(served: Served, data: bytes) -> float:
    reader, writer, started = await _connect(served)
    try:
        writer.write(data)
        await writer.drain()
        return await _closed_after(reader, started)
    finally:
        writer.close()


async def _silent_websocket(served: Served) -> tuple[float, int | None]:
    """A WebSocket that is authenticated and accepted, but never says anything."""
    socket, started = await _websocket(f"{served.server.ws_url}/{served.record}?token={served.token}")
    async with socket:

        async def closed() -> float:
            await socket.wait_closed()
            return asyncio.get_running_loop().time() - started

        return await _bounded(closed()), socket.close_code


async def _websocket(url: str) -> tuple[websockets.ClientConnection, float]:
    """An accepted WebSocket. Its handshake is sent at once, but on a loaded CI machine the server may not
    have read it within the header deadline while a hundred strangers keep it busy, and close it as one of
    them: that is the header deadline working, not what the caller tests, so the handshake is tried again
    (three times at most). The time returned is when the accepted attempt began (before the server's
    first-message clock starts), so that a slow loop here cannot make the server look early."""
    loop = asyncio.get_running_loop()
    for _ in range(2):
        started = loop.time()
        with contextlib.suppress(websockets.exceptions.InvalidHandshake, ConnectionError, EOFError):
            return await websockets.connect(url), started
    started = loop.time()
    return await websockets.connect(url), started


def _within(seconds: list[float], deadline: float, what: str) -> None:
    assert seconds, what
    assert deadline - 0.2 <= min(seconds) and max(seconds) <= deadline + SLACK_SECONDS, (
        f"{what}: closed after {min(seconds):.2f}-{max(seconds):.2f} s, deadline {deadline} s"
    )


async def test_connections_that_keep_the_server_waiting_are_closed(served: Served) -> None:
    host = f"Host: 127.0.0.1:{served.server.port}\r\n".encode()
    slow_headers = b"GET /healthz HTTP/1.1\r\n" + host + b"X-Padding: " + b"a" * 1000
    half_upgrade = (
        b"GET /ws/" + served.record.encode() + b" HTTP/1.1\r\n" + host + b"Upgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
    )
    half_body = (
        b"POST /api/auth/login HTTP/1.1\r\n" + host + b"Content-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n" + b'{"tenant": "default", '
    )
    # One honest client that spoke at once must outlive every deadline below.
    honest = await YClient(f"{served.server.ws_url}/{served.record}", served.token).connect()
    idle, slow, upgrades, bodies, sockets = await asyncio.gather(
        asyncio.gather(*(_bounded(_idle(served)) for _ in range(60))),
        asyncio.gather(*(_bounded(_trickle(served, slow_headers, 0.1)) for _ in range(20))),
        asyncio.gather(*(_bounded(_half_sent(served, half_upgrade)) for _ in range(10))),
        asyncio.gather(*(_bounded(_half_sent(served, half_body)) for _ in range(10))),
        asyncio.gather(*(_silent_websocket(served) for _ in range(5))),
    )
    _within(idle, HEADER_SECONDS, "sockets that send nothing")
    _within(slow, HEADER_SECONDS, "headers sent a byte every 100 ms")
    _within(upgrades, HEADER_SECONDS, "WebSocket upgrades never finished")
    _within(bodies, BODY_SECONDS, "bodies never finished")
    _within([seconds for seconds, _ in sockets], FIRST_MESSAGE_SECONDS, "WebSockets that never speak")
    assert {code for _, code in sockets} == {close_codes.POLICY_VIOLATION}
    assert honest.close_code is None and not honest.closed.is_set()
    await honest.close()
    async with served.server.client() as http:  # a keep-alive connection then waits for its next request
        assert (await http.get("/healthz")).status_code == 200
        headers_too_large = await http.get("/healthz", headers={"X-Padding": "a" * 70_000})
        assert headers_too_large.status_code == 431
    served.log_has_no_traceback()


class Flood:
    """Idle sockets from other loopback addresses, each opened again as soon as the server closes it.

    It runs on its own event loop in a thread: on the test's loop, hundreds of reconnecting sockets would
    delay the test's own requests by a second and more, and measure the test instead of the server."""

    def __init__(self, port: int, sockets: int, addresses: list[str]) -> None:
        self.port = port
        self.addresses = [addresses[n % len(addresses)] for n in range(sockets)]
        self.reopened = 0
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._run(),))

    def __enter__(self) -> Flood:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join()
        self._loop.close()

    async def _run(self) -> None:
        await asyncio.gather(*(self._hold(address) for address in self.addresses))

    async def _hold(self, address: str) -> None:
        stopped = asyncio.ensure_future(self._stop.wait())
        while not self._stop.is_set():
            try:
                reader, writer = await asyncio.open_connection(
                    "127.0.0.1", self.port, local_addr=(address, 0)
                )
            except OSError:
                continue
            closed = asyncio.ensure_future(_closed_after(reader, 0.0))
            await asyncio.wait([closed, stopped], return_when=asyncio.FIRST_COMPLETED)
            self.reopened += closed.done()
            closed.cancel()
            writer.close()
        stopped.cancel()


async def test_a_flood_of_sockets_leaves_health_checks_and_logins_working(served: Served) -> None:
    """Twice as many idle sockets as the server has file descriptors, from two other addresses, each
    opened again as soon as the server closes it, while health checks and a login run: all are answered
    promptly, and the server never holds more than its bound of waiting connections."""
    before = served.open_files()
    most_files = before
    stop = asyncio.Event()

    async def watch_files() -> None:
        nonlocal most_files
        while not stop.is_set():
            most_files = max(most_files, served.open_files())
            await asyncio.wait([asyncio.ensure_future(stop.wait())], timeout=0.02)

    watcher = asyncio.create_task(watch_files())
    slowest = 0.0
    try:
        with Flood(served.server.port, 2 * SERVER_FILES, ["127.0.0.2", "127.0.0.3"]) as flood:
            async with httpx.AsyncClient(base_url=served.server.base_url, timeout=5.0) as http:
                for _ in range(20):
                    started = asyncio.get_running_loop().time()
                    # A fresh connection each time, as a load balancer's probe makes.
                    response = await http.get("/healthz", headers={"Connection": "close"})
                    assert response.status_code == 200
                    slowest = max(slowest, asyncio.get_running_loop().time() - started)
            assert await served.server.login()
    finally:
        stop.set()
        await watcher
    assert flood.reopened > SERVER_FILES  # the flood was pushed out and came back, again and again
    # Within a load balancer's usual probe timeout (before the bound, they failed outright); not tighter:
    # on a loaded CI machine one took 1.2 s while its flood thread and browser tests shared two cores.
    assert slowest < 2.0, f"a health check took {slowest:.2f} s"
    assert most_files - before <= BOUND + 16, f"the server held {most_files - before} more files"
    served.log_has_no_traceback()


async def test_bodies_are_measured_before_and_while_they_are_read(served: Served) -> None:
    host = f"Host: 127.0.0.1:{served.server.port}\r\n".encode()
    # Declared too large: 413 before a byte of the body is sent.
    reader, writer, _ = await _connect(served)
    writer.write(
        b"POST /api/auth/login HTTP/1.1\r\n" + host + b"Content-Type: application/json\r\n"
        b"Content-Length: 104857600\r\n\r\n"
    )
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 5)
    assert status_line.startswith(b"HTTP/1.1 413"), status_line
    writer.close()

    async def upload(content: bytes | AsyncIterator[bytes]) -> tuple[httpx.Response, int]:
        """POST 100 MB to the login route; the answer and the most the server's memory grew meanwhile."""
        base = served.status("VmRSS")
        most = base
        done = asyncio.Event()

        async def sample() -> None:
            nonlocal most
            while not done.is_set():
                most = max(most, served.status("VmRSS"))
                await asyncio.wait([asyncio.ensure_future(done.wait())], timeout=0.01)

        sampler = asyncio.create_task(sample())
        try:
            async with served.server.client() as http:
                headers = {"Content-Type": "application/json"}
                response = await http.post("/api/auth/login", content=content, headers=headers, timeout=60)
        finally:
            done.set()
            await sampler
        return response, (most - base) // 1024

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b" " * MIB

    declared, declared_growth = await upload(b" " * (100 * MIB))
    chunked, chunked_growth = await upload(chunks())
    for response in (declared, chunked):
        assert response.status_code == 413 and response.json()["error"] == "too_large"
    assert declared_growth < 16 and chunked_growth < 16, (
        f"the server grew by {declared_growth} MB and {chunked_growth} MB for 100 MB bodies"
    )

    login = {"tenant": "default", "email": "nobody@example.com", "password": "x"}
    async with served.server.client() as http:
        for content_type in (None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
            headers = {"Content-Type": content_type} if content_type else {}
            response = await http.post("/api/auth/login", content=b'{"a": 1}', headers=headers)
            assert response.status_code == 415, content_type
            assert response.json()["error"] == "unsupported_media_type"
        for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
            response = await http.post("/api/auth/login", json=login, headers={"Content-Type": content_type})
            assert response.status_code == 401, content_type  # read and checked
        # A change without a body needs no content type.
        bearer = {"Authorization": f"Bearer {served.token}"}
        taken = await http.post(f"/api/records/{served.record}/snapshots", headers=bearer)
        assert taken.status_code < 300, taken.text
    served.log_has_no_traceback()


async def test_every_response_carries_the_browser_security_headers(served: Served) -> None:
    bearer = {"Authorization": f"Bearer {served.token}"}
    as_json = {"Content-Type": "application/json"}
    async with served.server.client() as http:
        responses = {
            "page": await http.get("/"),
            "json": await http.get("/healthz"),
            "api": await http.get(f"/api/records/{served.record}", headers=bearer),
            "static": await http.get("/static/app.css"),
            "bundle": await http.get("/static/dist/app.js"),
            "401": await http.get("/api/auth/me"),
            "404": await http.get("/no/such/page"),
            "feed 401": await http.get("/api/events?collection=customers"),
            "415": await http.post("/api/auth/login", content=b"{}"),
            "413": await http.post("/api/auth/login", content=b" " * (2 * MIB), headers=as_json),
        }  # fmt: skip
        https = await http.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    for name, response in responses.items():
        policy = response.headers.get("content-security-policy", "")
        directives = {part.split()[0]: part.split()[1:] for part in policy.split("; ") if part}
        assert directives.get("default-src") == ["'self'"], name
        assert directives.get("script-src") == ["'self'"], name  # no inline script, no eval
        assert directives.get("frame-ancestors") == ["'none'"], name
        assert directives.get("object-src") == ["'none'"] and directives.get("base-uri") == ["'none'"], name
        port = served.server.port
        assert directives.get("connect-src") == [
            "'self'",
            f"ws://127.0.0.1:{port}",
            f"wss://127.0.0.1:{port}",
        ]
        assert response.headers.get("x-frame-options") == "DENY", name
        assert response.headers.get("x-content-type-options") == "nosniff", name
        assert response.headers.get("referrer-policy") == "no-referrer", name
        assert "strict-transport-security" not in response.headers, name  # plain HTTP
    assert responses["page"].headers["content-type"].startswith("text/html")
    assert https.headers["strict-transport-security"].startswith("max-age=")
    # The page itself runs no inline script: its one script is the bundle.
    page = responses["page"].text
    assert page.count("<script") == 1 and '<script type="module" src="/static/dist/app.js">' in page
    assert "<style" not in page and " style=" not in page and "javascript:" not in page


async def test_the_session_cookie_authenticates_the_browsers_websocket(served: Served) -> None:
    url = f"{served.server.ws_url}/{served.record}"
    origin = {"Origin": served.server.base_url}
    by_cookie = await YClient(url, None).connect(
        additional_headers={"Cookie": f"collab_session={served.token}", **origin}
    )
    assert by_cookie.close_code is None
    # Scripts keep their ways in: the Authorization header and ?token=.
    bearer = {"Authorization": f"Bearer {served.token}"}
    by_header = await YClient(url, None).connect(additional_headers=bearer)
    by_query = await YClient(url, served.token).connect()
    forged = await YClient(url, None).connect(
        wait_synced=False, additional_headers={"Cookie": "collab_session=not-a-session", **origin}
    )
    assert await forged.wait_closed() == close_codes.NOT_AUTHENTICATED
    for client in (by_cookie, by_header, by_query):
        await client.close()
    SECRETS_SEEN.add(served.token)


async def test_the_browser_app_runs_under_the_policy_and_never_holds_the_token(served: Served) -> None:
    """Real Chromium, under the headers and the short time-outs of this server: signing in and editing
    a record raise no policy violation, nothing the page can read holds the session, and the WebSocket
    URL carries no token (the cookie authenticated it)."""
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: apt-get install -y chromium"
    sockets: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = await browser.new_context()
            page = await sign_in(context, served.server, ADMIN_EMAIL, ADMIN_PASSWORD)
            errors = PageErrors()
            errors.watch(page, "page")  # from here on: before signing in, "who am I?" was a 401
            page.on("websocket", lambda socket: sockets.append(socket.url))
            await open_record(page, "Stranger danger")
            readable = await page.evaluate(
                "() => [Object.entries(sessionStorage), Object.entries(localStorage), document.cookie]"
            )
            session = [cookie["value"] for cookie in await context.cookies() if cookie.get("httpOnly")]
        finally:
            await browser.close()
    assert errors.messages == []
    session_storage, local_storage, cookies = readable
    assert session_storage == [] and cookies == ""  # the session cookie is HttpOnly
    # What the app keeps for an offline start (who signed in last, the collections) holds no credential.
    assert session and not [key for key, value in local_storage if any(s in value for s in session)]
    assert {key.split(":")[0] for key, _ in local_storage} <= {"collab.user", "collab"}
    assert sockets and all("token" not in url for url in sockets), sockets


async def test_the_compose_file_publishes_the_app_on_loopback_only() -> None:
    """The shipped docker-compose exposed the app port on every interface; it belongs behind a proxy."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    published = compose["services"]["app"].get("ports", [])
    assert published and all(str(port).startswith("127.0.0.1:") for port in published), published
