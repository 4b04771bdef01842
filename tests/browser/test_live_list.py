"""The records list is live: what others create, edit and delete shows without a reload, each row shows who
has that record open, a search stays current, and after a dropped stream the list catches up from where it
was (the change feed's Last-Event-ID) instead of being reloaded."""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import Browser, Page, Request, Route, expect

from tests.browser.conftest import PageErrors
from tests.browser.helpers import DEADLINE_MS, PHONE, open_record, sign_in
from tests.support.live_server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer
from tests.support.server_process import ServerProcess

pytestmark = pytest.mark.asyncio(loop_scope="session")

BOB_EMAIL = "bob@example.com"
BOB_PASSWORD = "bob-password-1"
JUST_NOW = re.compile(r"^updated by Admin · just now$")
# The browser's own reconnection waits about 3 s; the app's, after a refused attempt, 1 s then more.
RECONNECT_MS = 30_000


async def mark_list(page: Page) -> None:
    """Tag the list element: a reload or re-render of the view would make a new one, without the tag."""
    await page.get_by_test_id("record-list").evaluate("(list) => { list.dataset.marker = 'never reloaded' }")


async def assert_not_reloaded(page: Page) -> None:
    await expect(page.get_by_test_id("record-list")).to_have_attribute("data-marker", "never reloaded")


