"""Open conflicts: the person whose value was replaced is told, the record carries a marker until someone
keeps the winner or puts the lost value back, and everyone on the record hears when that changes."""

from __future__ import annotations

from typing import Any

from tests.support.live_server import LiveServer
from tests.support.sse import FeedClient
from tests.support.yclient import YClient


def _conflict_notices(client: YClient) -> list[dict[str, Any]]:
    return [notice for notice in client.notices if notice.get("kind") == "conflicts"]


async def _conflict(
    live_server: LiveServer, record: str, ann: YClient, bob: YClient, values: tuple[int, int]
) -> None:
    """Ann sets revenue while disconnected, Bob sets it live, Ann comes back: one value replaces the
    other. Both are on the record when the conflict is stored, and both are told."""
    before = (len(_conflict_notices(ann)), len(_conflict_notices(bob)))
    await ann.close()
    ann.fields["revenue"] = values[0]
    bob.fields["revenue"] = values[1]
    await bob.wait_saved()
    await ann.connect()
    await ann.wait_saved()
    await ann.wait_until(lambda: len(_conflict_notices(ann)) > before[0], "a conflicts notice (ann)")
    await bob.wait_until(lambda: len(_conflict_notices(bob)) > before[1], "a conflicts notice (bob)")
    assert _conflict_notices(bob)[-1]["fields"] == ["revenue"]


