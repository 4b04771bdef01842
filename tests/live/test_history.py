"""Who changed what: field-level history with before/after, origins, conflicts and putting values back."""

from __future__ import annotations

from typing import Any

from tests.interop.node_client import NodeClient
from tests.support.live_server import LiveServer


async def history(server: LiveServer, token: str, record: str, **params: Any) -> list[dict[str, Any]]:
    async with server.client(token) as http:
        response = await http.get(f"/api/records/{record}/history", params=params)
        response.raise_for_status()
        changes: list[dict[str, Any]] = response.json()["changes"]
        return changes


async def test_live_edits_are_attributed_with_before_and_after(
    live_server: LiveServer, admin_token: str
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Panda", "revenue": 1000})
    ann_token = await live_server.add_user("ann@example.com", "editor")
    bob_token = await live_server.add_user("bob@example.com", "editor")
    async with NodeClient(name="ann") as ann, NodeClient(name="bob") as bob:
        await ann.connect(live_server.ws_url, record, token=ann_token)
        await bob.connect(live_server.ws_url, record, token=bob_token)
        await ann.set("revenue", 5000)
        await ann.wait_saved()
        await bob.wait_field("revenue", 5000)
        await bob.set("stage", "prospect")
        await bob.wait_saved()
    changes = await history(live_server, admin_token, record)
    summary = [(c["field"], c["before"], c["after"], c["user"]["email"], c["origin"]) for c in changes]
    assert summary == [
        ("stage", None, "prospect", "bob@example.com", "live"),
        ("revenue", 1000, 5000, "ann@example.com", "live"),
        ("revenue", None, 1000, "admin@example.com", "api"),
        ("name", None, "Panda", "admin@example.com", "api"),
    ]
    assert all(not c["conflict"] for c in changes)
    async with live_server.client(admin_token) as http:
        body = (await http.get(f"/api/records/{record}")).json()
    assert body["updated_by"]["email"] == "bob@example.com"
    assert body["updated_at"] >= body["created_at"]
    only_ann = await history(live_server, admin_token, record, user=changes[1]["user"]["id"])
    assert [c["field"] for c in only_ann] == ["revenue"]
    only_revenue = await history(live_server, admin_token, record, field="revenue")
    assert len(only_revenue) == 2
    first_page = await history(live_server, admin_token, record, limit=1)
    second_page = await history(live_server, admin_token, record, limit=1, before=first_page[0]["id"])
    assert second_page[0]["id"] < first_page[0]["id"]
    future = await history(live_server, admin_token, record, since="2999-01-01T00:00:00+00:00")
    assert future == []
    # A third person edits over HTTP: the history names them, with origin `api`, and updated_by follows.
    async with live_server.client(admin_token) as http:
        tag = (await http.get(f"/api/records/{record}")).headers["etag"]
        patched = await http.patch(
            f"/api/records/{record}", json={"fields": {"revenue": 5500}}, headers={"If-Match": tag}
        )
        assert patched.status_code == 200 and patched.json()["updated_by"]["email"] == "admin@example.com"
    latest = (await history(live_server, admin_token, record))[0]
    assert (
        latest["field"],
        latest["before"],
        latest["after"],
        latest["user"]["email"],
        latest["origin"],
    ) == (
        "revenue",
        5000,
        5500,
        "admin@example.com",
        "api",
    )


async def test_an_offline_conflict_shows_both_values_and_the_loser_comes_back(
    live_server: LiveServer, admin_token: str
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Panda", "revenue": 1000})
    ann_token = await live_server.add_user("ann@example.com", "editor")
    bob_token = await live_server.add_user("bob@example.com", "editor")
    async with NodeClient(name="ann") as ann, NodeClient(name="bob") as bob:
        await ann.connect(live_server.ws_url, record, token=ann_token)
        await bob.connect(live_server.ws_url, record, token=bob_token)
        await ann.offline()
        await bob.offline()
        await ann.set("revenue", 5000)
        await bob.set("revenue", 6000)
        await ann.online()
        await ann.wait_saved()
        await bob.online()
        await bob.wait_saved()
        final = (await ann.fields())["revenue"]
        await bob.wait_field("revenue", final)
        changes = await history(live_server, admin_token, record, field="revenue")
        conflict = next(c for c in changes if c["conflict"])
        values = {conflict["winner"]["value"]: conflict["winner"]["user"]["email"]}
        values[conflict["lost"]["value"]] = conflict["lost"]["user"]["email"]
        assert values == {5000: "ann@example.com", 6000: "bob@example.com"}
        assert conflict["winner"]["value"] == final
        loser = conflict["lost"]["value"]
        async with live_server.client(admin_token) as http:
            restored = await http.post(f"/api/records/{record}/history/{conflict['id']}/restore")
            assert restored.status_code == 200 and restored.json()["fields"]["revenue"] == loser
        await ann.wait_field("revenue", loser)
        await bob.wait_field("revenue", loser)
    latest = (await history(live_server, admin_token, record, field="revenue"))[0]
    assert (latest["origin"], latest["after"], latest["user"]["email"]) == (
        "restore",
        loser,
        "admin@example.com",
    )


async def test_typing_makes_one_entry_not_one_per_keystroke(
    live_server: LiveServer, admin_token: str
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Notes"})
    async with NodeClient(name="ann") as ann:
        await ann.connect(live_server.ws_url, record, token=admin_token)
        text = "The quick brown fox jumps over the lazy dog. " * 4 + "Done."
        for char in text[:200]:
            await ann.text_insert("notes", None, char)
        await ann.wait_saved()
    notes = await history(live_server, admin_token, record, field="notes")
    assert 1 <= len(notes) <= 3, len(notes)
    assert notes[0]["after"] == text[:200]


async def test_typing_into_a_long_text_reads_its_newest_value_at_once(
    live_server: LiveServer, admin_token: str
) -> None:
    """A long text's entry is extended in memory (its value written at most once a second): a read of the
    history right after "saved" still shows every keystroke."""
    record = await live_server.create_record(admin_token, {"name": "Notes"})
    async with NodeClient(name="ann") as ann:
        await ann.connect(live_server.ws_url, record, token=admin_token)
        text = "long " * 1_000
        await ann.text_insert("notes", None, text)
        for char in "and more":
            await ann.text_insert("notes", None, char)
        await ann.wait_saved()
        notes = await history(live_server, admin_token, record, field="notes")
    assert notes[0]["after"] == text + "and more"


async def test_history_is_tenant_scoped_and_put_back_needs_an_editor(
    live_server: LiveServer, admin_token: str
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Panda"})
    viewer = await live_server.add_user("viv@example.com", "viewer")
    await live_server.cli("tenant", "add", "other")
    outsider = await live_server.add_user("eve@other.example", "admin", tenant="other")
    change = (await history(live_server, admin_token, record))[0]
    async with live_server.client(viewer) as http:
        assert (await http.get(f"/api/records/{record}/history")).status_code == 200
        assert (await http.post(f"/api/records/{record}/history/{change['id']}/restore")).status_code == 403
    async with live_server.client(outsider) as http:
        assert (await http.get(f"/api/records/{record}/history")).status_code == 404
    async with live_server.client(admin_token) as http:
        assert (await http.post(f"/api/records/{record}/history/999999/restore")).status_code == 404
        assert (await http.post(f"/api/records/{record}/history/x/restore")).status_code == 404
        assert (
            await http.get(f"/api/records/{record}/history", params={"since": "yesterday"})
        ).status_code == 400


async def test_two_people_typing_in_turn_make_one_entry_each_and_nothing_is_a_no_op(
    live_server: LiveServer, admin_token: str
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Panda", "revenue": 1000})
    ann_token = await live_server.add_user("ann@example.com", "editor")
    bob_token = await live_server.add_user("bob@example.com", "editor")
    async with NodeClient(name="ann") as ann, NodeClient(name="bob") as bob:
        await ann.connect(live_server.ws_url, record, token=ann_token)
        await bob.connect(live_server.ws_url, record, token=bob_token)
        value = "Panda "
        for n in range(16):  # 8 + 8 characters, alternately, each person seeing the other's
            typist, other = (ann, bob) if n % 2 == 0 else (bob, ann)
            value += "ab"[n % 2]
            await typist.set("name", value)
            await other.wait_field("name", value)
        # Typed and taken back within one burst: no entry that changes nothing.
        await ann.set("stage", "won")
        await ann.wait_saved()
        await ann.delete("stage")
        await ann.wait_saved()
        await bob.wait_saved()
    names = await history(live_server, admin_token, record, field="name")
    assert len(names) <= 3, names  # the two people's bursts and the create
    assert {c["user"]["email"] for c in names[:-1]} == {"ann@example.com", "bob@example.com"}
    assert max(names[:-1], key=lambda c: len(c["after"]))["after"] == value
    everything = await history(live_server, admin_token, record)
    assert all(c["before"] != c["after"] or c["conflict"] for c in everything), everything


async def test_the_same_value_written_concurrently_is_no_conflict(
    live_server: LiveServer, admin_token: str
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Panda", "revenue": 1000})
    ann_token = await live_server.add_user("ann@example.com", "editor")
    bob_token = await live_server.add_user("bob@example.com", "editor")
    async with NodeClient(name="ann") as ann, NodeClient(name="bob") as bob:
        await ann.connect(live_server.ws_url, record, token=ann_token)
        await bob.connect(live_server.ws_url, record, token=bob_token)
        await ann.offline()
        await bob.offline()
        await ann.set("revenue", 150000)
        await bob.set("revenue", 150000)
        await ann.online()
        await ann.wait_saved()
        await bob.online()
        await bob.wait_saved()
    changes = await history(live_server, admin_token, record, field="revenue")
    assert not any(c["conflict"] for c in changes), changes
    assert all(c["before"] != c["after"] for c in changes), changes


async def test_a_plain_entry_can_be_put_back_and_a_deleted_records_history_stays_readable(
    live_server: LiveServer, admin_token: str
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Panda", "revenue": 1000})
    ann_token = await live_server.add_user("ann@example.com", "editor")
    viewer = await live_server.add_user("viv@example.com", "viewer")
    await live_server.cli("tenant", "add", "other")
    outsider = await live_server.add_user("eve@other.example", "admin", tenant="other")
    async with NodeClient(name="ann") as ann:
        await ann.connect(live_server.ws_url, record, token=ann_token)
        await ann.set("revenue", 5)
        await ann.wait_saved()
        mistake = (await history(live_server, admin_token, record, field="revenue"))[0]
        assert (mistake["before"], mistake["after"], mistake["conflict"]) == (1000, 5, False)
        async with live_server.client(admin_token) as http:
            restored = await http.post(f"/api/records/{record}/history/{mistake['id']}/restore")
            assert restored.status_code == 200 and restored.json()["fields"]["revenue"] == 1000
        await ann.wait_field("revenue", 1000)
    latest = (await history(live_server, admin_token, record, field="revenue"))[0]
    assert (latest["origin"], latest["before"], latest["after"], latest["user"]["email"]) == (
        "restore",
        5,
        1000,
        "admin@example.com",
    )
    async with live_server.client(admin_token) as http:
        assert (await http.delete(f"/api/records/{record}")).status_code in (200, 204)
        assert (await http.get(f"/api/records/{record}")).status_code == 404
    deleted = await history(live_server, viewer, record)
    assert (deleted[0]["field"], deleted[0]["origin"], deleted[0]["user"]["email"]) == (
        "",
        "delete",
        "admin@example.com",
    )
    assert len(deleted) >= 4
    async with live_server.client(outsider) as http:
        assert (await http.get(f"/api/records/{record}/history")).status_code == 404
    async with live_server.client(admin_token) as http:
        put_back = await http.post(f"/api/records/{record}/history/{deleted[0]['id']}/restore")
        assert put_back.status_code == 404  # the record is deleted: nothing to put a value into
        assert (await http.post(f"/api/records/{record}/undelete")).status_code == 200
        put_back = await http.post(f"/api/records/{record}/history/{deleted[0]['id']}/restore")
        assert put_back.status_code == 422  # a deletion is undone by undelete, not put back
    back = (await history(live_server, admin_token, record))[0]
    assert (back["field"], back["origin"], back["before"], back["after"]) == ("", "undelete", None, None)
