"""A collection's table (web/src/table-page.js): two people in a table of 10,000 records at once. The total,
sorting, a filter and the last record reached by scrolling come from the server; a row one creates and a
cell one edits reach the other live; arrows and Enter open a record; hidden and moved columns are
remembered across a reload; on a phone the page never scrolls sideways.

The 10,000 records are written the way bench/list.py seeds (a bulk insert of records with their
summaries and typed values, as the update writer keeps them), plus a few made through the API, which
are the ones opened and edited (a seeded record has no document to open)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import Browser, Locator, Page, expect
from sqlalchemy import select

from bench.list import seed
from persistence.database import Database
from persistence.models import Collection, Tenant
from tests.browser.conftest import PageErrors
from tests.browser.helpers import DEADLINE_MS, horizontal_overflow, sign_in
from tests.support.live_server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer

pytestmark = pytest.mark.asyncio(loop_scope="session")

BOB_EMAIL = "bob@example.com"
BOB_PASSWORD = "bob-password-1"
SEEDED = 9_995
MADE = ["Aardvark 1", "Aardvark 2", "Aardvark 3", "Aardvark 4", "Aardvark 5"]
FIELDS = [
    {"key": "name", "label": "Name", "type": "text"},
    {"key": "email", "label": "Email", "type": "text"},
    {"key": "revenue", "label": "Revenue", "type": "number"},
    {"key": "stage", "label": "Stage", "type": "select", "options": ["lead", "prospect", "customer"]},
    {"key": "active", "label": "Active", "type": "boolean"},
    {"key": "next_call", "label": "Next call", "type": "date"},
]
SCROLL_TO_END = "(box) => { box.scrollTop = box.scrollHeight }"


async def create_people(server: LiveServer, token: str) -> None:
    async with server.client(token) as http:
        response = await http.post(
            "/api/collections", json={"name": "people", "label": "People", "fields": FIELDS}
        )
        response.raise_for_status()


async def seed_people(server: LiveServer, count: int) -> None:
    async with Database(server.database_url) as database:
        async with database.session() as session:
            tenant = (await session.scalars(select(Tenant).where(Tenant.slug == "default"))).one()
            collection = (
                await session.scalars(
                    select(Collection).where(Collection.tenant_id == tenant.id, Collection.name == "people")
                )
            ).one()
        await seed(database, collection, count)


async def list_all(server: LiveServer, token: str, params: dict[str, str]) -> list[dict[str, Any]]:
    """Every record of the people list with these parameters, page after page, as the API gives them."""
    records: list[dict[str, Any]] = []
    cursor = None
    async with server.client(token) as http:
        while True:
            query = {
                "collection": "people",
                "limit": "200",
                **params,
                **({"cursor": cursor} if cursor else {}),
            }
            page = (await http.get("/api/records", params=query)).json()
            records += page["records"]
            cursor = page["next_cursor"]
            if not cursor:
                return records


async def patch_as(server: LiveServer, token: str, name: str, fields: dict[str, Any]) -> None:
    """Set fields of the people record called `name`, as the API's own clients do (If-Match)."""
    async with server.client(token) as http:
        found = await http.get("/api/records", params={"collection": "people", "f.name.in": name})
        record_id = found.json()["records"][0]["id"]
        tag = (await http.get(f"/api/records/{record_id}")).headers["etag"]
        answer = await http.patch(
            f"/api/records/{record_id}", json={"fields": fields}, headers={"If-Match": tag}
        )
        answer.raise_for_status()


async def open_people(page: Page) -> Locator:
    await page.goto(page.url.split("#")[0] + "#/c/people")
    table = page.get_by_test_id("record-list")
    await expect(table).to_have_attribute("role", "grid", timeout=DEADLINE_MS)
    return table


def row_of(table: Locator, title: str) -> Locator:
    return table.get_by_test_id("record").filter(has=table.page.get_by_role("link", name=title, exact=True))


