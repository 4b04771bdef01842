"""History filtered by person, field and conflicts; the "why" given with an HTTP edit or a put-back."""

from __future__ import annotations

from typing import Any

from tests.interop.node_client import NodeClient
from tests.live.test_history import history
from tests.support.live_server import LiveServer


async def patch(server: LiveServer, token: str, record: str, body: dict[str, Any]) -> Any:
    async with server.client(token) as http:
        tag = (await http.get(f"/api/records/{record}")).headers["etag"]
        return await http.patch(f"/api/records/{record}", json=body, headers={"If-Match": tag})


async def test_filters_by_person_field_and_conflicts_combine_with_the_cursor(
    live_server: LiveServer, admin_token: str
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Panda", "revenue": 1000})
    ann_token = await live_server.add_user("ann@example.com", "editor")
    bob_token = await live_server.add_user("bob@example.com", "editor")
    async with NodeClient(name="ann") as ann, NodeClient(name="bob") as bob:
        await ann.connect(live_server.ws_url, record, token=ann_token)
        await bob.connect(live_server.ws_url, record, token=bob_token)
        await ann.set("stage", "lead")
        await ann.wait_saved()
        await bob.wait_field("stage", "lead")
        await bob.set("name", "Panda Logistics")
        await bob.wait_saved()
        await ann.offline()
        await bob.offline()
        await ann.set("revenue", 5000)
        await bob.set("revenue", 6000)
        await ann.online()
        await ann.wait_saved()
        await bob.online()
        await bob.wait_saved()
        await bob.wait_field("revenue", (await ann.fields())["revenue"])
    everything = await history(live_server, admin_token, record)
    ann_id = next(c["user"]["id"] for c in everything if c["user"]["email"] == "ann@example.com")
    bob_id = next(c["user"]["id"] for c in everything if c["user"]["email"] == "bob@example.com")

    by_ann = await history(live_server, admin_token, record, user=ann_id)
    assert by_ann and {c["user"]["email"] for c in by_ann} == {"ann@example.com"}
    assert "stage" in {c["field"] for c in by_ann}
    bob_names = await history(live_server, admin_token, record, user=bob_id, field="name")
    assert [(c["before"], c["after"]) for c in bob_names] == [("Panda", "Panda Logistics")]

    conflicts = await history(live_server, admin_token, record, conflicts=1)
    assert len(conflicts) == 1 and conflicts[0]["field"] == "revenue" and conflicts[0]["conflict"]
    assert await history(live_server, admin_token, record, conflicts=1, field="name") == []
    winner = conflicts[0]["user"]["id"]
    loser = ann_id if winner == bob_id else bob_id
    assert await history(live_server, admin_token, record, conflicts=1, user=winner) == conflicts
    assert await history(live_server, admin_token, record, conflicts=1, user=loser) == []
    assert await history(live_server, admin_token, record, conflicts=0) == everything

    revenue = await history(live_server, admin_token, record, field="revenue")
    assert len(revenue) >= 3  # the create, each person's value (one of them the conflict)
    paged: list[dict[str, Any]] = []
    before: dict[str, Any] = {}
    while len(paged) < len(revenue):
        page = await history(live_server, admin_token, record, field="revenue", limit=1, **before)
        assert len(page) == 1
        paged += page
        before = {"before": page[0]["id"]}
    assert paged == revenue
    async with live_server.client(admin_token) as http:
        response = await http.get(f"/api/records/{record}/history", params={"conflicts": "maybe"})
        assert response.status_code == 400


async def test_a_comment_on_an_http_edit_is_shown_and_its_entry_stands_alone(
    live_server: LiveServer, admin_token: str
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Panda", "revenue": 1000})
    response = await patch(live_server, admin_token, record, {"fields": {"revenue": 2000}})
    assert response.status_code == 200
    why = "  The customer <b>confirmed</b> the new budget\n"
    response = await patch(live_server, admin_token, record, {"fields": {"revenue": 3000}, "comment": why})
    assert response.status_code == 200
    # Within the same burst window as the edit before and the one after, by the same person and origin:
    # without its comment this would have extended one entry.
    response = await patch(live_server, admin_token, record, {"fields": {"revenue": 4000}})
    assert response.status_code == 200
    revenue = await history(live_server, admin_token, record, field="revenue")
    assert [(c["before"], c["after"], c["comment"]) for c in revenue] == [
        (3000, 4000, None),
        (2000, 3000, "The customer <b>confirmed</b> the new budget"),
        (1000, 2000, None),
        (None, 1000, None),
    ]

    too_long = {"fields": {"revenue": 9}, "comment": "x" * 501}
    response = await patch(live_server, admin_token, record, too_long)
    assert response.status_code == 422 and "comment" in response.json()["fields"]
    response = await patch(live_server, admin_token, record, {"fields": {"revenue": 9}, "comment": 5})
    assert response.status_code == 422
    longest = {"fields": {"revenue": 5000}, "comment": "y" * 500}
    assert (await patch(live_server, admin_token, record, longest)).status_code == 200
    blank = {"fields": {"revenue": 6000}, "comment": "   "}
    assert (await patch(live_server, admin_token, record, blank)).status_code == 200
    latest = await history(live_server, admin_token, record, field="revenue", limit=2)
    assert [(c["after"], c["comment"]) for c in latest] == [(6000, None), (5000, "y" * 500)]


async def test_a_put_back_carries_its_comment(live_server: LiveServer, admin_token: str) -> None:
    record = await live_server.create_record(admin_token, {"name": "Panda", "revenue": 1000})
    assert (await patch(live_server, admin_token, record, {"fields": {"revenue": 5}})).status_code == 200
    mistake = (await history(live_server, admin_token, record, field="revenue"))[0]
    path = f"/api/records/{record}/history/{mistake['id']}/restore"
    async with live_server.client(admin_token) as http:
        refused = await http.post(path, json={"comment": "z" * 501})
        assert refused.status_code == 422
        assert (await http.get(f"/api/records/{record}")).json()["fields"]["revenue"] == 5
        restored = await http.post(path, json={"comment": " Typo: five instead of 1000 "})
        assert restored.status_code == 200 and restored.json()["fields"]["revenue"] == 1000
    latest = (await history(live_server, admin_token, record, field="revenue"))[0]
    assert (latest["origin"], latest["before"], latest["after"], latest["comment"]) == (
        "restore",
        5,
        1000,
        "Typo: five instead of 1000",
    )
