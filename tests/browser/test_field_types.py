"""The new field types in the browser (issue 16): an admin defines `projects` and `people` on the Collections
page (a link from people to projects, a unique email, a decimal rate with scale 2); on a person's page
projects are linked by typing part of their title, its chip follows a rename made in another page and shows a
deleted target as such; a rate is stored as the exact string typed; an invalid email is explained next to
the field and never stored; a live duplicate of a unique email is corrected and the field says why."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from tests.browser.conftest import PageErrors
from tests.browser.helpers import DEADLINE_MS, PHONE, SAVED, sign_in
from tests.browser.test_records_and_admin import check_phone_layout
from tests.support.live_server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer

pytestmark = pytest.mark.asyncio(loop_scope="session")

DESKTOP: ViewportSize = {"width": 1200, "height": 900}


async def define_collections(page: Page) -> None:
    """`projects` (a name) and `people` (name, unique email, decimal rate, link to a project), through the
    Collections page's form."""
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Collections").click()
    form = page.get_by_test_id("add-collection")
    rows = form.get_by_test_id("field-row")
    await form.get_by_label("Name (lower-case, e.g. people)").fill("projects")
    await form.get_by_label("Label", exact=True).first.fill("Projects")
    await rows.nth(0).get_by_label("Key").fill("name")
    await rows.nth(0).get_by_label("Label").fill("Name")
    await form.get_by_role("button", name="Create collection").click()
    created = page.get_by_test_id("created-collection")
    await expect(created).to_contain_text("Created the collection Projects.", timeout=DEADLINE_MS)

    await form.get_by_label("Name (lower-case, e.g. people)").fill("people")
    await form.get_by_label("Label", exact=True).first.fill("People")
    specs: list[tuple[str, str, str]] = [
        ("name", "Name", "text"),
        ("email", "Email", "email"),
        ("rate", "Rate", "decimal"),
        ("project", "Project", "link"),
    ]
    for index, (key, label, kind) in enumerate(specs):
        if index:
            await form.get_by_role("button", name="Add field").click()
        row = rows.nth(index)
        await row.get_by_label("Key").fill(key)
        await row.get_by_label("Label").fill(label)
        await row.get_by_label("Type").select_option(kind)
        if kind == "email":
            await row.get_by_label("Unique").check()
        if kind == "decimal":
            await row.get_by_label("Digits after the point").fill("2")
        if kind == "link":
            await row.get_by_label("Links to").select_option("projects")
            await row.get_by_label("Many records").check()
    await form.get_by_role("button", name="Create collection").click()
    await expect(created).to_contain_text("Created the collection People.", timeout=DEADLINE_MS)


async def record_fields(server: LiveServer, token: str, record_id: str) -> dict[str, Any]:
    async with server.client(token) as http:
        response = await http.get(f"/api/records/{record_id}")
    response.raise_for_status()
    fields: dict[str, Any] = response.json()["fields"]
    return fields


