"""Many tabs of one person (issue 16): each record page follows its collection's schema through the change
feed, and the server allows a login session `max_streams_per_session` (10) streams at once. A hidden tab
gives its stream back and resumes it when shown (web/src/feed.js), so a dozen record tabs work, and a schema
change made meanwhile reaches a hidden tab once it is shown.

Headless Chromium reports every page as visible (minimising its window, background targets and
`bring_to_front` leave `document.visibilityState` alone), so these pages are given the visibility a browser
reports for a background tab: the two properties and the `visibilitychange` event, as Chromium sets them.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import PageErrors
from tests.browser.helpers import DEADLINE_MS, SAVED, sign_in
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.asyncio(loop_scope="session")

TABS = 12  # more than max_streams_per_session (10)
FIELDS: list[dict[str, Any]] = [{"key": "name", "label": "Name", "type": "text"}]

VISIBILITY = """
(() => {
  let hidden = false
  const state = () => hidden ? 'hidden' : 'visible'
  Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get: state })
  Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => hidden })
  window.__setHidden = (value) => { hidden = value; document.dispatchEvent(new Event('visibilitychange')) }
})()
"""


async def set_hidden(page: Page, hidden: bool) -> None:
    await page.evaluate("(hidden) => window.__setHidden(hidden)", hidden)


async def test_a_dozen_record_tabs_and_a_schema_change_shown_later(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    async with live_server.client(admin_token) as http:
        made = await http.post(
            "/api/collections", json={"name": "people", "label": "People", "fields": FIELDS}
        )
        assert made.status_code == 201, made.text
    ids = [
        await live_server.create_record(admin_token, {"name": f"Person {n}"}, "people") for n in range(TABS)
    ]
    await live_server.add_user("bob@example.com", "editor", password="bob-password-1")
    context = await browser.new_context()
    await context.add_init_script(VISIBILITY)
    first = await sign_in(context, live_server, "bob@example.com", "bob-password-1")
    # One login session, a tab per record, each opened in front of the one before (which goes behind).
    tabs: list[Page] = []
    for n, record_id in enumerate(ids):
        page = first if n == 0 else await context.new_page()
        page_errors.watch(page, f"tab {n}")
        if tabs:
            await set_hidden(tabs[-1], True)
        await page.goto(f"{live_server.base_url}/#/records/{record_id}")
        await expect(page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
        await expect(page.get_by_test_id("field-name")).to_have_value(f"Person {n}")
        tabs.append(page)

    changed = [*FIELDS, {"key": "phone", "label": "Phone", "type": "phone"}]
    async with live_server.client(admin_token) as http:
        answer = await http.patch("/api/collections/people", json={"fields": changed})
        assert answer.status_code == 200, answer.text
    # The tab in front has it live; a tab behind has it once shown, and is editable and saves.
    await expect(tabs[-1].get_by_test_id("field-phone")).to_be_editable(timeout=DEADLINE_MS)
    behind = tabs[0]
    await expect(behind.get_by_test_id("field-phone")).to_have_count(0)
    await set_hidden(tabs[-1], True)
    await set_hidden(behind, False)
    await expect(behind.get_by_test_id("field-phone")).to_be_editable(timeout=DEADLINE_MS)
    await behind.get_by_test_id("field-phone").fill("+44 20 7946 0000")
    await expect(behind.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)

    assert page_errors.messages == []
    refused = [line for line in live_server.log_path.read_text().splitlines() if " 429" in line]
    assert refused == []


async def test_a_hidden_table_shows_a_schema_change_once_shown(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    """A table tab hidden while an admin adds a field gets the new column when shown: its stream saw no
    event before, so nothing could be replayed, and the schema is read again."""
    async with live_server.client(admin_token) as http:
        made = await http.post(
            "/api/collections", json={"name": "people", "label": "People", "fields": FIELDS}
        )
        assert made.status_code == 201, made.text
    await live_server.create_record(admin_token, {"name": "Ann"}, "people")
    await live_server.add_user("bob@example.com", "editor", password="bob-password-1")
    context = await browser.new_context()
    await context.add_init_script(VISIBILITY)
    page = await sign_in(context, live_server, "bob@example.com", "bob-password-1")
    page_errors.watch(page, "table")
    await page.goto(f"{live_server.base_url}/#/c/people")
    headers = page.get_by_test_id("record-list").get_by_role("columnheader")
    await expect(headers).to_have_text(["Name", "Updated", "Actions"], timeout=DEADLINE_MS)
    await set_hidden(page, True)

    changed = [*FIELDS, {"key": "phone", "label": "Phone", "type": "phone"}]
    async with live_server.client(admin_token) as http:
        answer = await http.patch("/api/collections/people", json={"fields": changed})
        assert answer.status_code == 200, answer.text
    await set_hidden(page, False)
    await expect(headers).to_have_text(["Name", "Phone", "Updated", "Actions"], timeout=DEADLINE_MS)
    assert page_errors.messages == []
