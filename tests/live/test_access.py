"""Who may do what, shown against a live server on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import websockets

from collab import close_codes
from collab.ycodec import protocol
from tests.interop.node_client import NodeClient
from tests.support.app_server import AppServer
from tests.support.live_server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer
from tests.support.yclient import YClient

REVOCATION_DEADLINE_SECONDS = 1.0


async def test_a_viewer_sends_2000_updates_and_none_is_applied(
    live_server: LiveServer, admin_token: str
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Read only"})
    url = f"{live_server.ws_url}/{record}"
    viewer = await YClient(url, await live_server.add_user("viv@example.com", "viewer")).connect()
    editor = await YClient(url, admin_token).connect()
    for n in range(2000):
        viewer.fields["forged"] = n
    await viewer.wait_until(lambda: viewer.denied >= 1, "permission-denied")
    editor.fields["stage"] = "lead"
    await viewer.wait_until(
        lambda: viewer.fields.get("stage") == "lead", "the editor's edit reaches the viewer"
    )
    await editor.wait_saved()
    assert viewer.close_code is None and viewer.denied == 1
    async with live_server.client(admin_token) as http:
        assert (await http.get(f"/api/records/{record}")).json()["fields"] == {
            "name": "Read only",
            "stage": "lead",
        }
    await viewer.close()
    await editor.close()


async def test_revoking_a_session_closes_its_socket_within_a_second(live_server: LiveServer) -> None:
    laptop = await live_server.login()
    phone = await live_server.login()
    record = await live_server.create_record(laptop)
    socket = await YClient(f"{live_server.ws_url}/{record}", phone).connect()
    async with live_server.client(laptop) as http:
        listed = (await http.get("/api/auth/sessions")).json()["sessions"]
        assert len(listed) == 2 and sum(s["current"] for s in listed) == 1
        other = next(s for s in listed if not s["current"])
        started = asyncio.get_running_loop().time()
        assert (await http.delete(f"/api/auth/sessions/{other['id']}")).status_code == 204
    assert await socket.wait_closed(REVOCATION_DEADLINE_SECONDS) == close_codes.NOT_AUTHENTICATED
    assert asyncio.get_running_loop().time() - started < REVOCATION_DEADLINE_SECONDS
    async with live_server.client(phone) as http:
        assert (await http.get("/api/auth/me")).status_code == 401
    async with live_server.client(laptop) as http:
        assert (await http.delete(f"/api/auth/sessions/{other['id']}")).status_code == 404
        assert (await http.get("/api/auth/me")).status_code == 200


async def test_revoke_all_other_sessions(live_server: LiveServer) -> None:
    keep = await live_server.login()
    others = [await live_server.login() for _ in range(3)]
    async with live_server.client(keep) as http:
        assert (await http.post("/api/auth/sessions/revoke-others")).json() == {"revoked": 3}
        assert [s["current"] for s in (await http.get("/api/auth/sessions")).json()["sessions"]] == [True]
    for token in others:
        async with live_server.client(token) as http:
            assert (await http.get("/api/auth/me")).status_code == 401


async def test_deactivating_a_user_and_lowering_a_role_act_at_once(
    live_server: LiveServer, admin_token: str
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Team"})
    url = f"{live_server.ws_url}/{record}"
    async with live_server.client(admin_token) as http:
        users: dict[str, str] = {}
        for email in ("ed@example.com", "gone@example.com"):
            created = await http.post("/api/admin/users", json={"email": email, "role": "editor"})
            assert created.status_code == 201 and len(created.json()["password"]) >= 12
            users[email] = created.json()["id"]
    ed_password = None
    async with live_server.client(admin_token) as http:
        reset = await http.post(f"/api/admin/users/{users['ed@example.com']}/password", json={})
        ed_password = reset.json()["password"]
        await http.post(
            f"/api/admin/users/{users['gone@example.com']}/password", json={"password": "gone-pass-1"}
        )
    ed = await YClient(url, await live_server.login("ed@example.com", ed_password)).connect()
    gone = await YClient(url, await live_server.login("gone@example.com", "gone-pass-1")).connect()
    ed.fields["email"] = "allowed"
    await ed.wait_saved()
    async with live_server.client(admin_token) as http:
        started = asyncio.get_running_loop().time()
        lowered = await http.patch(f"/api/admin/users/{users['ed@example.com']}", json={"role": "viewer"})
        assert lowered.json()["role"] == "viewer"
        deactivated = await http.patch(
            f"/api/admin/users/{users['gone@example.com']}", json={"active": False}
        )
        assert deactivated.json()["active"] is False
    assert await gone.wait_closed(REVOCATION_DEADLINE_SECONDS) == close_codes.FORBIDDEN
    assert asyncio.get_running_loop().time() - started < REVOCATION_DEADLINE_SECONDS
    ed.fields["stage"] = "lead"
    await ed.wait_until(lambda: ed.denied >= 1, "permission-denied after the role change")
    async with live_server.client(admin_token) as http:
        fields = (await http.get(f"/api/records/{record}")).json()["fields"]
        assert fields == {"name": "Team", "email": "allowed"}
        audit = (await http.get("/api/admin/audit")).json()["entries"]
    actions = [entry["action"] for entry in audit]
    for action in ("user.create", "user.password_reset", "user.role", "user.deactivate", "login"):
        assert action in actions
    role_change = next(e for e in audit if e["action"] == "user.role")
    assert role_change["actor"]["email"] == ADMIN_EMAIL and role_change["target"]["email"] == "ed@example.com"
    assert role_change["detail"] == {"from": "editor", "to": "viewer"}
    await ed.close()


async def test_admin_api_is_for_admins_of_the_tenant(live_server: LiveServer, admin_token: str) -> None:
    editor = await live_server.add_user("ed@example.com", "editor")
    async with live_server.client(editor) as http:
        for method, path in [
            ("GET", "/api/admin/users"),
            ("POST", "/api/admin/users"),
            ("GET", "/api/admin/audit"),
            ("PATCH", f"/api/admin/users/{'0' * 32}"),
        ]:
            assert (await http.request(method, path, json={})).status_code == 403, path
    await live_server.cli("tenant", "add", "other")
    outsider = await live_server.add_user("boss@other.example", "admin", tenant="other")
    async with live_server.client(admin_token) as http:
        me = (await http.get("/api/auth/me")).json()["user"]
        assert (await http.patch(f"/api/admin/users/{me['id']}", json={"role": "editor"})).status_code == 409
        assert (await http.post("/api/admin/users", json={"email": "x", "role": "editor"})).status_code == 422
    async with live_server.client(outsider) as http:
        assert [u["email"] for u in (await http.get("/api/admin/users")).json()["users"]] == [
            "boss@other.example"
        ]
        assert (await http.patch(f"/api/admin/users/{me['id']}", json={"active": False})).status_code == 404
        assert all(e["actor"] is None or e["actor"]["email"] == "boss@other.example"
                   for e in (await http.get("/api/admin/audit")).json()["entries"])  # fmt: skip


async def test_failed_logins_are_throttled(live_server: LiveServer) -> None:
    async with live_server.client() as http:
        wrong = {"tenant": "default", "email": ADMIN_EMAIL, "password": "wrong-password"}
        codes = [(await http.post("/api/auth/login", json=wrong)).status_code for _ in range(6)]
        assert codes == [401] * 5 + [429]
        blocked = await http.post(
            "/api/auth/login", json={"tenant": "default", "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0


async def test_message_rate_limit_and_connection_cap(database_url: str, tmp_path: Path) -> None:
    env = {
        "COLLAB_MAX_MESSAGES_PER_SECOND": "50",
        "COLLAB_MESSAGE_BURST": "100",
        "COLLAB_MAX_CONNECTIONS_PER_USER": "3",
    }
    server = AppServer(database_url, tmp_path / "server.log", env=env)
    await server.start()
    try:
        token = await server.login()
        record = await server.create_record(token)
        url = f"{server.ws_url}/{record}"
        flooder = await YClient(url, token).connect()
        for _ in range(500):
            await flooder.send(bytes([protocol.QUERY_AWARENESS]))
        assert await flooder.wait_closed() == close_codes.RATE_LIMITED
        kept = [await YClient(url, token).connect() for _ in range(3)]
        extra = YClient(url, token)
        await extra.connect(wait_synced=False)
        assert await extra.wait_closed() == close_codes.RATE_LIMITED
        for client in kept:
            await client.close()
    finally:
        await server.stop()


async def test_idle_sessions_expire(database_url: str, tmp_path: Path) -> None:
    server = AppServer(database_url, tmp_path / "server.log", env={"COLLAB_SESSION_IDLE_SECONDS": "1"})
    await server.start()
    try:
        token = await server.login()
        async with server.client(token) as http:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 10
            while (await http.get("/api/auth/me")).status_code == 200:
                assert loop.time() < deadline, "the idle session never expired"
                await asyncio.sleep(0.2)  # polling the server under a deadline
    finally:
        await server.stop()


async def test_foreign_origins_are_refused(live_server: LiveServer, admin_token: str) -> None:
    record = await live_server.create_record(admin_token)
    with_cookie = {"cookie": f"collab_session={admin_token}"}
    async with live_server.client() as http:
        evil = {**with_cookie, "origin": "https://evil.example"}
        assert (
            await http.post("/api/records", json={"collection": "customers"}, headers=evil)
        ).status_code == 403
        ours = {**with_cookie, "origin": live_server.base_url}
        assert (
            await http.post("/api/records", json={"collection": "customers"}, headers=ours)
        ).status_code == 201
        assert (
            await http.get(f"/api/records/{record}", headers=evil)
        ).status_code == 200  # reads are not CSRF
        login = {"tenant": "default", "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        assert (
            await http.post("/api/auth/login", json=login, headers={"origin": "https://evil.example"})
        ).status_code == 403
    socket = await websockets.connect(
        f"{live_server.ws_url}/{record}", origin="https://evil.example", additional_headers=with_cookie
    )
    with contextlib.suppress(websockets.ConnectionClosed):
        async with asyncio.timeout(10):
            async for _ in socket:
                pass
    assert socket.close_code == close_codes.FORBIDDEN


async def test_presence_comes_from_the_servers_own_connections(
    live_server: LiveServer, admin_token: str
) -> None:
    record = await live_server.create_record(admin_token)
    bob_token = await live_server.add_user("bob@example.com", "editor")
    async with NodeClient(name="bob") as bob:
        await bob.connect(live_server.ws_url, record, token=bob_token)
        await bob.set_awareness({"user": {"name": "Someone Else"}, "field": "revenue"})
        watcher = await YClient(f"{live_server.ws_url}/{record}", admin_token).connect()
        await watcher.wait_until(
            lambda: any(e.state and e.state.get("field") for e in watcher.awareness), "state"
        )
        async with live_server.client(admin_token) as http:
            users = (await http.get(f"/api/records/{record}/presence")).json()["users"]
        by_name = {user["name"]: user for user in users}
        assert set(by_name) == {"bob", "Admin"}
        assert by_name["bob"]["field"] == "revenue" and by_name["bob"]["since"]
        await watcher.close()
    async with live_server.client(admin_token) as http:
        assert (await http.get(f"/api/records/{record}/presence")).json()["users"] == []
