"""Everyday speed: Ctrl+K jumps to any collection or record by its title (arrows, Enter, Escape), `/` puts
the caret in the search box and `n` makes a new record, never while one is typing; dark mode follows the
system; every time of day is written one way; the palette shows no "null" or "undefined"."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import PageErrors
from tests.browser.helpers import DEADLINE_MS, SAVED, sign_in
from tests.browser.test_collections_nav import assert_no_null_text
from tests.support.live_server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def create_people(server: LiveServer, token: str) -> None:
    fields = [{"key": "full_name", "label": "Full name", "type": "text"}]
    async with server.client(token) as http:
        response = await http.post(
            "/api/collections", json={"name": "people", "label": "People", "fields": fields}
        )
    response.raise_for_status()


async def open_palette(page: Page) -> None:
    await page.keyboard.press("Control+k")
    await expect(page.get_by_test_id("palette")).to_be_visible()
    await expect(page.get_by_test_id("palette-input")).to_be_focused()


async def test_the_palette_jumps_to_collections_and_records(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    await create_people(live_server, admin_token)
    await live_server.create_record(admin_token, {"name": "Panda"})
    grace = await live_server.create_record(admin_token, {"full_name": "Grace Hopper"}, collection="people")
    page = await sign_in(await browser.new_context(), live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page_errors.watch(page, "admin")
    palette = page.get_by_test_id("palette")
    options = page.get_by_test_id("palette-option")

    # Empty, it lists the collections; typing narrows them; Enter goes to the active one.
    await open_palette(page)
    await expect(options).to_have_count(2, timeout=DEADLINE_MS)
    await expect(page.get_by_role("dialog", name="Go to")).to_be_visible()
    await assert_no_null_text(page)
    await page.keyboard.type("peo")
    await expect(options).to_have_text(["PeopleCollection"], timeout=DEADLINE_MS)
    await expect(options.first).to_have_attribute("aria-selected", "true")
    await page.keyboard.press("Enter")
    await expect(palette).to_have_count(0)
    await expect(page).to_have_url(re.compile(r"#/c/people$"))

    # A record by its title, from another collection than the one shown; the arrows move and wrap.
    await page.goto(f"{live_server.base_url}/#/c/customers")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Customers")
    await open_palette(page)
    await page.keyboard.type("grace hop")
    await expect(options).to_have_text(["Grace HopperPeople"], timeout=DEADLINE_MS)
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("ArrowUp")
    await expect(page.get_by_test_id("palette-input")).to_have_attribute(
        "aria-activedescendant", "palette-option-0"
    )
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(f"#/records/{grace}$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Grace Hopper")
    await expect(page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)

    # Enter pressed before the search has answered goes to the first match of what was typed (it went to
    # the first collection still listed, or nowhere while the list was being refreshed).
    await page.goto(f"{live_server.base_url}/#/c/customers")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Customers")
    await open_palette(page)
    await expect(options).to_have_count(2, timeout=DEADLINE_MS)
    await page.keyboard.type("grace")
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(f"#/records/{grace}$"), timeout=DEADLINE_MS)
    await expect(page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)

    # It opens while typing in a field too; Escape closes it and gives the focus back.
    field = page.get_by_test_id("field-full_name")
    await field.click()
    await open_palette(page)
    await page.keyboard.type("nothing like it")
    await expect(page.get_by_test_id("palette-status")).to_have_text("Nothing matches.", timeout=DEADLINE_MS)
    await page.keyboard.press("Escape")
    await expect(palette).to_have_count(0)
    await expect(field).to_be_focused()
    await expect(field).to_have_value("Grace Hopper")
    assert page_errors.messages == []


async def test_slash_searches_and_n_makes_a_record_but_never_while_typing(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    await live_server.create_record(admin_token, {"name": "Panda"})
    page = await sign_in(await browser.new_context(), live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page_errors.watch(page, "admin")
    search = page.get_by_role("searchbox")
    await expect(page.locator("main").get_by_role("link", name="Panda", exact=True)).to_be_visible(
        timeout=DEADLINE_MS
    )

    await page.get_by_role("heading", level=1).click()
    await page.keyboard.press("/")
    await expect(search).to_be_focused()
    await expect(search).to_have_value("")
    # In the search box, both are letters like any other.
    await page.keyboard.type("n/")
    await expect(search).to_have_value("n/")
    await expect(page).to_have_url(re.compile(r"#/c/customers$"))
    await search.fill("")

    await page.get_by_role("heading", level=1).click()
    await page.keyboard.press("n")
    await expect(page).to_have_url(re.compile(r"#/records/[^/]+$"), timeout=DEADLINE_MS)
    await expect(page.get_by_test_id("field-name")).to_have_value("New customer", timeout=DEADLINE_MS)

    # On the record page, `n` in the rich-text editor is a letter.
    await expect(page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
    url = page.url
    await page.get_by_test_id("field-notes").click()
    await page.keyboard.type("n")
    await expect(page.get_by_test_id("field-notes")).to_have_text("n")
    assert page.url == url

    # One clock format: the history's moments end in a 24-hour time, as the save badge's does.
    await page.get_by_test_id("open-history").click()
    moment = page.get_by_test_id("history-list").locator("time").first
    await expect(moment).to_have_attribute("title", re.compile(r", \d\d:\d\d$"), timeout=DEADLINE_MS)
    await assert_no_null_text(page)

    # On a record's page, `n` makes the next record in the record's collection.
    await page.keyboard.press("Escape")
    await page.get_by_role("heading", level=1).click()
    await page.keyboard.press("n")
    await expect(page).not_to_have_url(url, timeout=DEADLINE_MS)
    await expect(page).to_have_url(re.compile(r"#/records/[^/]+$"), timeout=DEADLINE_MS)
    await expect(page.get_by_test_id("field-name")).to_have_value("New customer", timeout=DEADLINE_MS)
    assert page_errors.messages == []


@pytest.mark.parametrize(
    ("scheme", "page_colour", "ink"),
    [("light", "rgb(246, 247, 249)", "rgb(29, 36, 48)"), ("dark", "rgb(18, 22, 28)", "rgb(228, 232, 239)")],
)
async def test_dark_mode_follows_the_system(
    live_server: LiveServer,
    browser: Browser,
    page_errors: PageErrors,
    scheme: str,
    page_colour: str,
    ink: str,
) -> None:
    context = await browser.new_context(color_scheme=scheme)  # type: ignore[arg-type]
    page = await sign_in(context, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page_errors.watch(page, "page")
    colours = await page.evaluate(
        """() => {
          const style = (selector) => getComputedStyle(document.querySelector(selector));
          return [style('html').backgroundColor, style('html').color, style('.top').backgroundColor];
        }"""
    )
    surface = "rgb(255, 255, 255)" if scheme == "light" else "rgb(27, 32, 40)"
    assert colours == [page_colour, ink, surface]
    assert page_errors.messages == []
