"""Deleting a user and seeing who is online (issue 19): SQLite and PostgreSQL, a real server and clients."""

from __future__ import annotations

from typing import Any

from tests.support.live_server import LiveServer
from tests.support.yclient import YClient


async def _get(live_server: LiveServer, token: str, path: str) -> Any:
    async with live_server.client(token) as http:
        response = await http.get(path)
        assert response.status_code == 200, response.text
        return response.json()


async def test_a_deleted_user_is_anonymised_signed_out_and_their_id_stays_in_history(
    live_server: LiveServer, admin_token: str
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Panda"})
    async with live_server.client(admin_token) as http:
        made = await http.post(
            "/api/admin/users",
            json={"email": "bob@example.com", "role": "editor", "password": "bob-password-1"},
        )
        assert made.status_code == 201, made.text  # audited with the email, which deletion must remove
    bob = await live_server.login("bob@example.com", "bob-password-1")
    async with live_server.client(bob) as http:
        etag = (await http.get(f"/api/records/{record}")).headers["ETag"]
        edit = await http.patch(
            f"/api/records/{record}", json={"fields": {"name": "Panda B"}}, headers={"If-Match": etag}
        )
        assert edit.is_success, edit.text
    socket = await YClient(f"{live_server.ws_url}/{record}", bob).connect()
    users = (await _get(live_server, admin_token, "/api/admin/users"))["users"]
    bob_id = next(user["id"] for user in users if user["email"] == "bob@example.com")

    async with live_server.client(admin_token) as http:
        assert (await http.delete(f"/api/admin/users/{bob_id}")).status_code == 204
        again = await http.delete(f"/api/admin/users/{bob_id}")
        assert again.status_code == 404
    await socket.wait(socket.closed.wait(), "the deleted user's socket to close")
    assert socket.close_code == 4403
    async with live_server.client(bob) as http:
        assert (await http.get("/api/auth/me")).status_code == 401

    users = (await _get(live_server, admin_token, "/api/admin/users"))["users"]
    assert bob_id not in {user["id"] for user in users}
    history = (await _get(live_server, admin_token, f"/api/records/{record}/history"))["changes"]
    bobs = [entry for entry in history if (entry.get("user") or {}).get("id") == bob_id]
    assert bobs, history
    assert all(entry["user"]["name"] == "Deleted user" for entry in bobs)
    assert "bob@example.com" not in str(history)
    audit = (await _get(live_server, admin_token, "/api/admin/audit"))["entries"]
    assert "bob@example.com" not in str(audit)
    assert any(entry["action"] == "user.delete" for entry in audit)

    # The address may be used again, by a new account with a new id.
    fresh = await live_server.add_user("bob@example.com", "viewer", password="another-password-1")
    me = await _get(live_server, fresh, "/api/auth/me")
    assert me["user"]["id"] != bob_id


async def test_admins_cannot_delete_themselves_nor_another_tenants_user(
    live_server: LiveServer, admin_token: str
) -> None:
    me = (await _get(live_server, admin_token, "/api/auth/me"))["user"]
    await live_server.cli("tenant", "add", "other")
    other = await live_server.add_user("olga@example.com", "admin", tenant="other")
    olga = (await _get(live_server, other, "/api/auth/me"))["user"]
    editor = await live_server.add_user("eve@example.com", "editor")
    async with live_server.client(admin_token) as http:
        assert (await http.delete(f"/api/admin/users/{me['id']}")).status_code == 422
        assert (await http.delete(f"/api/admin/users/{olga['id']}")).status_code == 404
    async with live_server.client(editor) as http:
        assert (await http.delete(f"/api/admin/users/{olga['id']}")).status_code == 403
        assert (await http.get("/api/admin/online")).status_code == 403


async def test_admins_see_who_is_online_across_the_tenant(live_server: LiveServer, admin_token: str) -> None:
    first = await live_server.create_record(admin_token, {"name": "Panda Logistics"})
    second = await live_server.create_record(admin_token, {"name": "Otter Freight"})
    ann = await live_server.add_user("ann@example.com", "editor")
    await live_server.cli("tenant", "add", "other")
    stranger = await live_server.add_user("sam@example.com", "admin", tenant="other")
    others = await live_server.create_record(stranger, {"name": "Secret"})
    clients = [
        await YClient(f"{live_server.ws_url}/{first}", ann).connect(),
        await YClient(f"{live_server.ws_url}/{second}", ann).connect(),
        await YClient(f"{live_server.ws_url}/{others}", stranger).connect(),
    ]
    people = (await _get(live_server, admin_token, "/api/admin/online"))["people"]
    assert [person["name"] for person in people] == ["ann"]
    titles = sorted(record["title"] for record in people[0]["records"])
    assert titles == ["Otter Freight", "Panda Logistics"]
    assert all(record["collection"] == "customers" and record["since"] for record in people[0]["records"])
    assert "Secret" not in str(people)
    for client in clients:
        await client.close()
