"""1,000 randomised attempts to reach another tenant: none succeeds, none differs from a missing record."""

from __future__ import annotations

import random
import string

import httpx

from collab import close_codes
from tests.support.live_server import LiveServer
from tests.support.yclient import YClient

ATTEMPTS = 1000
WS_SHARE = 0.2


def mangle(rng: random.Random, value: str) -> str:
    """A near miss of `value`, never `value` itself."""
    while (mangled := _mangle_once(rng, value)) == value:
        pass
    return mangled


def _mangle_once(rng: random.Random, value: str) -> str:
    choice = rng.randrange(5)
    if choice == 0:
        return value.upper()
    if choice == 1:
        return value[:-1] + rng.choice(string.hexdigits.lower())
    if choice == 2:
        return value + rng.choice(["/", "%00", "x", "..", "%2F"])
    if choice == 3:
        return value[: rng.randrange(1, len(value))]
    return "".join(rng.sample(value, len(value)))


async def test_cross_tenant_attempts_all_fail_like_missing_records(
    live_server: LiveServer, admin_token: str
) -> None:
    rng = random.Random(4404)
    await live_server.cli("tenant", "add", "rival")
    rival_admin = await live_server.add_user("boss@rival.example", "admin", tenant="rival")
    rival_viewer = await live_server.add_user("peek@rival.example", "viewer", tenant="rival")
    mine = [await live_server.create_record(admin_token, {"name": f"Mine {n}"}) for n in range(5)]
    theirs = [await live_server.create_record(rival_admin, {"name": f"Theirs {n}"}) for n in range(5)]
    async with live_server.client(admin_token) as http:
        my_users = {u["id"] for u in (await http.get("/api/admin/users")).json()["users"]}
    missing_body = None
    succeeded = []
    async with live_server.client() as http:
        for attempt in range(ATTEMPTS):
            token = rng.choice(
                [rival_admin, rival_viewer, mangle(rng, rival_admin), mangle(rng, admin_token)]
            )
            target = rng.choice([*mine, mangle(rng, rng.choice(mine))])
            headers = {"authorization": f"Bearer {token}"}
            if rng.random() < WS_SHARE:
                client = YClient(f"{live_server.ws_url}/{target}", token)
                await client.connect(wait_synced=False)
                code = await client.wait_closed()
                if code not in (close_codes.NOT_FOUND, close_codes.NOT_AUTHENTICATED, 1008):
                    succeeded.append((attempt, "ws", target, code))
                continue
            method, path, body = rng.choice(
                [
                    ("GET", f"/api/records/{target}", None),
                    ("GET", f"/api/records/{target}/presence", None),
                    ("GET", "/api/records?collection=customers", None),
                    ("POST", "/api/records", {"collection": "customers", "fields": {"name": "planted"}}),
                    ("PATCH", f"/api/admin/users/{rng.choice(sorted(my_users))}", {"active": False}),
                    ("POST", f"/api/admin/users/{rng.choice(sorted(my_users))}/password", {}),
                ]
            )
            response = await http.request(method, path, json=body, headers=headers)
            if not check(response, mine, my_users):
                succeeded.append((attempt, method, path, response.status_code, response.text[:200]))
            if response.status_code == 404 and path.startswith("/api/records/"):
                missing_body = missing_body or response.json()
                if response.json() != missing_body:
                    succeeded.append((attempt, "distinguishable 404", path, response.text))
    assert not succeeded, succeeded[:5]
    async with live_server.client(admin_token) as http:
        names = [
            r["fields"]["name"]
            for r in (await http.get("/api/records?collection=customers")).json()["records"]
        ]
        assert sorted(names) == sorted(f"Mine {n}" for n in range(5))  # nothing planted, nothing lost
        assert all(u["active"] for u in (await http.get("/api/admin/users")).json()["users"])
    assert theirs  # the rival's own records exist, so the attempts had a real neighbour


def check(response: httpx.Response, mine: list[str], my_users: set[str]) -> bool:
    """True when the attempt learned and changed nothing of the other tenant."""
    if response.status_code in (401, 403, 404, 400):
        return True
    if response.status_code == 200 and "records" in response.text:
        ids = {r["id"] for r in response.json().get("records", [])}
        return not ids & set(mine)
    if response.status_code == 201:
        return response.json().get("id") not in mine  # created in the caller's own tenant
    return False
