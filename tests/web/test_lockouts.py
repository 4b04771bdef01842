"""Failed-login throttling over HTTP: a stranger cannot lock the owner out, and admins see and clear it.

In process (the concurrent races are in tests/live/test_abuse_limits.py); every login claims its own
source address through the ASGI transport.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx

from auth.accounts import add_tenant, add_user
from persistence.database import Database
from tests.support.live_server import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.web.conftest import USER_PASSWORD, InProcess

STRANGER, LATECOMER, NEWCOMER, OWNER = "127.0.0.9", "127.0.0.10", "127.0.0.11", "127.0.0.12"
ACCOUNT_BUDGET = 8


async def attempt(served: InProcess, email: str, password: str, address: str) -> int:
    async with served.client(address=address) as http:
        body = {"tenant": "default", "email": email, "password": password}
        return (await http.post("/api/auth/login", json=body)).status_code


async def lockouts(http: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    response = await http.get("/api/admin/lockouts")
    assert response.status_code == 200, response.text
    return {entry["key"]: entry for entry in response.json()["lockouts"]}


async def test_a_stranger_cannot_lock_the_owner_out(
    serve_in_process: Callable[..., AbstractAsyncContextManager[InProcess]],
) -> None:
    async with serve_in_process(login_failures_per_account=ACCOUNT_BUDGET) as served:
        admin = await served.login()
        await served.add_user(admin, "ann@example.com", "editor")
        for email, right in (("ann@example.com", USER_PASSWORD), (ADMIN_EMAIL, ADMIN_PASSWORD)):
            codes = [await attempt(served, email, "wrong-password", STRANGER) for _ in range(6)]
            assert codes == [401] * 5 + [429], (email, codes)
            assert await attempt(served, email, right, STRANGER) == 429  # that pair is locked...
            assert await attempt(served, email, right, OWNER) == 200  # ...its owner elsewhere is not

        # The account-wide budget (8) is spent by a second address: from then on it only slows guessing,
        # each further address gets one try, and the owner on a fresh address still gets in.
        codes = [await attempt(served, "ann@example.com", "wrong-password", LATECOMER) for _ in range(4)]
        assert codes == [401, 401, 401, 429], codes
        codes = [await attempt(served, "ann@example.com", "wrong-password", NEWCOMER) for _ in range(2)]
        assert codes == [401, 429], codes
        assert await attempt(served, "ann@example.com", USER_PASSWORD, "127.0.0.13") == 200


async def test_admins_see_and_clear_lockouts_of_their_own_tenant(
    serve_in_process: Callable[..., AbstractAsyncContextManager[InProcess]],
) -> None:
    async with serve_in_process() as served:
        admin = await served.login()
        editor = await served.add_user(admin, "ann@example.com", "editor")
        async with Database(served.settings.database_url) as database, database.session() as session:
            rival = await add_tenant(session, "rival")
            await add_user(session, rival, email="boss@rival.example", role="admin", password=USER_PASSWORD)
            await session.commit()
        async with served.client() as http:
            body = {"tenant": "rival", "email": "boss@rival.example", "password": USER_PASSWORD}
            rival_admin = (await http.post("/api/auth/login", json=body)).json()["token"]
        for _ in range(5):
            assert await attempt(served, "ann@example.com", "wrong-password", STRANGER) == 401

        async with served.client(admin) as http:
            found = await lockouts(http)
            pair = "account_address:ann@example.com|127.0.0.9"
            assert found[pair] == {
                "key": pair,
                "kind": "account_address",
                "email": "ann@example.com",
                "address": STRANGER,
                "failures": 5,
                "limit": 5,
                "locked": True,
                "retry_after_seconds": found[pair]["retry_after_seconds"],
            }
            assert 0 < found[pair]["retry_after_seconds"] <= 900
            assert not found["address:127.0.0.9"]["locked"] and found["address:127.0.0.9"]["failures"] == 5
            assert not found["account:ann@example.com"]["locked"]

            # Named in the body or in the query; a key the listing does not have is a 404. An address is
            # listed while it has failures on this tenant's accounts: cleared first, then the pair.
            cleared = await http.request("DELETE", "/api/admin/lockouts", json={"key": "address:127.0.0.9"})
            assert cleared.status_code == 204
            assert (await http.delete("/api/admin/lockouts", params={"key": pair})).status_code == 204
            assert (await http.delete("/api/admin/lockouts", params={"key": pair})).status_code == 404
            assert (await http.delete("/api/admin/lockouts")).status_code == 400
            assert pair not in await lockouts(http)
            audit = (await http.get("/api/admin/audit")).json()["entries"]
            assert [e["detail"] for e in audit if e["action"] == "lockout.clear"] == [
                {"key": pair},
                {"key": "address:127.0.0.9"},
            ]
        assert await attempt(served, "ann@example.com", "wrong-password", STRANGER) == 401

        async with served.client(editor) as http:
            assert (await http.get("/api/admin/lockouts")).status_code == 403
            assert (await http.delete("/api/admin/lockouts", params={"key": pair})).status_code == 403
        async with served.client(rival_admin) as http:
            assert await lockouts(http) == {}  # another tenant's accounts, and the addresses they came from
            assert (
                await http.delete("/api/admin/lockouts", params={"key": "address:127.0.0.9"})
            ).status_code == 404


async def test_the_limit_per_account_and_address_is_a_setting(
    serve_in_process: Callable[..., AbstractAsyncContextManager[InProcess]],
) -> None:
    async with serve_in_process(login_failures_per_account_address=2) as served:
        codes = [await attempt(served, ADMIN_EMAIL, "wrong-password", STRANGER) for _ in range(3)]
        assert codes == [401, 401, 429]