async def test_a_replaced_value_is_an_open_conflict_until_someone_settles_it(
    live_server: LiveServer, admin_token: str
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Panda", "revenue": 1000})
    ann_token = await live_server.add_user("ann@example.com", "editor")
    bob_token = await live_server.add_user("bob@example.com", "editor")
    viewer_token = await live_server.add_user("vic@example.com", "viewer")
    await live_server.cli("tenant", "add", "rival")
    rival_token = await live_server.add_user("boss@rival.example", "admin", tenant="rival")
    url = f"{live_server.ws_url}/{record}"
    ann = await YClient(url, ann_token).connect()
    bob = await YClient(url, bob_token).connect()
    async with (
        live_server.client(admin_token) as admin,
        live_server.client(viewer_token) as viewer,
        live_server.client(rival_token) as rival,
        FeedClient(live_server.base_url, admin_token, "customers") as feed,
    ):
        await _conflict(live_server, record, ann, bob, (5000, 6000))
        listed = (await viewer.get(f"/api/records/{record}/conflicts")).json()["conflicts"]
        assert len(listed) == 1, listed
        conflict = listed[0]
        current = (await admin.get(f"/api/records/{record}")).json()
        values = {conflict["winner"]["value"]: conflict["winner"]["user"]["email"]}
        values[conflict["lost"]["value"]] = conflict["lost"]["user"]["email"]
        assert values == {5000: "ann@example.com", 6000: "bob@example.com"}
        assert conflict["winner"]["value"] == current["fields"]["revenue"]
        assert (conflict["field"], current["open_conflicts"]) == ("revenue", 1)
        in_collection = (await viewer.get("/api/collections/customers/conflicts")).json()["conflicts"]
        assert [(c["record"], c["id"]) for c in in_collection] == [(record, conflict["id"])]
        summaries = (await admin.get("/api/records", params={"collection": "customers"})).json()["records"]
        assert [r["open_conflicts"] for r in summaries if r["id"] == record] == [1]
        announced = await feed.collect(1, types=("record.conflicts",))
        assert (announced[0].data["record"], announced[0].data["fields"]) == (record, {"open_conflicts": 1})

        # Nobody outside the tenant learns of it; a viewer may read it but not settle it.
        assert (await rival.get(f"/api/records/{record}/conflicts")).status_code == 404
        # (A collection name is the tenant's own: the rival's "customers" has none.)
        assert (await rival.get("/api/collections/customers/conflicts")).json() == {"conflicts": []}
        put_back = f"/api/records/{record}/conflicts/{conflict['id']}/put-back"
        assert (await rival.post(put_back)).status_code == 404
        keep = f"/api/records/{record}/conflicts/{conflict['id']}/keep"
        assert (await viewer.post(put_back)).status_code == 403
        assert (await viewer.post(keep)).status_code == 403

        # The loser puts their value back: it is the field's value, the conflict is settled, both hear it.
        loser = ann if conflict["lost"]["user"]["email"] == "ann@example.com" else bob
        seen = (len(_conflict_notices(ann)), len(_conflict_notices(bob)))
        async with live_server.client(ann_token if loser is ann else bob_token) as http:
            restored = await http.post(put_back)
            assert restored.status_code == 200, restored.text
            body = restored.json()
            assert (body["fields"]["revenue"], body["open_conflicts"]) == (conflict["lost"]["value"], 0)
            assert (await http.post(put_back)).status_code == 409
        await ann.wait_until(lambda: ann.fields.get("revenue") == conflict["lost"]["value"], "put back (ann)")
        await bob.wait_until(lambda: bob.fields.get("revenue") == conflict["lost"]["value"], "put back (bob)")
        await ann.wait_until(lambda: len(_conflict_notices(ann)) > seen[0], "settled notice (ann)")
        await bob.wait_until(lambda: len(_conflict_notices(bob)) > seen[1], "settled notice (bob)")
        assert (await admin.get(f"/api/records/{record}/conflicts")).json()["conflicts"] == []
        assert (await admin.get("/api/collections/customers/conflicts")).json()["conflicts"] == []
        settled = await feed.collect(1, types=("record.conflicts",))
        assert settled[0].data["fields"] == {"open_conflicts": 0}

        # Keep: the value stays, the conflict is settled.
        await _conflict(live_server, record, ann, bob, (7000, 8000))
        (conflict,) = (await admin.get(f"/api/records/{record}/conflicts")).json()["conflicts"]
        kept = await admin.post(f"/api/records/{record}/conflicts/{conflict['id']}/keep")
        assert (kept.status_code, kept.json()) == (200, {"open_conflicts": 0})
        assert (await admin.get(f"/api/records/{record}")).json()["fields"]["revenue"] == conflict["winner"][
            "value"
        ]
        assert (await admin.get(f"/api/records/{record}/conflicts")).json()["conflicts"] == []
        again = await admin.post(f"/api/records/{record}/conflicts/{conflict['id']}/keep")
        assert again.status_code == 409

        # Putting a conflict's value back from the history settles it too.
        await _conflict(live_server, record, ann, bob, (9000, 9500))
        (conflict,) = (await admin.get(f"/api/records/{record}/conflicts")).json()["conflicts"]
        from_history = await admin.post(f"/api/records/{record}/history/{conflict['id']}/restore")
        assert from_history.status_code == 200, from_history.text
        assert from_history.json()["open_conflicts"] == 0
        assert (await admin.get(f"/api/records/{record}/conflicts")).json()["conflicts"] == []
    await ann.close()
    await bob.close()


async def test_a_newer_conflict_of_the_same_field_and_loser_supersedes_the_older(
    live_server: LiveServer, admin_token: str
) -> None:
    ann_token = await live_server.add_user("ann@example.com", "editor")
    first, second = [await live_server.create_record(admin_token, {"revenue": 1}) for _ in range(2)]
    clients = []
    for record in (first, second):
        url = f"{live_server.ws_url}/{record}"
        clients += [await YClient(url, ann_token).connect(), await YClient(url, admin_token).connect()]
    ann, bob, ann_on_second, bob_on_second = clients
    # The same two documents conflict twice: the same client ids, so the same person loses both times.
    await _conflict(live_server, first, ann, bob, (10, 20))
    await _conflict(live_server, first, ann, bob, (30, 40))
    await _conflict(live_server, second, ann_on_second, bob_on_second, (50, 60))
    async with live_server.client(admin_token) as admin:
        history = (await admin.get(f"/api/records/{first}/history", params={"field": "revenue"})).json()
        assert sum(1 for c in history["changes"] if c["conflict"]) == 2
        listed = (await admin.get(f"/api/records/{first}/conflicts")).json()["conflicts"]
        assert len(listed) == 1, listed
        assert listed[0]["lost"]["value"] in (30, 40)  # the newest lost value, not 10 or 20
        assert (await admin.get(f"/api/records/{first}")).json()["open_conflicts"] == 1

        # A collection's list, a page at a time, newest first.
        page = (await admin.get("/api/collections/customers/conflicts", params={"limit": 1})).json()
        assert [c["record"] for c in page["conflicts"]] == [second]
        rest = await admin.get(
            "/api/collections/customers/conflicts", params={"limit": 1, "before": page["next_before"]}
        )
        assert [c["record"] for c in rest.json()["conflicts"]] == [first]
        assert (await admin.get("/api/records", params={"collection": "customers"})).json()["records"][0][
            "open_conflicts"
        ] == 1

        # Keeping settles every open conflict of the field, the superseded one too.
        kept = await admin.post(f"/api/records/{first}/conflicts/{listed[0]['id']}/keep")
        assert kept.json() == {"open_conflicts": 0}
        remaining = (await admin.get("/api/collections/customers/conflicts")).json()["conflicts"]
        assert [c["record"] for c in remaining] == [second]
    for client in clients:
        await client.close()