async def open_record(page: Page, server: LiveServer, record_id: str, ready: str = "field-name") -> None:
    await page.goto(f"{server.base_url}/#/records/{record_id}")
    await expect(page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
    await expect(page.get_by_test_id(ready)).to_be_editable(timeout=DEADLINE_MS)


async def test_links_decimals_and_checked_emails(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    context = await browser.new_context(viewport=DESKTOP)
    page = await sign_in(context, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page_errors.watch(page, "page")
    await define_collections(page)
    project = await live_server.create_record(admin_token, {"name": "Apollo Rocket"}, "projects")
    await live_server.create_record(admin_token, {"name": "Gemini Capsule"}, "projects")
    ann = await live_server.create_record(admin_token, {"name": "Ann"}, "people")

    # Linking: type part of the title, pick it, see the chip with the title.
    await open_record(page, live_server, ann)
    await page.get_by_test_id("field-project").fill("Apol")
    option = page.get_by_test_id("link-option").filter(has_text="Apollo Rocket")
    await expect(page.get_by_test_id("link-option")).to_have_count(1, timeout=DEADLINE_MS)
    await option.click()
    chips = page.get_by_test_id("links-project").get_by_test_id("link-chip")
    await expect(chips).to_have_count(1)
    await expect(chips).to_contain_text("Apollo Rocket")
    await expect(page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
    assert (await record_fields(live_server, admin_token, ann))["project"] == [project]
    # Many: a second one is added (the one linked already is not offered again), and unlinked again.
    await page.get_by_test_id("field-project").fill("Gem")
    await page.get_by_test_id("link-option").filter(has_text="Gemini Capsule").click()
    await expect(chips).to_have_count(2)
    await page.get_by_role("button", name="Unlink Gemini Capsule").click()
    await expect(chips).to_have_count(1)
    await expect(page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
    assert (await record_fields(live_server, admin_token, ann))["project"] == [project]

    # Renamed in another page: the open chip follows (the feed), and so does the page opened afresh.
    other = await context.new_page()
    page_errors.watch(other, "other")
    await open_record(other, live_server, project)
    await other.get_by_test_id("field-name").fill("Apollo Moonshot")
    await expect(other.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
    await expect(chips).to_contain_text("Apollo Moonshot", timeout=DEADLINE_MS)
    await page.reload()
    await expect(page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
    await expect(chips.get_by_role("link")).to_have_text("Apollo Moonshot", timeout=DEADLINE_MS)
    # A click on the chip opens the linked record.
    await chips.get_by_role("link", name="Apollo Moonshot").click()
    await expect(page.get_by_test_id("field-name")).to_have_value("Apollo Moonshot", timeout=DEADLINE_MS)
    # Connected before leaving: the value shows from this device's copy at once, and leaving while the
    # socket still connects makes Chromium warn that it was closed before it was established.
    await expect(page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
    await page.go_back()

    # A decimal is the exact string typed; more decimals than the scale are explained, not stored.
    await expect(page.get_by_test_id("field-rate")).to_be_editable(timeout=DEADLINE_MS)
    await page.get_by_test_id("field-rate").fill("1234.50")
    await expect(page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
    await page.reload()
    await expect(page.get_by_test_id("field-rate")).to_have_value("1234.50", timeout=DEADLINE_MS)
    assert (await record_fields(live_server, admin_token, ann))["rate"] == "1234.50"
    await expect(page.get_by_test_id("field-rate")).to_be_editable(timeout=DEADLINE_MS)
    await page.get_by_test_id("field-rate").fill("12.345")
    await expect(page.get_by_test_id("note-rate")).to_have_text("at most 2 digits after the point")
    assert (await record_fields(live_server, admin_token, ann))["rate"] == "1234.50"

    # An invalid email: the message next to the field, nothing stored; a valid one is stored.
    await page.get_by_test_id("field-email").fill("ann@")
    await expect(page.get_by_test_id("note-email")).to_contain_text("expected an email address")
    await page.get_by_test_id("field-email").fill("ann@example.com")
    await expect(page.get_by_test_id("note-email")).to_be_hidden()
    await expect(page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
    assert (await record_fields(live_server, admin_token, ann))["email"] == "ann@example.com"

    # The linked project deleted: the chip says so, struck through.
    async with live_server.client(admin_token) as http:
        assert (await http.delete(f"/api/records/{project}")).status_code in (200, 204)
    await page.reload()
    deleted = page.get_by_test_id("links-project").get_by_test_id("link-chip")
    await expect(deleted).to_contain_text("deleted record", timeout=DEADLINE_MS)
    await expect(deleted).to_have_class("chip deleted")
    assert page_errors.messages == [] or all("404" in m for m in page_errors.messages), page_errors.messages


async def test_a_live_duplicate_of_a_unique_email_is_explained_at_the_field(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    page = await sign_in(
        await browser.new_context(viewport=DESKTOP), live_server, ADMIN_EMAIL, ADMIN_PASSWORD
    )
    page_errors.watch(page, "page")
    await define_collections(page)
    await live_server.create_record(admin_token, {"name": "Ann", "email": "ann@example.com"}, "people")
    bob = await live_server.create_record(admin_token, {"name": "Bob"}, "people")
    await open_record(page, live_server, bob)
    await page.get_by_test_id("field-email").fill("ann@example.com")
    note = page.get_by_test_id("note-email")
    await expect(note).to_contain_text("Corrected by the server", timeout=DEADLINE_MS)
    await expect(page.get_by_test_id("field-email")).to_have_value("", timeout=DEADLINE_MS)
    assert (await record_fields(live_server, admin_token, bob)).get("email") is None
    # Typing again puts the explanation away.
    await page.get_by_test_id("field-email").fill("bob@example.com")
    await expect(note).to_be_hidden()
    await expect(page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)


async def test_people_options_phones_and_required_fields(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    fields = [
        {"key": "name", "label": "Name", "type": "text", "required": True},
        {"key": "owner", "label": "Owner", "type": "person"},
        {"key": "skills", "label": "Skills", "type": "multiselect", "options": ["python", "go", "sql"]},
        {"key": "phone", "label": "Phone", "type": "phone"},
        {"key": "site", "label": "Site", "type": "url"},
    ]
    async with live_server.client(admin_token) as http:
        made = await http.post(
            "/api/collections", json={"name": "people", "label": "People", "fields": fields}
        )
        assert made.status_code == 201, made.text
    await live_server.cli(
        *("user", "add", "--tenant", "default", "--email", "bo@example.com", "--role", "viewer"),
        *("--name", "Bo Viewer", "--password", "bo-password-1"),
    )
    async with live_server.client(admin_token) as http:
        people = (await http.get("/api/people")).json()["people"]
    bo = next(person["id"] for person in people if person["name"] == "Bo Viewer")
    record = await live_server.create_record(admin_token, {"name": "Ann"}, "people")
    page = await sign_in(await browser.new_context(viewport=PHONE), live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page_errors.watch(page, "page")
    await open_record(page, live_server, record)

    # Required: a marker on the label, and "required" once the field is empty.
    await expect(page.locator("[data-field=name] .required-mark")).to_have_text("*")
    await expect(page.get_by_test_id("note-name")).to_be_hidden()
    await page.get_by_test_id("field-name").fill("")
    await expect(page.get_by_test_id("note-name")).to_have_text("required")
    await page.get_by_test_id("field-name").fill("Ann")

    # A person, picked by name.
    await page.get_by_test_id("field-owner").select_option(label="Bo Viewer")
    # Options as chips: add two, remove one.
    await page.get_by_test_id("field-skills").select_option("python")
    await page.get_by_test_id("field-skills").select_option("sql")
    skills = page.get_by_test_id("chips-skills").get_by_test_id("chip")
    await expect(skills).to_have_count(2)
    await page.get_by_role("button", name="Remove python").click()
    await expect(skills.locator("span")).to_have_text(["sql"])
    # A phone number and a web address, checked as typed.
    await page.get_by_test_id("field-phone").fill("12")
    await expect(page.get_by_test_id("note-phone")).to_contain_text("expected a phone number")
    await page.get_by_test_id("field-phone").fill("+44 20 7946 0958")
    await page.get_by_test_id("field-site").fill("javascript:alert(1)")
    await expect(page.get_by_test_id("note-site")).to_contain_text("http:// or https://")
    await page.get_by_test_id("field-site").fill("https://example.com/ann")
    await expect(page.get_by_test_id("note-site")).to_be_hidden()
    await expect(page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
    await check_phone_layout(page)  # chips, menus and notes fit a phone; every control is labelled
    stored = await record_fields(live_server, admin_token, record)
    assert stored == {
        "name": "Ann",
        "owner": bo,
        "skills": ["sql"],
        "phone": "+44 20 7946 0958",
        "site": "https://example.com/ann",
    }

    # The viewer sees the same values, the person by name (GET /api/people is theirs to read too).
    viewer = await sign_in(await browser.new_context(), live_server, "bo@example.com", "bo-password-1")
    page_errors.watch(viewer, "viewer")
    await viewer.goto(f"{live_server.base_url}/#/records/{record}")
    await expect(viewer.get_by_test_id("field-owner")).to_have_value(bo, timeout=DEADLINE_MS)
    await expect(viewer.get_by_test_id("field-owner").locator("option:checked")).to_have_text("Bo Viewer")
    await expect(viewer.get_by_test_id("chips-skills").get_by_test_id("chip").locator("span")).to_have_text(
        ["sql"]
    )
    await expect(viewer.get_by_test_id("field-phone")).to_be_disabled()
    assert page_errors.messages == []
