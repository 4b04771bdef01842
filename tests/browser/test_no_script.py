"""No script ever runs from a field: markup and script put into a text field, a rich-text field and a
record's title show as text (or as sanitised markdown) in the collection's page (its table), an open one
receiving them live from the feed, the command palette, the record page (an editor's and a viewer's), the
history and the snapshots.

Three things are checked on every page: `window.__pwned` stays undefined; the page has no element the
values could have made (an `on…` attribute, an inline script, an image, an SVG, a javascript: link); and
the browser reported no Content-Security-Policy violation. The last one matters: the CSP alone would stop
an injected handler from running, so a page that injected markup would still leave `__pwned` undefined,
but the browser would report the refused inline handler as a violation."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import PageErrors
from tests.browser.helpers import DEADLINE_MS, SAVED, expect_rich_text, sign_in
from tests.support.live_server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer

pytestmark = pytest.mark.asyncio(loop_scope="session")

PAYLOADS = [
    '<img src=x onerror="window.__pwned=1">',
    "<script>window.__pwned=1</script>",
    "[x](javascript:window.__pwned=1)",
    '"><svg onload=window.__pwned=1>',
]
VIEWER_EMAIL = "vic@example.com"
VIEWER_PASSWORD = "vic-password-1"

# Before any of the app's code: collect the policy violations the browser reports.
WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
  (event) => window.__violations.push(`${event.violatedDirective}: ${event.sample || event.blockedURI}`));
"""
FIND_INJECTED = """() => {
  const found = [];
  for (const element of document.querySelectorAll('*')) {
    for (const attribute of element.attributes) {
      if (/^on/i.test(attribute.name)) found.push(`${element.tagName} ${attribute.name}`);
    }
    const tag = element.tagName.toLowerCase();
    if (tag === 'script' && !element.src) found.push('an inline script');
    if (tag === 'img' || tag === 'svg' || tag === 'iframe') found.push(tag);
    const href = element.getAttribute('href') || '';
    if (tag === 'a' && /^\\s*javascript:/i.test(href)) found.push('a javascript: link');
  }
  return found;
}"""


async def assert_nothing_ran(page: Page, where: str) -> None:
    assert await page.evaluate("window.__pwned") is None, f"a field's script ran on {where}"
    assert await page.evaluate(FIND_INJECTED) == [], f"markup from a field on {where}"
    assert await page.evaluate("window.__violations") == [], f"CSP violations on {where}"


async def create_things(server: LiveServer, token: str) -> None:
    fields = [
        {"key": "title", "label": "Title", "type": "text"},
        {"key": "code", "label": "Code", "type": "text"},
        {"key": "body", "label": "Body", "type": "richtext"},
    ]
    async with server.client(token) as http:
        response = await http.post(
            "/api/collections", json={"name": "things", "label": "Things", "fields": fields}
        )
    response.raise_for_status()


async def patch(server: LiveServer, token: str, record_id: str, fields: dict[str, object]) -> None:
    async with server.client(token) as http:
        tag = (await http.get(f"/api/records/{record_id}")).headers["etag"]
        response = await http.patch(
            f"/api/records/{record_id}", json={"fields": fields}, headers={"If-Match": tag}
        )
    response.raise_for_status()


async def watched(context: BrowserContext) -> BrowserContext:
    await context.add_init_script(WATCH_VIOLATIONS)
    return context


async def open_record(page: Page, server: LiveServer, record_id: str) -> None:
    await page.goto(f"{server.base_url}/#/records/{record_id}")
    await expect(page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)


