"""Schema editing (`PATCH /api/collections/{name}`, admins): keys never change, fields are added, renamed,
reordered, their options changed and archived; open rooms follow at once; the feed and the audit log say
so (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from tests.support.live_server import LiveServer
from tests.support.sse import FeedClient
from tests.support.yclient import YClient


async def current_fields(server: LiveServer, token: str) -> list[dict[str, Any]]:
    async with server.client(token) as http:
        collections = (await http.get("/api/collections")).json()["collections"]
    fields: list[dict[str, Any]] = next(c for c in collections if c["name"] == "customers")["fields"]
    return fields


async def test_admins_edit_a_schema_and_open_rooms_follow_at_once(
    live_server: LiveServer, admin_token: str
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Panda", "stage": "lead", "email": "p@x"})
    editor = await YClient(f"{live_server.ws_url}/{record}", admin_token).connect()
    editor.fields["priority"] = 3  # no such field yet: corrected away
    await editor.wait_until(lambda: "priority" not in editor.fields, "the unknown field removed")

    fields = await current_fields(live_server, admin_token)
    by_key = {field["key"]: field for field in fields}
    by_key["name"]["label"] = "Company"
    by_key["stage"]["options"] = ["prospect", "customer", "churned"]  # "lead" no longer an option
    by_key["email"]["archived"] = True
    changed = [by_key["name"], by_key["stage"], *(f for f in fields if f["key"] not in ("name", "stage"))]
    changed.append({"key": "priority", "label": "Priority", "type": "number"})
    changed.append({"key": "rate", "label": "Rate", "type": "decimal", "scale": 2, "required": True})
    async with (
        FeedClient(live_server.base_url, admin_token, "customers") as feed,
        live_server.client(admin_token) as http,
    ):
        answer = await http.patch("/api/collections/customers", json={"label": "Clients", "fields": changed})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["label"] == "Clients" and [f["key"] for f in body["fields"]][:2] == ["name", "stage"]
        assert body["fields"][0]["label"] == "Company" and body["fields"][-1]["scale"] == 2
        event = (await feed.collect(1, types=("collection.updated",)))[0]
        assert event.data["collection"] == "customers" and event.data["fields"]["label"] == "Clients"

        # The open room uses the new fields at once: the new one is kept, the archived one's data too.
        editor.fields["priority"] = 3
        editor.fields["rate"] = 5
        await editor.wait_until(lambda: editor.fields.get("rate") == "5.00", "the new decimal field")
        await editor.wait_saved()
        view = await http.get(f"/api/records/{record}")
        stored = view.json()["fields"]
        assert stored["priority"] == 3 and stored["stage"] == "lead" and stored["email"] == "p@x"
        archived = await http.patch(
            f"/api/records/{record}",
            json={"fields": {"email": "q@x"}},
            headers={"If-Match": view.headers["etag"]},
        )
        assert archived.status_code == 422 and archived.json()["fields"] == {"email": "archived"}
        # New records must give the required field; existing ones keep working.
        missing = await http.post("/api/records", json={"collection": "customers", "fields": {"name": "X"}})
        assert missing.status_code == 422 and missing.json()["fields"] == {"rate": "required"}

        audit = (await http.get("/api/admin/audit")).json()["entries"]
        entry = next(e for e in audit if e["action"] == "collection.update")
        assert entry["detail"]["added"] == ["priority", "rate"] and entry["detail"]["archived"] == ["email"]

        # Bring the archived field back.
        restored = [{**f, "archived": False} if f["key"] == "email" else f for f in body["fields"]]
        answer = await http.patch("/api/collections/customers", json={"fields": restored})
        assert answer.status_code == 200 and "archived" not in answer.json()["fields"][2]
    await editor.close()


async def test_what_a_schema_edit_may_not_do(live_server: LiveServer, admin_token: str) -> None:
    async with live_server.client(admin_token) as http:
        projects = {"name": "projects", "fields": [{"key": "title", "type": "text"}]}
        assert (await http.post("/api/collections", json=projects)).status_code == 201
        link = {"key": "project", "label": "Project", "type": "link", "target": "projects"}
        fields = [*await current_fields(live_server, admin_token), link]
        assert (await http.patch("/api/collections/customers", json={"fields": fields})).status_code == 200

        async def refused(changed: list[dict[str, Any]]) -> str:
            answer = await http.patch("/api/collections/customers", json={"fields": changed})
            assert answer.status_code == 422, answer.text
            return " ".join(answer.json()["fields"].values())

        assert "archive them" in await refused(fields[1:])
        assert "type" in await refused([{**fields[0], "type": "email"}, *fields[1:]])
        assert "target" in await refused([*fields[:-1], {**link, "target": "customers"}])
        assert "collection" in await refused(
            [*fields, {"key": "x", "label": "X", "type": "link", "target": "nope"}]
        )
        # `unique` turned on: only once the stored values are all different; then it holds.
        first = await live_server.create_record(admin_token, {"name": "Same"})
        await live_server.create_record(admin_token, {"name": " same "})
        assert "not unique yet" in await refused([{**fields[0], "unique": True}, *fields[1:]])
        tag = (await http.get(f"/api/records/{first}")).headers["etag"]
        renamed = await http.patch(
            f"/api/records/{first}", json={"fields": {"name": "Other"}}, headers={"If-Match": tag}
        )
        assert renamed.status_code == 200
        unique = [{**fields[0], "unique": True}, *fields[1:]]
        assert (await http.patch("/api/collections/customers", json={"fields": unique})).status_code == 200
        duplicate = await http.post(
            "/api/records", json={"collection": "customers", "fields": {"name": "OTHER"}}
        )
        assert duplicate.status_code == 409 and duplicate.json()["record_id"] == first
        fields = unique
        assert (await http.patch("/api/collections/nope", json={"fields": []})).status_code == 404
    editor = await live_server.add_user("ed@example.com", "editor")
    await live_server.cli("tenant", "add", "rival")
    rival = await live_server.add_user("boss@rival.example", "admin", tenant="rival")
    async with live_server.client(editor) as http:
        assert (await http.patch("/api/collections/customers", json={"fields": fields})).status_code == 403
    async with live_server.client(rival) as http:  # another tenant's collection: as if missing
        answer = await http.patch("/api/collections/projects", json={"fields": projects["fields"]})
        assert answer.status_code == 404
