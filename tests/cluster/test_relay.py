"""The relay between nodes: a socket that reaches a node that does not own its record is served by the
owner, with the owner's close codes; only the deployment's own nodes can relay."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import websockets

from auth.principal import Principal, Role
from collab.cluster import relay_auth
from tests.support.nodes import POSTGRES_ONLY, cluster_env, running_nodes
from tests.support.owners import owner_of, scalar
from tests.support.yclient import YClient

pytestmark = [POSTGRES_ONLY, pytest.mark.server_process]

MAX_MESSAGE_BYTES = 4096


async def test_a_relayed_socket_gets_the_owners_close_code(database_url: str, tmp_path: Path) -> None:
    env = cluster_env(COLLAB_MAX_MESSAGE_BYTES=str(MAX_MESSAGE_BYTES))
    async with running_nodes(database_url, tmp_path, env=env) as (a, b):
        token = await a.login()
        record = await a.create_record(token)
        witness = await YClient(f"{a.ws_url}/{record}", token).connect()
        assert await owner_of(database_url, record) == "node0"
        relayed = await YClient(f"{b.ws_url}/{record}", token).connect()
        await relayed.send(b"\x00" * (MAX_MESSAGE_BYTES + 1))  # above the owner's cap, under the edge's
        assert await relayed.wait_closed() == 4413
        # The owner's room carries on, and a relayed client still edits it.
        again = await YClient(f"{b.ws_url}/{record}", token).connect()
        again.fields["stage"] = "lead"
        await again.wait_saved()
        await witness.wait_until(lambda: witness.fields.get("stage") == "lead", "the relayed edit")
        await witness.close()
        await again.close()


async def test_a_forged_or_expired_relay_header_is_refused(database_url: str, tmp_path: Path) -> None:
    env = cluster_env()
    key = relay_auth.relay_key(env["COLLAB_SECRET_KEY"])
    async with running_nodes(database_url, tmp_path, count=1, env=env) as (a,):
        token = await a.login()
        record = await a.create_record(token)
        async with a.client(token) as http:
            me = (await http.get("/api/auth/me")).json()["user"]
        tenant = await scalar(database_url, "SELECT id FROM tenants WHERE slug = :s", s=me["tenant"])
        principal = Principal(
            user_id=me["id"], tenant_id=tenant, tenant_slug=me["tenant"], email=me["email"],
            name=me["name"], role=Role(me["role"]), session_id="s" * 32,
        )  # fmt: skip
        now = time.time()
        wrong_key = relay_auth.relay_key("another deployment")
        refused = {
            "forged": relay_auth.sign(wrong_key, principal, record, now),
            "expired": relay_auth.sign(key, principal, record, now - 60),
            "another record": relay_auth.sign(key, principal, "0" * 32, now),
            "garbage": "not.a-header",
        }
        url = f"{a.ws_url}/{record}"
        for what, header in refused.items():
            async with websockets.connect(url, additional_headers={relay_auth.HEADER: header}) as socket:
                with pytest.raises(websockets.ConnectionClosed):
                    await socket.recv()
                assert socket.close_code == 4403, what
        # The same, validly signed, is served: no session token needed (the edge node checked it).
        fresh = relay_auth.sign(key, principal, record, time.time())
        async with websockets.connect(url, additional_headers={relay_auth.HEADER: fresh}) as socket:
            assert (await socket.recv())[0] == 0  # the room's sync step 1


async def test_a_session_ended_on_the_edge_node_closes_its_relayed_socket(
    database_url: str, tmp_path: Path
) -> None:
    async with running_nodes(database_url, tmp_path) as (a, b):
        admin = await a.login()
        record = await a.create_record(admin)
        witness = await YClient(f"{a.ws_url}/{record}", admin).connect()
        token = await b.add_user("ed@example.com", "editor")
        relayed = await YClient(f"{b.ws_url}/{record}", token).connect()
        async with b.client(token) as http:
            assert (await http.post("/api/auth/logout")).status_code == 204
        # Well within the owner's own session check (10 s): the edge node closes it at once.
        assert await relayed.wait_closed(within=2.0) == 4401
        await witness.close()
