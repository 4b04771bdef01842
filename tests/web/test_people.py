"""`GET /api/people`: every member of a tenant sees its people by name (a `person` field's picker), never
emails or roles, never another tenant's people; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from tests.support.live_server import ADMIN_EMAIL
from tests.web.conftest import InProcess

Serve = Callable[..., AbstractAsyncContextManager[InProcess]]


async def test_members_see_the_tenants_people_by_name_only(serve_in_process: Serve) -> None:
    async with serve_in_process(tenant_registration=True) as served:
        admin = await served.login()
        viewer = await served.add_user(admin, "vi@example.com", "viewer")
        async with served.client(admin) as http:
            made = await http.post(
                "/api/admin/users", json={"email": "zed@example.com", "role": "editor", "name": "Zed"}
            )
            gone = await http.post("/api/admin/users", json={"email": "gone@example.com", "role": "editor"})
            assert (await http.delete(f"/api/admin/users/{gone.json()['id']}")).status_code == 204
            other = await http.post(
                "/api/tenants",
                json={"name": "Other", "slug": "other", "email": ADMIN_EMAIL, "password": "other-password-1"},
            )
            assert other.status_code == 201, other.text
        async with served.client(viewer) as http:
            answer = await http.get("/api/people")
        assert answer.status_code == 200, answer.text
        people = answer.json()["people"]
        assert {tuple(sorted(person)) for person in people} == {("active", "id", "name")}
        ids = [person["id"] for person in people]
        assert made.json()["id"] in ids
        assert gone.json()["id"] not in ids
        # Three people: the admin, the viewer and Zed; not the other tenant's admin, not the deleted user.
        assert len(people) == 3
        names = [person["name"] for person in people]
        assert names == sorted(names, key=str.casefold)
        async with served.client() as http:
            assert (await http.get("/api/people")).status_code == 401
