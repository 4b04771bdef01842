"""The new field types end to end: a collection of people linking to projects, values checked over HTTP
and corrected live, decimals as exact strings in answers, the feed and history, lists sorted and filtered
by them (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from tests.support.live_server import LiveServer
from tests.support.sse import FeedClient
from tests.support.yclient import YClient

PROJECTS = {"name": "projects", "label": "Projects", "fields": [{"key": "title", "type": "text"}]}
PEOPLE = {
    "name": "people",
    "label": "People",
    "fields": [
        {"key": "name", "label": "Name", "type": "text", "required": True},
        {"key": "email", "label": "Email", "type": "email", "unique": True},
        {"key": "site", "label": "Site", "type": "url"},
        {"key": "phone", "label": "Phone", "type": "phone"},
        {"key": "skills", "label": "Skills", "type": "multiselect", "options": ["go", "py", "js"]},
        {"key": "rate", "label": "Rate", "type": "decimal", "scale": 2},
        {"key": "owner", "label": "Owner", "type": "person"},
        {"key": "projects", "label": "Projects", "type": "link", "target": "projects", "many": True},
    ],
}


async def define(server: LiveServer, token: str, *definitions: dict[str, Any]) -> None:
    async with server.client(token) as http:
        for definition in definitions:
            response = await http.post("/api/collections", json=definition)
            assert response.status_code == 201, response.text


async def me(server: LiveServer, token: str) -> str:
    async with server.client(token) as http:
        user_id: str = (await http.get("/api/auth/me")).json()["user"]["id"]
        return user_id


async def test_new_types_are_checked_over_http_and_decimals_stay_exact_strings(
    live_server: LiveServer, admin_token: str
) -> None:
    await define(live_server, admin_token, PROJECTS, PEOPLE)
    admin_id = await me(live_server, admin_token)
    apollo = await live_server.create_record(admin_token, {"title": "Apollo"}, "projects")
    await live_server.cli("tenant", "add", "rival")
    rival = await live_server.add_user("boss@rival.example", "admin", tenant="rival")
    rival_id = await me(live_server, rival)
    await define(live_server, rival, PROJECTS)
    foreign = await live_server.create_record(rival, {"title": "Theirs"}, "projects")

    async with (
        FeedClient(live_server.base_url, admin_token, "people") as feed,
        live_server.client(admin_token) as http,
    ):
        created = await http.post(
            "/api/records",
            json={
                "collection": "people",
                "fields": {
                    "name": "Ada",
                    "email": "ada@example.com",
                    "site": "https://ada.example.com",
                    "phone": "+44 20 7946 0958",
                    "skills": ["py", "go"],
                    "rate": 6000,
                    "owner": admin_id,
                    "projects": [apollo],
                },
            },
        )
        assert created.status_code == 201, created.text
        record = created.json()
        assert record["fields"]["rate"] == "6000.00"
        assert record["fields"]["skills"] == ["py", "go"] and record["fields"]["projects"] == [apollo]
        event = (await feed.collect(1, types=("record.created",)))[0]
        assert event.data["fields"]["rate"] == "6000.00"

        refused = await http.post(
            "/api/records",
            json={
                "collection": "people",
                "fields": {
                    "email": "nope",
                    "site": "javascript:alert(1)",
                    "phone": "12",
                    "skills": ["cobol"],
                    "rate": 12.5,
                    "owner": rival_id,
                    "projects": [foreign],
                },
            },
        )
        assert refused.status_code == 422
        assert set(refused.json()["fields"]) == {"name", "email", "site", "phone", "skills", "rate"}
        assert "strings" in refused.json()["fields"]["rate"]
        # Another tenant's user or record answers like one that does not exist.
        for field, value in (("owner", rival_id), ("projects", [foreign]), ("projects", ["0" * 32])):
            answer = await http.post(
                "/api/records", json={"collection": "people", "fields": {"name": "X", field: value}}
            )
            assert answer.status_code == 422 and set(answer.json()["fields"]) == {field}, answer.text

        tag = (await http.get(f"/api/records/{record['id']}")).headers["etag"]
        for bad in ({"rate": "1.234"}, {"rate": "1e3"}, {"name": None}, {"name": ""}):
            answer = await http.patch(
                f"/api/records/{record['id']}", json={"fields": bad}, headers={"If-Match": tag}
            )
            assert answer.status_code == 422, (bad, answer.text)
        patched = await http.patch(
            f"/api/records/{record['id']}", json={"fields": {"rate": "-0.5"}}, headers={"If-Match": tag}
        )
        assert patched.status_code == 200 and patched.json()["fields"]["rate"] == "-0.50"
        history = (await http.get(f"/api/records/{record['id']}/history")).json()["changes"]
        rates = [(c["before"], c["after"]) for c in history if c["field"] == "rate"]
        assert ("6000.00", "-0.50") in rates

        # Live: a decimal written as a JavaScript number is made its canonical string for everyone; a
        # float that is no decimal of the field is put back, and the sender told why.
        client = await YClient(f"{live_server.ws_url}/{record['id']}", admin_token).connect()
        client.fields["rate"] = 7
        await client.wait_until(lambda: client.fields.get("rate") == "7.00", "the canonical decimal")
        client.fields["rate"] = 1.005
        await client.wait_until(lambda: client.fields.get("rate") == "7.00", "the decimal put back")
        await client.wait_until(lambda: any("rate" in n.get("fields", {}) for n in client.notices), "notice")
        client.fields["site"] = "javascript:alert(1)"
        await client.wait_until(lambda: client.fields.get("site") == "https://ada.example.com", "url back")
        await client.wait_saved()
        await client.close()
        stored = (await http.get(f"/api/records/{record['id']}")).json()["fields"]
        assert stored["rate"] == "7.00" and stored["site"] == "https://ada.example.com"


async def test_lists_sort_and_filter_the_new_types_exactly(live_server: LiveServer, admin_token: str) -> None:
    await define(live_server, admin_token, PROJECTS, PEOPLE)
    admin_id = await me(live_server, admin_token)
    ann_token = await live_server.add_user("ann@example.com", "editor")
    ann_id = await me(live_server, ann_token)
    apollo = await live_server.create_record(admin_token, {"title": "Apollo"}, "projects")
    gemini = await live_server.create_record(admin_token, {"title": "Gemini"}, "projects")
    rows = [
        ("A", "1234567890123456.78", ["py"], admin_id, [apollo]),
        ("B", "1234567890123456.79", ["go", "py"], ann_id, [apollo, gemini]),
        ("C", "-0.5", [], None, []),
        ("D", "100", ["js"], admin_id, [gemini]),
        ("E", None, None, None, None),
    ]
    ids = {}
    for name, rate, skills, owner, projects in rows:
        fields: dict[str, Any] = {"name": name, "rate": rate, "skills": skills, "owner": owner}
        fields["projects"] = projects
        ids[name] = await live_server.create_record(
            admin_token, {k: v for k, v in fields.items() if v is not None}, "people"
        )
    async with live_server.client(admin_token) as http:

        async def names(**params: str) -> list[str]:
            response = await http.get("/api/records", params={"collection": "people", "limit": "2", **params})
            assert response.status_code == 200, response.text
            page = response.json()
            found = [r["fields"]["name"] for r in page["records"]]
            while page["next_cursor"]:
                response = await http.get(
                    "/api/records",
                    params={"collection": "people", "limit": "2", "cursor": page["next_cursor"], **params},
                )
                page = response.json()
                found += [r["fields"]["name"] for r in page["records"]]
            return found

        # 18 significant digits: a double could not tell A from B.
        assert await names(sort="rate") == ["C", "D", "A", "B", "E"]
        assert await names(sort="rate", order="desc") == ["B", "A", "D", "C", "E"]
        assert await names(**{"sort": "name", "f.rate.gte": "1234567890123456.785"}) == ["B"]
        assert await names(**{"sort": "name", "f.rate.lte": "-0.5"}) == ["C"]
        assert await names(**{"sort": "name", "f.rate.empty": "1"}) == ["E"]
        assert await names(**{"sort": "name", "f.skills.in": "py,js"}) == ["A", "B", "D"]
        assert await names(**{"sort": "name", "f.skills.empty": "1"}) == ["C", "E"]
        assert await names(**{"sort": "name", "f.skills.empty": "0"}) == ["A", "B", "D"]
        assert await names(**{"sort": "name", "f.projects.in": gemini}) == ["B", "D"]
        assert await names(**{"sort": "name", "f.owner.in": f"{admin_id},{ann_id}"}) == ["A", "B", "D"]
        total = await http.get("/api/records", params={"collection": "people", "f.skills.in": "py,go"})
        assert total.json()["total"] == 2  # B has both: still one record
        assert (
            await http.get("/api/records", params={"collection": "people", "sort": "skills"})
        ).status_code == 400
