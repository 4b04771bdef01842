"""Editing a collection's fields on the Collections page (admins, issue 16): relabel, reorder, change a
select's options, add a field, archive a field (gone from the record page, its value kept) and bring it back
(the value shows again); a refused change is explained next to the field it is about."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.browser.conftest import PageErrors
from tests.browser.helpers import DEADLINE_MS, PHONE, SAVED, sign_in
from tests.browser.test_records_and_admin import check_phone_layout
from tests.support.live_server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer

pytestmark = pytest.mark.asyncio(loop_scope="session")

FIELDS: list[dict[str, Any]] = [
    {"key": "name", "label": "Name", "type": "text"},
    {"key": "stage", "label": "Stage", "type": "select", "options": ["lead", "won"]},
    {"key": "rate", "label": "Rate", "type": "decimal", "scale": 2},
]


async def edit_people(page: Page) -> Locator:
    """The open field editor of `people` on the Collections page."""
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Collections").click()
    await page.get_by_role("button", name="Edit fields of People").click()
    form = page.get_by_test_id("edit-collection")
    await expect(form).to_be_visible(timeout=DEADLINE_MS)
    return form


def row(form: Locator, key: str) -> Locator:
    return form.locator(f"[data-testid=field-row][data-key={key}]")


async def save(page: Page, form: Locator) -> None:
    await form.get_by_role("button", name="Save fields").click()
    await expect(form).to_be_hidden(timeout=DEADLINE_MS)


async def open_record(page: Page, server: LiveServer, record_id: str) -> None:
    await page.goto(f"{server.base_url}/#/records/{record_id}")
    await expect(page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
    await expect(page.get_by_test_id("field-name")).to_be_editable(timeout=DEADLINE_MS)


async def test_relabel_reorder_options_add_archive_and_bring_back(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    async with live_server.client(admin_token) as http:
        made = await http.post(
            "/api/collections", json={"name": "people", "label": "People", "fields": FIELDS}
        )
        assert made.status_code == 201, made.text
    ann = await live_server.create_record(admin_token, {"name": "Ann", "rate": "1234.50"}, "people")
    page = await sign_in(await browser.new_context(viewport=PHONE), live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page_errors.watch(page, "page")

    form = await edit_people(page)
    await row(form, "name").get_by_label("Label").fill("Full name")
    await row(form, "rate").get_by_role("button", name="Move field 3 up").click()
    await row(form, "stage").get_by_label("Options (comma-separated)").fill("lead, won, lost")
    await row(form, "rate").get_by_role("button", name="Archive").click()
    await form.get_by_role("button", name="Add field").click()
    added = form.get_by_test_id("field-row").nth(3)
    await added.get_by_label("Key").fill("phone")
    await added.get_by_label("Label").fill("Phone")
    await added.get_by_label("Type").select_option("phone")
    await check_phone_layout(page)
    await save(page, form)

    people = page.get_by_test_id("collection").filter(has_text="people").get_by_test_id("collection-field")
    await expect(people).to_have_count(4)
    for index, words in enumerate(
        ("Full name", "decimal (scale 2, archived)", "select (lead, won, lost)", "phone")
    ):
        await expect(people.nth(index)).to_contain_text(words)

    # The record page: the archived field is gone, the rest in the new order with the new label.
    await open_record(page, live_server, ann)
    await expect(page.get_by_test_id("field-rate")).to_have_count(0)
    await expect(page.get_by_label("Full name")).to_have_value("Ann")
    await expect(page.get_by_test_id("field-stage").locator("option[value=lost]")).to_have_count(1)
    await expect(page.get_by_test_id("field-phone")).to_be_editable()
    keys = await page.locator("[data-field]").evaluate_all("(els) => els.map((el) => el.dataset.field)")
    assert keys == ["name", "stage", "phone"]

    # Brought back: the kept value shows again, in the place the order gives it.
    form = await edit_people(page)
    await row(form, "rate").get_by_role("button", name="Bring back").click()
    await save(page, form)
    await open_record(page, live_server, ann)
    await expect(page.get_by_test_id("field-rate")).to_have_value("1234.50")
    keys = await page.locator("[data-field]").evaluate_all("(els) => els.map((el) => el.dataset.field)")
    assert keys == ["name", "rate", "stage", "phone"]
    assert page_errors.messages == []


async def test_a_refused_change_is_shown_next_to_its_field(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    async with live_server.client(admin_token) as http:
        made = await http.post(
            "/api/collections", json={"name": "people", "label": "People", "fields": FIELDS}
        )
        assert made.status_code == 201, made.text
    page = await sign_in(await browser.new_context(), live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page_errors.watch(page, "page")
    form = await edit_people(page)
    # A key that is taken, and a select without options: each row says what is wrong; nothing is saved.
    await form.get_by_role("button", name="Add field").click()
    added = form.get_by_test_id("field-row").nth(3)
    await added.get_by_label("Key").fill("name")
    await added.get_by_label("Label").fill("Another name")
    await row(form, "stage").get_by_label("Options (comma-separated)").fill(" , ")
    await form.get_by_role("button", name="Save fields").click()
    await expect(added.locator("[data-part=error]")).to_contain_text(
        "Field 4: key 'name' appears twice", timeout=DEADLINE_MS
    )
    await expect(row(form, "stage").locator("[data-part=error]")).to_contain_text(
        "Field 2: a select field needs"
    )
    await expect(page.get_by_test_id("schema-problem")).to_be_visible()
    async with live_server.client(admin_token) as http:
        stored = (await http.get("/api/collections")).json()["collections"]
    assert [c["fields"] for c in stored if c["name"] == "people"] == [FIELDS]
    assert [m for m in page_errors.messages if "status of 422" not in m] == []


async def test_an_open_record_page_follows_a_schema_change(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    """A new field, a new label and an archived field reach a record page that is open at the time, without
    a reload; the control being typed in keeps its focus, and the new field is editable and saved."""
    async with live_server.client(admin_token) as http:
        made = await http.post(
            "/api/collections", json={"name": "people", "label": "People", "fields": FIELDS}
        )
        assert made.status_code == 201, made.text
    ann = await live_server.create_record(admin_token, {"name": "Ann", "rate": "12.00"}, "people")
    await live_server.add_user("bob@example.com", "editor", password="bob-password-1")
    page = await sign_in(await browser.new_context(), live_server, "bob@example.com", "bob-password-1")
    page_errors.watch(page, "page")
    await open_record(page, live_server, ann)
    await page.get_by_test_id("field-name").focus()

    changed = [dict(field) for field in FIELDS]
    changed[0]["label"] = "Full name"
    changed[2]["archived"] = True
    changed.append({"key": "phone", "label": "Phone", "type": "phone"})
    async with live_server.client(admin_token) as http:
        answer = await http.patch("/api/collections/people", json={"label": "Staff", "fields": changed})
        assert answer.status_code == 200, answer.text

    await expect(page.get_by_test_id("field-phone")).to_be_editable(timeout=DEADLINE_MS)
    await expect(page.get_by_test_id("field-rate")).to_have_count(0)
    await expect(page.get_by_label("Full name")).to_have_value("Ann")
    await expect(page.get_by_role("link", name="← Staff")).to_be_visible()
    keys = await page.locator("[data-field]").evaluate_all("(els) => els.map((el) => el.dataset.field)")
    assert keys == ["name", "stage", "phone"]
    assert await page.evaluate("document.activeElement.id") == "field-name"

    await page.get_by_test_id("field-phone").fill("+44 20 7946 0000")
    await expect(page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
    async with live_server.client(admin_token) as http:
        stored = (await http.get(f"/api/records/{ann}")).json()["fields"]
    assert stored["phone"] == "+44 20 7946 0000" and stored["rate"] == "12.00"
    assert page_errors.messages == []


async def test_an_open_table_and_the_sidebar_follow_a_schema_change(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    async with live_server.client(admin_token) as http:
        made = await http.post(
            "/api/collections", json={"name": "people", "label": "People", "fields": FIELDS}
        )
        assert made.status_code == 201, made.text
    await live_server.create_record(admin_token, {"name": "Ann", "rate": "12.00"}, "people")
    page = await sign_in(await browser.new_context(), live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page_errors.watch(page, "page")
    await page.goto(f"{live_server.base_url}/#/c/people")
    headers = page.get_by_test_id("record-list").get_by_role("columnheader")
    await expect(headers).to_have_text(["Name", "Stage", "Rate", "Updated", "Actions"], timeout=DEADLINE_MS)

    changed = [dict(field) for field in FIELDS]
    changed[2]["archived"] = True
    changed.append({"key": "phone", "label": "Phone", "type": "phone"})
    async with live_server.client(admin_token) as http:
        answer = await http.patch("/api/collections/people", json={"label": "Staff", "fields": changed})
        assert answer.status_code == 200, answer.text

    await expect(headers).to_have_text(["Name", "Stage", "Phone", "Updated", "Actions"], timeout=DEADLINE_MS)
    await expect(page.get_by_role("heading", name="Staff")).to_be_visible()
    await expect(page.get_by_test_id("sidebar-collection").filter(has_text="Staff")).to_have_count(1)
    await expect(page.get_by_test_id("record-count")).to_have_text("1 record")
    assert page_errors.messages == []
