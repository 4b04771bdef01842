"""Abuse limits attacked the way issue 13 found them broken: a live server, real sockets, requests sent all
at once from several loopback source addresses. One server per database carries every check (each start
costs seconds); each check uses its own users or addresses so that the limits of one do not touch the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import websockets
from pycrdt import Doc

from collab import close_codes
from collab.ycodec import protocol
from tests.support.app_server import AppServer
from tests.support.live_server import ADMIN_EMAIL, ADMIN_PASSWORD, SECRETS_SEEN, LiveServer
from tests.support.polling import poll_until

# Defaults of collab/settings.py that these checks count against.
PER_ACCOUNT_ADDRESS = 5
PER_ADDRESS = 20
CONNECTIONS_PER_USER = 50
STREAMS_PER_USER = 20
STREAMS_PER_SESSION = 10
# The read budget is made small and slow here, so that its check cannot depend on how fast this machine
# answers; it stays above the caps above, so that those are what the socket and stream checks meet.
READ_BURST = 60
READS_PER_SECOND = 1
USER_PASSWORD = "user-password-1"


def client_from(
    server: LiveServer, address: str = "127.0.0.1", token: str | None = None
) -> httpx.AsyncClient:
    """A client whose connections leave from `address` (any 127.x.y.z reaches the server on Linux)."""
    transport = httpx.AsyncHTTPTransport(local_address=address, limits=httpx.Limits(max_connections=400))
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(base_url=server.base_url, transport=transport, headers=headers, timeout=60)


async def logins(http: httpx.AsyncClient, bodies: list[dict[str, str]]) -> list[httpx.Response]:
    return await asyncio.gather(*(http.post("/api/auth/login", json=body) for body in bodies))


async def add_user(server: LiveServer, admin_token: str, email: str, role: str) -> str:
    """Through the admin API (a CLI process costs seconds); returns a fresh session's token."""
    async with server.client(admin_token) as admin:
        created = await admin.post(
            "/api/admin/users", json={"email": email, "role": role, "password": USER_PASSWORD}
        )
        assert created.status_code == 201, created.text
    return await server.login(email, USER_PASSWORD)


async def test_limits_hold_under_concurrency(database_url: str, tmp_path: Path) -> None:
    env = {"COLLAB_HTTP_READ_BURST": str(READ_BURST), "COLLAB_HTTP_READS_PER_SECOND": str(READS_PER_SECOND)}
    server = AppServer(database_url, tmp_path / "server.log", env=env)
    await server.start()
    try:
        admin_token = await server.login()
        await concurrent_guesses_at_one_account_stop_at_its_limit(server)
        await concurrent_guesses_from_one_address_stop_at_its_limit(server)
        await lockouts_are_listed_and_cleared_by_admins(server, admin_token)
        await websocket_connections_per_user_are_capped(server, admin_token)
        await feed_streams_per_user_and_session_are_capped(server, admin_token)
        await http_requests_per_user_are_rate_limited(server, admin_token)
        await tokens_under_any_parameter_spelling_stay_out_of_the_log(server, admin_token)
        # The operator chose the first-start password (COLLAB_BOOTSTRAP_ADMIN_PASSWORD): it is not echoed.
        assert ADMIN_PASSWORD not in "".join(server.stdout_lines)
    finally:
        await server.stop()


async def concurrent_guesses_at_one_account_stop_at_its_limit(server: LiveServer) -> None:
    wrong = {"tenant": "default", "email": ADMIN_EMAIL, "password": "not-the-password"}
    async with client_from(server, "127.0.0.2") as stranger:
        answers = await logins(stranger, [wrong] * 60)
        codes = Counter(answer.status_code for answer in answers)
        assert codes == {401: PER_ACCOUNT_ADDRESS, 429: 60 - PER_ACCOUNT_ADDRESS}, codes
        assert all(int(a.headers["retry-after"]) > 0 for a in answers if a.status_code == 429)
        # The locked pair refuses even the right password, without checking it...
        right = {**wrong, "password": ADMIN_PASSWORD}
        assert (await stranger.post("/api/auth/login", json=right)).status_code == 429
    # ...but the stranger did not lock the owner out: the admin on another address gets in.
    async with client_from(server, "127.0.0.1") as owner:
        assert (await owner.post("/api/auth/login", json=right)).status_code == 200


async def concurrent_guesses_from_one_address_stop_at_its_limit(server: LiveServer) -> None:
    bodies = [
        {"tenant": "default", "email": f"guess{n}@example.com", "password": "x" * 12} for n in range(100)
    ]
    async with client_from(server, "127.0.0.3") as sprayer:
        codes = Counter(answer.status_code for answer in await logins(sprayer, bodies))
    assert codes == {401: PER_ADDRESS, 429: 100 - PER_ADDRESS}, codes


