"""HTTP edits against a live server: the ETag, PATCH with If-Match through the live room, soft delete."""

from __future__ import annotations

import time
from typing import Any

import pytest
from pycrdt import Text

from collab import close_codes
from tests.interop.node_client import NodeClient
from tests.support.live_server import LiveServer
from tests.support.server_process import ServerProcess
from tests.support.yclient import YClient

MISSING = "0" * 32
LIVE_WITHIN_SECONDS = 0.1


async def user_of(server: LiveServer, token: str) -> dict[str, Any]:
    async with server.client(token) as http:
        user: dict[str, Any] = (await http.get("/api/auth/me")).json()["user"]
        return user


async def get(server: LiveServer, token: str, record: str) -> tuple[dict[str, Any], str]:
    async with server.client(token) as http:
        response = await http.get(f"/api/records/{record}")
        assert response.status_code == 200, response.text
        return response.json(), response.headers["etag"]


@pytest.mark.server_process  # restarted: the document is rebuilt from storage
async def test_the_etag_follows_every_change_deletions_too_and_survives_a_reload(
    live_server: ServerProcess, admin_token: str
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Tag", "notes": "abcdef"})
    _, first = await get(live_server, admin_token, record)
    assert first.startswith('"') and first.endswith('"') and not first.startswith("W/")
    assert (await get(live_server, admin_token, record))[1] == first

    client = await YClient(f"{live_server.ws_url}/{record}", admin_token).connect()
    assert (await get(live_server, admin_token, record))[1] == first  # loading the room changes nothing
    notes = client.fields["notes"]
    assert isinstance(notes, Text)
    del notes[0:2]  # a deletion only: no client's clock moves
    await client.wait_saved()
    body, after_delete = await get(live_server, admin_token, record)
    assert body["fields"]["notes"] == "cdef" and after_delete != first
    client.fields["revenue"] = 10
    await client.wait_saved()
    _, after_set = await get(live_server, admin_token, record)
    assert after_set not in (first, after_delete)
    await client.close()

    await live_server.restart()  # the document is rebuilt from storage: same content, same tag
    token = await live_server.login()
    assert (await get(live_server, token, record))[1] == after_set


async def test_patch_preconditions_and_refusals(live_server: LiveServer, admin_token: str) -> None:
    record = await live_server.create_record(admin_token, {"name": "Guarded", "revenue": 1})
    viewer = await live_server.add_user("vera@example.com", "viewer")
    await live_server.cli("tenant", "add", "rival")
    rival = await live_server.add_user("boss@rival.example", "admin", tenant="rival")
    before, tag = await get(live_server, admin_token, record)
    change = {"fields": {"revenue": 2}}
    async with live_server.client(admin_token) as http:
        missing = await http.patch(f"/api/records/{MISSING}", json=change, headers={"If-Match": tag})
        assert missing.status_code == 404
        no_tag = await http.patch(f"/api/records/{record}", json=change)
        assert no_tag.status_code == 428 and no_tag.json()["error"] == "precondition_required"
        invalid = await http.patch(
            f"/api/records/{record}",
            json={"fields": {"revenue": "lots", "stage": "nope", "unknown": 1, "name": "ok"}},
            headers={"If-Match": tag},
        )
        assert invalid.status_code == 422
        assert set(invalid.json()["fields"]) == {"revenue", "stage", "unknown"}
        for bad_tag in [f"W/{tag}", '"not-the-tag"', tag.strip('"')]:
            stale = await http.patch(f"/api/records/{record}", json=change, headers={"If-Match": bad_tag})
            assert stale.status_code == 412, bad_tag
    async with live_server.client(viewer) as http:
        denied = await http.patch(f"/api/records/{record}", json=change, headers={"If-Match": tag})
        assert denied.status_code == 403
    async with live_server.client(rival) as http:
        foreign = await http.patch(f"/api/records/{record}", json=change, headers={"If-Match": tag})
        assert foreign.status_code == 404 and foreign.json() == missing.json()
    assert await get(live_server, admin_token, record) == (before, tag)  # nothing above changed anything

    async with live_server.client(admin_token) as http:
        ok = await http.patch(f"/api/records/{record}", json=change, headers={"If-Match": f'"x", {tag}'})
        assert ok.status_code == 200 and ok.json()["fields"]["revenue"] == 2
        new_tag = ok.headers["etag"]
        assert new_tag != tag
        stale = await http.patch(
            f"/api/records/{record}", json={"fields": {"revenue": 3}}, headers={"If-Match": tag}
        )
        assert stale.status_code == 412
        assert stale.headers["etag"] == new_tag
        assert stale.json() == {
            "error": "precondition_failed",
            "message": stale.json()["message"],
            "fields": {"name": "Guarded", "revenue": 2},
            "etag": new_tag,
        }
        forced = await http.patch(
            f"/api/records/{record}", json={"fields": {"revenue": None}}, headers={"If-Match": "*"}
        )
        assert forced.status_code == 200 and forced.json()["fields"] == {"name": "Guarded"}
    assert (await get(live_server, admin_token, record))[1] == forced.headers["etag"]


async def test_a_patch_reaches_live_editors_at_once_and_is_attributed(
    live_server: LiveServer, admin_token: str
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Panda", "notes": "Call Monday"})
    pat = await live_server.add_user("pat@example.com", "editor")
    pat_user = await user_of(live_server, pat)
    async with NodeClient(name="ann") as ann:
        await ann.connect(live_server.ws_url, record, token=admin_token)
        _, tag = await get(live_server, pat, record)
        async with live_server.client(pat) as http:
            response = await http.patch(
                f"/api/records/{record}",
                json={"fields": {"revenue": 6000, "notes": "Call Tuesday"}},
                headers={"If-Match": tag},
            )
            answered = time.perf_counter()
        assert response.status_code == 200, response.text
        await ann.wait_field("revenue", 6000)
        await ann.wait_field("notes", "Call Tuesday")
        seen_after = time.perf_counter() - answered
        assert seen_after < LIVE_WITHIN_SECONDS, f"the live editor saw the PATCH {seen_after:.3f}s late"

        body = response.json()
        assert body["fields"] == {"name": "Panda", "notes": "Call Tuesday", "revenue": 6000}
        assert body["updated_by"] == {
            "id": pat_user["id"],
            "name": pat_user["name"],
            "email": pat_user["email"],
        }
        again, again_tag = await get(live_server, admin_token, record)
        assert again == body and again_tag == response.headers["etag"]

        # The rich text was replaced in place: the live editor's Y.Text keeps working.
        await ann.text_insert("notes", None, "!")
        await ann.wait_saved()
        fields, _ = await get(live_server, admin_token, record)
        assert fields["fields"]["notes"] == "Call Tuesday!"
    async with live_server.client(admin_token) as http:
        changes = (await http.get(f"/api/records/{record}/history")).json()["changes"]
    api_changes = {(c["field"], c["origin"], c["user"]["id"]) for c in changes if c["origin"] == "api"}
    assert ("revenue", "api", pat_user["id"]) in api_changes


async def test_delete_closes_live_sockets_and_undelete_brings_the_record_back(
    live_server: LiveServer, admin_token: str
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Doomed"})
    editor = await live_server.add_user("ed@example.com", "editor")
    viewer = await live_server.add_user("vic@example.com", "viewer")
    python = await YClient(f"{live_server.ws_url}/{record}", admin_token).connect()
    async with NodeClient(name="ed") as ed:
        await ed.connect(live_server.ws_url, record, token=editor)
        async with live_server.client(viewer) as http:
            assert (await http.delete(f"/api/records/{record}")).status_code == 403
        async with live_server.client(editor) as http:
            assert (await http.delete(f"/api/records/{record}")).status_code == 204
        assert await python.wait_closed() == close_codes.NOT_FOUND
        await python.close()
        assert (await ed.wait_close(close_codes.NOT_FOUND)).code == close_codes.NOT_FOUND

    async with live_server.client(admin_token) as http:
        missing = await http.get(f"/api/records/{MISSING}")
        gone = await http.get(f"/api/records/{record}")
        assert gone.status_code == 404 and gone.json() == missing.json()
        patched = await http.patch(f"/api/records/{record}", json={"fields": {}}, headers={"If-Match": "*"})
        assert patched.status_code == 404
        assert (await http.get(f"/api/records/{record}/snapshots")).status_code == 404
        assert (await http.delete(f"/api/records/{record}")).status_code == 404
        listed = (await http.get("/api/records", params={"collection": "customers"})).json()["records"]
        assert record not in {r["id"] for r in listed}
    refused = YClient(f"{live_server.ws_url}/{record}", admin_token)
    await refused.connect(wait_synced=False)
    assert await refused.wait_closed() == close_codes.NOT_FOUND
    await refused.close()

    async with live_server.client(viewer) as http:
        assert (await http.post(f"/api/records/{record}/undelete")).status_code == 403
    async with live_server.client(editor) as http:
        assert (await http.post(f"/api/records/{MISSING}/undelete")).status_code == 404
        back = await http.post(f"/api/records/{record}/undelete")
        assert back.status_code == 200 and back.json()["fields"] == {"name": "Doomed"}
    assert (await get(live_server, viewer, record))[0]["fields"] == {"name": "Doomed"}
    again = await YClient(f"{live_server.ws_url}/{record}", editor).connect()
    assert again.fields.to_py() == {"name": "Doomed"}
    await again.close()