async def test_markup_and_script_in_fields_never_run_anywhere(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    # What makes a refused handler a reported violation: no inline script is allowed at all.
    async with live_server.client() as http:
        policy = (await http.get("/")).headers["content-security-policy"]
    script_src = next(part for part in policy.split(";") if part.strip().startswith("script-src"))
    assert script_src.split() == ["script-src", "'self'"], policy
    await create_things(live_server, admin_token)
    ids = [
        await live_server.create_record(
            admin_token,
            {"title": payload, "code": payload, "body": f"**bold** {payload}"},
            collection="things",
        )
        for payload in PAYLOADS[:3]
    ]
    await live_server.add_user(VIEWER_EMAIL, "viewer", password=VIEWER_PASSWORD)
    admin = await sign_in(
        await watched(await browser.new_context()), live_server, ADMIN_EMAIL, ADMIN_PASSWORD
    )
    page_errors.watch(admin, "admin")

    await admin.goto(f"{live_server.base_url}/#/c/things")
    # The collection's page (its table, or the list): found by the titles' links, whichever it is.
    rows = admin.locator("main")
    for payload in PAYLOADS[:3]:
        await expect(rows.get_by_role("link", name=payload, exact=True)).to_be_visible(timeout=DEADLINE_MS)
    await assert_nothing_ran(admin, "the list")

    # An open list receives a new record and a changed title live, from the feed.
    arrived = await live_server.create_record(
        admin_token, {"title": PAYLOADS[3], "code": PAYLOADS[3]}, collection="things"
    )
    await patch(live_server, admin_token, ids[0], {"title": f"{PAYLOADS[3]} {PAYLOADS[1]}"})
    for title in (PAYLOADS[3], f"{PAYLOADS[3]} {PAYLOADS[1]}"):
        await expect(rows.get_by_role("link", name=title, exact=True)).to_be_visible(timeout=DEADLINE_MS)
    await assert_nothing_ran(admin, "the live list")

    # The command palette finds them by title, and names them as typed.
    await admin.keyboard.press("Control+k")
    await admin.get_by_test_id("palette-input").fill("pwned")
    options = admin.get_by_test_id("palette-option")
    await expect(options.filter(has_text=PAYLOADS[2])).to_have_count(1, timeout=DEADLINE_MS)
    await expect(options.filter(has_text=PAYLOADS[3])).to_have_count(2)
    await assert_nothing_ran(admin, "the command palette")
    await admin.keyboard.press("Escape")

    # The record page of an editor: the title, the text field and the editor show the values as typed.
    await patch(live_server, admin_token, ids[2], {"body": f"{PAYLOADS[0]}\n\n{PAYLOADS[3]}"})
    await open_record(admin, live_server, ids[2])
    await expect(admin.get_by_role("heading", level=1)).to_have_text(PAYLOADS[2])
    await expect(admin.get_by_test_id("field-code")).to_have_value(PAYLOADS[2])
    await expect_rich_text(admin, "body", f"{PAYLOADS[0]}\n{PAYLOADS[3]}")
    await assert_nothing_ran(admin, "the record page")

    # Its history: both values of the rich-text change, rendered; the text values as text.
    await admin.get_by_test_id("open-history").click()
    history = admin.get_by_test_id("history-list")
    await expect(history.locator("[data-rich] strong", has_text="bold").first).to_be_visible(
        timeout=DEADLINE_MS
    )
    await assert_nothing_ran(admin, "the history")
    await expect(history).to_contain_text(PAYLOADS[0])
    await expect(history).to_contain_text(PAYLOADS[2])
    await admin.keyboard.press("Escape")

    # A snapshot compared with now.
    await admin.get_by_test_id("open-snapshots").click()
    drawer = admin.get_by_test_id("snapshots")
    await drawer.get_by_role("button", name="Take snapshot").click()
    await drawer.get_by_role("button", name="Compare with now").first.click()
    body = drawer.get_by_test_id("compare-body")
    await expect(body).to_contain_text(PAYLOADS[0], timeout=DEADLINE_MS)
    await expect(drawer.get_by_test_id("compare-code")).to_contain_text(PAYLOADS[2])
    await assert_nothing_ran(admin, "the snapshots")

    # A viewer's record page: the rich text rendered as sanitised markdown, the rest as text.
    viewer = await sign_in(
        await watched(await browser.new_context()), live_server, VIEWER_EMAIL, VIEWER_PASSWORD
    )
    page_errors.watch(viewer, "viewer")
    await open_record(viewer, live_server, ids[1])
    rendered = viewer.get_by_test_id("field-body")
    await expect(rendered.locator("strong")).to_have_text("bold")
    await expect(rendered).to_have_text(f"bold {PAYLOADS[1]}")
    await expect(viewer.get_by_role("heading", level=1)).to_have_text(PAYLOADS[1])
    await assert_nothing_ran(viewer, "a viewer's record page")
    await open_record(viewer, live_server, arrived)
    await expect(viewer.get_by_role("heading", level=1)).to_have_text(PAYLOADS[3])
    await assert_nothing_ran(viewer, "a viewer's record page")
    assert page_errors.messages == []