async def lockouts_are_listed_and_cleared_by_admins(server: LiveServer, admin_token: str) -> None:
    async with server.client(admin_token) as admin:
        listed = (await admin.get("/api/admin/lockouts")).json()["lockouts"]
        by_key = {entry["key"]: entry for entry in listed}
        pair = f"account_address:{ADMIN_EMAIL}|127.0.0.2"
        assert by_key[pair]["locked"] and by_key[pair]["failures"] == PER_ACCOUNT_ADDRESS
        assert by_key["address:127.0.0.3"]["locked"]
        cleared = await admin.request(
            "DELETE", "/api/admin/lockouts", json={"key": pair}, headers={"origin": server.base_url}
        )
        assert cleared.status_code == 204
        actions = [e["action"] for e in (await admin.get("/api/admin/audit")).json()["entries"]]
        assert "lockout.clear" in actions
    async with client_from(server, "127.0.0.2") as stranger:
        wrong = {"tenant": "default", "email": ADMIN_EMAIL, "password": "still-wrong"}
        assert (await stranger.post("/api/auth/login", json=wrong)).status_code == 401


async def websocket_connections_per_user_are_capped(server: LiveServer, admin_token: str) -> None:
    record = await server.create_record(admin_token)
    token = await add_user(server, admin_token, "many.sockets@example.com", "editor")
    url = f"{server.ws_url}/{record}?token={token}"
    async with contextlib.AsyncExitStack() as sockets:

        async def open_one() -> int:
            socket = await sockets.enter_async_context(websockets.connect(url))
            await socket.send(protocol.sync_step1(Doc().get_state()))
            try:
                await asyncio.wait_for(socket.recv(), 30)
            except websockets.ConnectionClosed as closed:
                assert closed.rcvd is not None
                return closed.rcvd.code
            return 0  # served: it got the record

        outcomes = Counter(await asyncio.gather(*(open_one() for _ in range(150))))
    assert outcomes == {0: CONNECTIONS_PER_USER, close_codes.RATE_LIMITED: 150 - CONNECTIONS_PER_USER}, (
        outcomes
    )


async def feed_streams_per_user_and_session_are_capped(server: LiveServer, admin_token: str) -> None:
    sessions = [await add_user(server, admin_token, "many.streams@example.com", "viewer")]
    sessions += [await server.login("many.streams@example.com", USER_PASSWORD) for _ in range(2)]
    async with contextlib.AsyncExitStack() as streams:
        clients = [await streams.enter_async_context(client_from(server, token=token)) for token in sessions]

        async def open_one(http: httpx.AsyncClient) -> int:
            response = await streams.enter_async_context(
                http.stream("GET", "/api/events", params={"collection": "customers"})
            )
            return response.status_code

        # 25 at once on each of three sessions of one viewer.
        codes = await asyncio.gather(*(open_one(http) for http in clients for _ in range(25)))
    per_session = [Counter(codes[n * 25 : (n + 1) * 25])[200] for n in range(3)]
    assert all(served <= STREAMS_PER_SESSION for served in per_session), per_session
    assert sum(per_session) == STREAMS_PER_USER and set(codes) == {200, 429}, (per_session, Counter(codes))


async def http_requests_per_user_are_rate_limited(server: LiveServer, admin_token: str) -> None:
    token = await add_user(server, admin_token, "rapid@example.com", "editor")
    async with client_from(server, "127.0.0.4", token) as http:
        started = asyncio.get_running_loop().time()
        answers = await asyncio.gather(*(http.get("/api/auth/me") for _ in range(200)))
        refilled = math.ceil((asyncio.get_running_loop().time() - started) * READS_PER_SECOND)
        codes = Counter(answer.status_code for answer in answers)
        assert set(codes) == {200, 429} and READ_BURST <= codes[200] <= READ_BURST + refilled, codes
        assert all(int(a.headers["retry-after"]) >= 1 for a in answers if a.status_code == 429)
    # Writes have a budget of their own: spent reads do not stop them. On a connection of its own: the 200
    # above left keep-alive connections that the server may close as this one is sent (a busy CI did).
    async with client_from(server, "127.0.0.4", token) as http:
        created = await http.post("/api/records", json={"collection": "customers"})
        assert created.status_code == 201, created.text


async def tokens_under_any_parameter_spelling_stay_out_of_the_log(
    server: LiveServer, admin_token: str
) -> None:
    token = await server.login()  # a session of its own, seen by the end-of-run scan of every log
    assert token in SECRETS_SEEN
    record = await server.create_record(admin_token)
    spellings = ["%74oken", "TOKEN", "Token", "%2574oken", "to%6Ben", "access_token", "token%3D"]
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        for n, name in enumerate(spellings):
            separator = "" if name.endswith("%3D") else "="
            await http.get(f"/api/auth/me?probe=p{n}&{name}{separator}{token}")
    for name in spellings[:2]:
        with contextlib.suppress(websockets.ConnectionClosed):
            async with websockets.connect(f"{server.ws_url}/{record}?{name}={token}") as socket:
                await socket.close()
    last_probe = f"probe=p{len(spellings) - 1}"
    text: Any = await poll_until(
        lambda: asyncio.to_thread(server.log_path.read_text, errors="replace"),
        lambda log: last_probe in log,
        "the probes in the access log",
    )
    assert token not in text, [line for line in text.splitlines() if token in line]
