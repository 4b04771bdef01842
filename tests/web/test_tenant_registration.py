"""Self-service onboarding: POST /api/tenants (issue 19), in process, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from tests.web.conftest import InProcess

Serve = Callable[..., AbstractAsyncContextManager[InProcess]]


def _organisation(name: str = "Panda Logistics", slug: str = "panda", **extra: Any) -> dict[str, Any]:
    return {"name": name, "slug": slug, "email": "ana@panda.example", "password": "ana-password-1", **extra}


async def test_registration_is_off_unless_enabled(serve_in_process: Serve) -> None:
    async with serve_in_process() as app, app.client() as http:
        assert (await http.get("/api/tenants/registration")).json() == {"open": False}
        refused = await http.post("/api/tenants", json=_organisation())
        assert refused.status_code == 404
        assert refused.json()["error"] == "not_found"


async def test_an_organisation_registers_with_its_first_admin(serve_in_process: Serve) -> None:
    async with serve_in_process(tenant_registration=True) as app:
        await _register_and_use(app)


async def _register_and_use(app: InProcess) -> None:
    async with app.client() as http:
        assert (await http.get("/api/tenants/registration")).json() == {"open": True}
        made = await http.post("/api/tenants", json=_organisation(admin_name="Ana"))
        assert made.status_code == 201, made.text
        assert made.json()["tenant"] == {"slug": "panda", "name": "Panda Logistics"}
        assert made.json()["admin"]["role"] == "admin" and "password" not in made.json()["admin"]
        login = await http.post(
            "/api/auth/login",
            json={"tenant": "panda", "email": "ana@panda.example", "password": "ana-password-1"},
        )
        assert login.status_code == 200, login.text
        token = login.json()["token"]
    async with app.client(token) as http:
        collections = (await http.get("/api/collections")).json()["collections"]
        assert [c["name"] for c in collections] == ["customers"]
        audit = (await http.get("/api/admin/audit")).json()["entries"]
        assert [e["action"] for e in audit if e["action"] == "tenant.register"] == ["tenant.register"]
        # The new admin sees their own organisation only.
        assert [user["email"] for user in (await http.get("/api/admin/users")).json()["users"]] == [
            "ana@panda.example"
        ]


async def test_names_and_slugs_are_unique_and_input_is_checked(serve_in_process: Serve) -> None:
    serving = serve_in_process(tenant_registration=True, tenant_registrations_per_hour=50)
    async with serving as app, app.client() as http:
        assert (await http.post("/api/tenants", json=_organisation())).status_code == 201
        same_slug = await http.post("/api/tenants", json=_organisation(name="Other"))
        assert same_slug.status_code == 409
        same_name = await http.post("/api/tenants", json=_organisation(name=" panda  LOGISTICS", slug="p2"))
        assert same_name.status_code == 409
        assert (await http.post("/api/tenants", json=_organisation("X", "Not A Slug"))).status_code == 422
        short = await http.post("/api/tenants", json=_organisation("Y", "y", password="short"))
        assert short.status_code == 422
        assert (await http.post("/api/tenants", json={"name": "Z"})).status_code == 400
        assert (await http.post("/api/tenants", json=_organisation("Z", "z", email=7))).status_code == 400
        # A refused registration leaves nothing behind: its slug is still free.
        assert (await http.post("/api/tenants", json=_organisation("Y", "y"))).status_code == 201


async def test_concurrent_registrations_of_one_name_make_one_organisation(serve_in_process: Serve) -> None:
    serving = serve_in_process(tenant_registration=True, tenant_registrations_per_hour=50)
    async with serving as app, app.client() as http:
        answers = await asyncio.gather(
            *(http.post("/api/tenants", json=_organisation(slug=f"panda-{i}")) for i in range(6))
        )
    assert sorted(answer.status_code for answer in answers) == [201, 409, 409, 409, 409, 409]


async def test_each_address_may_register_a_few_per_hour(serve_in_process: Serve) -> None:
    async with serve_in_process(tenant_registration=True, tenant_registrations_per_hour=2) as app:
        async with app.client(address="10.0.0.1") as http:
            assert (await http.post("/api/tenants", json=_organisation("A", "a"))).status_code == 201
            assert (await http.post("/api/tenants", json=_organisation("B", "b"))).status_code == 201
            third = await http.post("/api/tenants", json=_organisation("C", "c"))
            assert third.status_code == 429
            assert int(third.headers["Retry-After"]) > 0
        async with app.client(address="10.0.0.2") as http:
            assert (await http.post("/api/tenants", json=_organisation("C", "c"))).status_code == 201