async def test_two_people_in_a_table_of_ten_thousand(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    await create_people(live_server, admin_token)
    await seed_people(live_server, SEEDED)
    for name in MADE:
        await live_server.create_record(admin_token, {"name": name, "revenue": 10}, collection="people")
    bob_token = await live_server.add_user(BOB_EMAIL, "editor", password=BOB_PASSWORD)
    alice = await sign_in(
        await browser.new_context(viewport={"width": 1200, "height": 800}),
        live_server,
        ADMIN_EMAIL,
        ADMIN_PASSWORD,
    )
    bob = await sign_in(
        await browser.new_context(viewport={"width": 1200, "height": 800}),
        live_server,
        BOB_EMAIL,
        BOB_PASSWORD,
    )
    page_errors.watch(alice, "alice")
    page_errors.watch(bob, "bob")
    alice_table = await open_people(alice)
    bob_table = await open_people(bob)
    for page in (alice, bob):
        await expect(page.get_by_test_id("record-count")).to_have_text("10,000 records", timeout=DEADLINE_MS)
    # Newest first: the records made last are on top.
    await expect(alice_table.get_by_test_id("record").first.get_by_role("link")).to_have_text("Aardvark 5")

    # A row Bob creates appears at the top of Alice's table, and the total follows.
    await bob.get_by_test_id("new-record").click()
    await expect(bob.get_by_test_id("field-name")).to_have_value("New person", timeout=DEADLINE_MS)
    await expect(alice_table.get_by_test_id("record").first.get_by_role("link")).to_have_text(
        "New person", timeout=DEADLINE_MS
    )
    await expect(alice.get_by_test_id("record-count")).to_have_text("10,001 records")
    bob_table = await open_people(bob)

    # Alice edits a cell in place; it says "Saved", and Bob's row follows.
    cell = row_of(alice_table, "Aardvark 4").get_by_test_id("cell-revenue")
    await cell.click(position={"x": 3, "y": 3})
    await cell.press("Enter")
    editor = alice_table.get_by_label("Revenue of Aardvark 4")
    await editor.fill("1234")
    await editor.press("Enter")
    await expect(cell.get_by_test_id("cell-status")).to_have_text("Saved", timeout=DEADLINE_MS)
    await expect(row_of(bob_table, "Aardvark 4").get_by_test_id("cell-revenue")).to_have_text(
        "1234", timeout=DEADLINE_MS
    )
    # A value that is not a number is not sent: the cell says why and keeps what was typed.
    await cell.press("Enter")
    await editor.fill("lots")
    await editor.press("Enter")
    await expect(cell.get_by_test_id("cell-status")).to_have_text("Not saved: a number is needed")
    await expect(cell).to_contain_text("lots")
    await cell.press("Enter")
    await expect(editor).to_have_value("lots")
    await editor.press("Escape")

    # Typing on a cell starts editing it with what is typed.
    cell = row_of(alice_table, "Aardvark 2").get_by_test_id("cell-revenue")
    await cell.click(position={"x": 3, "y": 3})
    await cell.press("9")
    editor = alice_table.get_by_label("Revenue of Aardvark 2")
    await expect(editor).to_have_value("9")
    await editor.press("9")
    await editor.press("Enter")
    await expect(cell.get_by_test_id("cell-status")).to_have_text("Saved", timeout=DEADLINE_MS)
    await expect(cell.locator(".value")).to_have_text("99")

    # Bob changes a value while Alice types into it: her typing stays, and saving it says what happened
    # instead of overwriting his change.
    row = row_of(alice_table, "Aardvark 3")
    cell = row.get_by_test_id("cell-revenue")
    await cell.click(position={"x": 3, "y": 3})
    await cell.press("Enter")
    editor = alice_table.get_by_label("Revenue of Aardvark 3")
    await editor.fill("55")
    await patch_as(live_server, bob_token, "Aardvark 3", {"revenue": 77})
    await expect(row.get_by_test_id("record-meta")).to_have_text(
        re.compile(r"^updated by bob"), timeout=DEADLINE_MS
    )
    await expect(editor).to_have_value("55")
    await editor.press("Enter")
    await expect(cell.get_by_test_id("cell-status")).to_have_text(
        "Not saved: bob changed it meanwhile to “77”. Try again", timeout=DEADLINE_MS
    )
    await expect(cell).to_contain_text("55")

    # Keyboard: from the first title, down one row, Enter opens that record.
    await (
        alice_table.get_by_test_id("record")
        .first.get_by_test_id("cell-name")
        .click(position={"x": 3, "y": 3})
    )
    await alice.keyboard.press("ArrowDown")
    await alice.keyboard.press("Enter")
    await expect(alice).to_have_url(re.compile(r"#/records/"), timeout=DEADLINE_MS)
    await expect(alice.get_by_test_id("field-name")).to_have_value("Aardvark 5", timeout=DEADLINE_MS)
    alice_table = await open_people(alice)

    # Sorted by name: the server's order.
    await alice.get_by_test_id("sort-_title").click()
    await expect(alice_table.get_by_test_id("record").first.get_by_role("link")).to_have_text(
        "Aardvark 1", timeout=DEADLINE_MS
    )
    await expect(alice.get_by_test_id("column-_title")).to_have_attribute("aria-sort", "ascending")

    # Filtered: the total is the server's for that filter.
    leads = await list_all(live_server, admin_token, {"f.stage.in": "lead", "sort": "name"})
    await alice.get_by_test_id("filter-bar").locator("summary").click()
    await alice.get_by_test_id("filter-stage").get_by_label("lead").check()
    await expect(alice.get_by_test_id("record-count")).to_have_text(
        f"{len(leads):,} records", timeout=DEADLINE_MS
    )

    # Scrolled to the end, page after page: the last record is there.
    last = leads[-1]
    scroller = alice_table
    row = alice_table.locator(f'[data-testid="record"][data-id="{last["id"]}"]')
    for _ in range(200):
        await scroller.evaluate(SCROLL_TO_END)
        try:
            await expect(row).to_be_visible(timeout=500)
            break
        except AssertionError:
            continue
    await expect(row).to_be_visible()
    await expect(row).to_have_attribute("aria-rowindex", str(len(leads) + 1))
    assert page_errors.messages == []


async def test_columns_hidden_and_moved_are_remembered_and_a_phone_never_scrolls_sideways(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    await create_people(live_server, admin_token)
    await live_server.create_record(
        admin_token, {"name": "Panda", "email": "p@example.com"}, collection="people"
    )
    page = await sign_in(
        await browser.new_context(viewport={"width": 390, "height": 844}),
        live_server,
        ADMIN_EMAIL,
        ADMIN_PASSWORD,
    )
    page_errors.watch(page, "page")
    table = await open_people(page)
    await expect(table.get_by_test_id("record")).to_have_count(1)
    assert await horizontal_overflow(page) <= 0

    headers = table.get_by_role("columnheader")
    await expect(headers).to_have_text(
        ["Name", "Email", "Revenue", "Stage", "Active", "Next call", "Updated", "Actions"]
    )
    await page.get_by_test_id("column-chooser").locator("summary").click()
    await page.get_by_test_id("column-chooser").get_by_label("Email", exact=True).uncheck()
    await page.get_by_role("button", name="Move Stage left").click()
    expected = ["Name", "Stage", "Revenue", "Active", "Next call", "Updated", "Actions"]
    await expect(headers).to_have_text(expected)
    await page.reload()
    table = page.get_by_test_id("record-list")
    await expect(table.get_by_role("columnheader")).to_have_text(expected, timeout=DEADLINE_MS)
    assert await horizontal_overflow(page) <= 0
    # The table scrolls inside its own box instead.
    assert await table.evaluate("(box) => box.scrollWidth > box.clientWidth")
    assert page_errors.messages == []