async def test_others_creating_editing_opening_and_deleting_records_show_in_an_open_list(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    bob_token = await live_server.add_user(BOB_EMAIL, "editor", password=BOB_PASSWORD)
    await live_server.create_record(bob_token, {"name": "Panda"})
    alice = await sign_in(await browser.new_context(), live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    bob = await sign_in(await browser.new_context(viewport=PHONE), live_server, BOB_EMAIL, BOB_PASSWORD)
    page_errors.watch(alice, "alice")
    page_errors.watch(bob, "bob")
    rows = bob.get_by_test_id("record-list").get_by_test_id("record")
    announcer = bob.get_by_test_id("list-announcer")
    await expect(rows).to_have_count(1)
    await expect(rows.first.get_by_test_id("record-meta")).to_have_text(re.compile(r"^updated by bob · "))
    await mark_list(bob)

    # Alice makes a record in her list: it appears at the top of Bob's, and is announced.
    await alice.get_by_test_id("new-record").click()
    await expect(alice.get_by_test_id("field-name")).to_have_value("New customer", timeout=DEADLINE_MS)
    await expect(rows).to_have_count(2, timeout=DEADLINE_MS)
    await expect(rows.first.get_by_role("link")).to_have_text("New customer")
    await expect(announcer).to_contain_text("Admin added “New customer”.")

    # She has it open: her avatar is on that row of Bob's list, and only there.
    new_row = rows.filter(has=bob.get_by_role("link", name="New customer"))
    await expect(new_row.get_by_test_id("avatar")).to_have_attribute("title", "Admin", timeout=DEADLINE_MS)
    await expect(rows.filter(has_text="Panda").get_by_test_id("avatar")).to_have_count(0)
    # In the colour the server gives her, as her own avatar on the record shows.
    colour = "(avatar) => avatar.style.getPropertyValue('--who')"
    own = alice.get_by_test_id("avatar").first
    await expect(own).to_have_attribute("title", "Admin (you)")
    assert await new_row.get_by_test_id("avatar").evaluate(colour) == await own.evaluate(colour)

    # She names it: Bob's row follows, and says who changed it.
    await alice.get_by_test_id("field-name").fill("Wombat")
    wombat = rows.filter(has=bob.get_by_role("link", name="Wombat", exact=True))
    await expect(wombat).to_have_count(1, timeout=DEADLINE_MS)
    await expect(wombat.get_by_test_id("record-meta")).to_have_text(JUST_NOW, timeout=DEADLINE_MS)
    await expect(rows).to_have_count(2)

    # She goes back to her list: her avatar leaves Bob's row, and her own list has her record once.
    await alice.get_by_role("link", name="← Customers").click()
    alice_rows = alice.get_by_test_id("record-list").get_by_test_id("record")
    await expect(alice_rows).to_have_count(2, timeout=DEADLINE_MS)
    await expect(alice_rows.filter(has_text="Wombat")).to_have_count(1)
    await expect(wombat.get_by_test_id("avatar")).to_have_count(0, timeout=DEADLINE_MS)

    # She opens Bob's record, then deletes it from her list: it leaves Bob's list, which says so.
    await open_record(alice, "Panda")
    panda = rows.filter(has_text="Panda")
    await expect(panda.get_by_test_id("avatar")).to_have_attribute("title", "Admin", timeout=DEADLINE_MS)
    await alice.get_by_role("link", name="← Customers").click()
    await alice.get_by_role("button", name="Delete Panda").click()
    await expect(rows).to_have_count(1, timeout=DEADLINE_MS)
    await expect(panda).to_have_count(0)
    await expect(announcer).to_contain_text("Admin deleted “Panda”.")
    # Her Undo brings it back to Bob too.
    await alice.get_by_test_id("toast").get_by_role("button", name="Undo").click()
    await expect(rows).to_have_count(2, timeout=DEADLINE_MS)
    await expect(announcer).to_contain_text("Admin restored “Panda”.")

    await assert_not_reloaded(bob)
    assert page_errors.messages == []


@pytest.mark.server_process  # restarted: the page's event stream drops and catches up
async def test_a_search_stays_current_and_the_list_catches_up_after_the_stream_drops(
    live_server: ServerProcess, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    await live_server.create_record(admin_token, {"name": "Panda"})
    koala = await live_server.create_record(admin_token, {"name": "Koala"})
    await live_server.add_user(BOB_EMAIL, "editor", password=BOB_PASSWORD)
    bob = await sign_in(await browser.new_context(), live_server, BOB_EMAIL, BOB_PASSWORD)
    page_errors.watch(bob, "bob")
    rows = bob.get_by_test_id("record-list").get_by_test_id("record")
    await bob.get_by_label("Search customers").fill("pan")
    await expect(rows).to_have_count(1, timeout=DEADLINE_MS)
    await mark_list(bob)

    # While Bob searches, only what matches comes in: a new match, and a record an edit made match.
    await live_server.create_record(admin_token, {"name": "Zebra"})
    await live_server.create_record(admin_token, {"name": "Pangolin"})
    await expect(rows).to_have_count(2, timeout=DEADLINE_MS)
    async with live_server.client(admin_token) as http:
        tag = (await http.get(f"/api/records/{koala}")).headers["etag"]
        answer = await http.patch(
            f"/api/records/{koala}", json={"fields": {"name": "Panther"}}, headers={"If-Match": tag}
        )
        answer.raise_for_status()
    panther = rows.filter(has=bob.get_by_role("link", name="Panther"))
    await expect(panther.get_by_test_id("record-meta")).to_have_text(JUST_NOW, timeout=DEADLINE_MS)
    await expect(rows).to_have_count(3)
    await expect(bob.get_by_test_id("record-list")).not_to_contain_text("Zebra")
    await bob.get_by_label("Search customers").fill("")
    await expect(rows).to_have_count(4, timeout=DEADLINE_MS)

    # The server goes down and comes back behind a proxy that still answers 502, so the browser gives up
    # its own reconnecting and the app takes over; a record is made meanwhile. Once through, the stream
    # resumes from the last event Bob saw, and the record appears.
    streams: list[Request] = []
    bob.on("request", lambda request: streams.append(request) if "/api/events" in request.url else None)

    refused = asyncio.Event()

    async def refuse(route: Route) -> None:
        refused.set()
        await route.fulfill(status=502, body="Bad gateway")  # a proxy's answer: the browser gives up

    await bob.route("**/api/events?*", refuse)
    await live_server.restart()
    await live_server.create_record(admin_token, {"name": "Yak"})
    await asyncio.wait_for(refused.wait(), RECONNECT_MS / 1000)  # Bob's page has tried, and failed
    await bob.unroute("**/api/events?*", refuse)
    await expect(rows.filter(has_text="Yak")).to_have_count(1, timeout=RECONNECT_MS)
    await expect(rows).to_have_count(5)
    await assert_not_reloaded(bob)
    resumed = streams[-1]
    headers = await resumed.all_headers()
    assert "last-event-id" in headers or "last_event_id=" in resumed.url
    # The browser logs the dropped stream and the proxy's 502s; nothing else may have gone wrong.
    expected = ("net::ERR_", "status of 502")
    assert [m for m in page_errors.messages if not any(e in m for e in expected)] == []
