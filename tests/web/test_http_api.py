"""The HTTP contract against a live server: login, collections, records, errors, OpenAPI."""

from __future__ import annotations

from tests.support.live_server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer
from tests.support.yclient import YClient


async def test_login_me_logout(live_server: LiveServer) -> None:
    async with live_server.client() as http:
        bad = await http.post(
            "/api/auth/login", json={"tenant": "default", "email": ADMIN_EMAIL, "password": "x"}
        )
        assert bad.status_code == 401
        nobody = await http.post(
            "/api/auth/login", json={"tenant": "default", "email": "no@x.io", "password": "x"}
        )
        assert nobody.status_code == 401 and nobody.json() == bad.json()
        as_json = {"Content-Type": "application/json"}
        assert (await http.post("/api/auth/login", content=b"{nope", headers=as_json)).status_code == 400
        assert (await http.post("/api/auth/login", json=[1])).status_code == 400
        ok = await http.post(
            "/api/auth/login",
            json={"tenant": "default", "email": ADMIN_EMAIL.upper(), "password": ADMIN_PASSWORD},
        )
        assert ok.status_code == 200
        body = ok.json()
        assert body["user"] == {
            "id": body["user"]["id"],
            "email": ADMIN_EMAIL,
            "name": "Admin",
            "role": "admin",
            "tenant": "default",
            "color": body["user"]["color"],
        }
        assert body["user"]["color"].startswith("#")
        cookie = ok.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        # The cookie alone authenticates (httpx keeps it).
        assert (await http.get("/api/auth/me")).json()["user"]["email"] == ADMIN_EMAIL
        # A change authenticated by the cookie alone needs our Origin (or a same-origin Referer).
        assert (await http.post("/api/auth/logout")).status_code == 403
        foreign = await http.post("/api/auth/logout", headers={"origin": "https://evil.example"})
        assert foreign.status_code == 403
        assert (
            await http.post("/api/auth/logout", headers={"origin": live_server.base_url})
        ).status_code == 204
    async with live_server.client(body["token"]) as http:
        assert (await http.get("/api/auth/me")).status_code == 401


async def test_nothing_is_reachable_without_a_session(live_server: LiveServer) -> None:
    async with live_server.client() as http:
        for method, path in [
            ("GET", "/api/auth/me"),
            ("GET", "/api/collections"),
            ("POST", "/api/collections"),
            ("GET", "/api/records?collection=customers"),
            ("POST", "/api/records"),
            ("GET", f"/api/records/{'0' * 32}"),
            ("GET", f"/api/records/{'0' * 32}/presence"),
        ]:
            response = await http.request(method, path, json={})
            assert response.status_code == 401, (method, path)
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        openapi = (await http.get("/api/openapi.json")).json()
        assert openapi["openapi"].startswith("3.") and "/api/records/{record_id}" in openapi["paths"]


async def test_collections_and_records(live_server: LiveServer, admin_token: str) -> None:
    async with live_server.client(admin_token) as http:
        collections = (await http.get("/api/collections")).json()["collections"]
        assert [c["name"] for c in collections] == ["customers"]  # the sample of a fresh install
        people = {
            "name": "people",
            "label": "People",
            "fields": [
                {"key": "name", "label": "Name", "type": "text"},
                {"key": "bio", "label": "Bio", "type": "richtext"},
                {"key": "team", "label": "Team", "type": "select", "options": ["red", "blue"]},
            ],
        }
        created = await http.post("/api/collections", json=people)
        assert created.status_code == 201 and created.json()["fields"][2]["options"] == ["red", "blue"]
        assert (await http.post("/api/collections", json=people)).status_code == 409
        invalid = await http.post("/api/collections", json={"name": "Bad Name", "fields": [{"key": "x"}]})
        assert invalid.status_code == 422 and set(invalid.json()["fields"]) == {"name", "fields[0]"}

        record = await http.post(
            "/api/records",
            json={"collection": "people", "fields": {"name": "Ada", "bio": "Counts.", "team": "red"}},
        )
        assert record.status_code == 201
        body = record.json()
        assert body["fields"] == {"name": "Ada", "bio": "Counts.", "team": "red"}
        assert body["created_by"]["email"] == ADMIN_EMAIL and body["updated_by"]["email"] == ADMIN_EMAIL
        assert (await http.get(f"/api/records/{body['id']}")).json() == body
        listed = (await http.get("/api/records", params={"collection": "people"})).json()["records"]
        assert [r["id"] for r in listed] == [body["id"]]

        wrong = await http.post(
            "/api/records", json={"collection": "people", "fields": {"team": "green", "age": 3, "name": 5}}
        )
        assert wrong.status_code == 422 and set(wrong.json()["fields"]) == {"team", "age", "name"}
        assert (await http.post("/api/records", json={"collection": "nope"})).status_code == 404
        assert (
            await http.get("/api/records", params={"collection": "people", "limit": "x"})
        ).status_code == 400
        assert (await http.get("/api/records")).status_code == 400
        assert (await http.get(f"/api/records/{'0' * 32}/presence")).status_code == 404


async def test_viewers_read_but_do_not_write(live_server: LiveServer, admin_token: str) -> None:
    record = await live_server.create_record(admin_token, {"name": "Panda"})
    viewer = await live_server.add_user("viv@example.com", "viewer")
    editor = await live_server.add_user("ed@example.com", "editor")
    async with live_server.client(viewer) as http:
        assert (await http.get(f"/api/records/{record}")).json()["fields"] == {"name": "Panda"}
        assert (await http.post("/api/records", json={"collection": "customers"})).status_code == 403
        assert (await http.post("/api/collections", json={"name": "x"})).status_code == 403
    async with live_server.client(editor) as http:
        assert (await http.post("/api/records", json={"collection": "customers"})).status_code == 201
        assert (await http.post("/api/collections", json={"name": "x"})).status_code == 403


async def test_search_and_list_summaries_follow_live_edits(live_server: LiveServer, admin_token: str) -> None:
    panda = await live_server.create_record(admin_token, {"name": "Panda Ltd", "notes": "x" * 500})
    await live_server.create_record(admin_token, {"name": "Koala 100%"})
    async with live_server.client(admin_token) as http:

        async def names(q: str) -> list[str]:
            response = await http.get("/api/records", params={"collection": "customers", "q": q})
            return sorted(r["fields"]["name"] for r in response.json()["records"])

        assert await names("panda") == ["Panda Ltd"]
        assert await names("100%") == ["Koala 100%"]  # % is a character here, not a wildcard
        assert await names("%") == ["Koala 100%"]
        listed = (await http.get("/api/records", params={"collection": "customers", "q": "panda"})).json()
        assert len(listed["records"][0]["fields"]["notes"]) == 201  # long texts are shortened in lists
        client = await YClient(f"{live_server.ws_url}/{panda}", admin_token).connect()
        client.fields["name"] = "Grizzly GmbH"
        await client.wait_saved()
        await client.close()
        assert await names("panda") == []
        assert await names("GRIZZLY") == ["Grizzly GmbH"]
