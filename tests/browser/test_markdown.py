"""Rich text is markdown: the editor styles it as it is typed, its toolbar and shortcuts format the
selection as one undo step each and what they do is stored like typing; a viewer reads it rendered, links
opening safely in a new tab. And the sanitiser (markdown.js's DOMPurify layer), on its own in Chromium,
strips what markdown-it would never make but a future change might let through."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import PageErrors
from tests.browser.helpers import DEADLINE_MS, SAVED, expect_rich_text, sign_in
from tests.support.live_server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer

pytestmark = pytest.mark.asyncio(loop_scope="session")

WEB = Path(__file__).resolve().parents[2] / "web"
VIEWER_EMAIL = "vic@example.com"
VIEWER_PASSWORD = "vic-password-1"


async def markdown_module() -> str:
    """markdown.js and its dependencies as one script defining `collabMarkdown`, built as the app is."""
    process = await asyncio.create_subprocess_exec(
        str(WEB / "node_modules" / ".bin" / "esbuild"),
        "src/markdown.js",
        "--bundle",
        "--format=iife",
        "--global-name=collabMarkdown",
        cwd=WEB,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()


async def stored_notes(server: LiveServer, token: str, record_id: str) -> str:
    async with server.client(token) as http:
        response = await http.get(f"/api/records/{record_id}")
    response.raise_for_status()
    notes: str = response.json()["fields"]["notes"]
    return notes


async def expect_stored(server: LiveServer, token: str, record_id: str, wanted: str) -> None:
    deadline = asyncio.get_running_loop().time() + DEADLINE_MS / 1000
    while (found := await stored_notes(server, token, record_id)) != wanted:
        assert asyncio.get_running_loop().time() < deadline, f"stored {found!r}, wanted {wanted!r}"
        await asyncio.sleep(0.05)  # polling under a deadline, not waiting for time to pass


async def font_weight_of(page: Page, word: str) -> str:
    """The computed weight of the text `word` in the notes editor."""
    weight: str = await page.get_by_test_id("field-notes").evaluate(
        """(content, word) => {
          const walker = document.createTreeWalker(content, NodeFilter.SHOW_TEXT);
          while (walker.nextNode()) {
            const text = walker.currentNode;
            if (text.data.includes(word)) return getComputedStyle(text.parentElement).fontWeight;
          }
          return 'missing';
        }""",
        word,
    )
    return weight


async def expect_weight(page: Page, word: str, wanted: str) -> None:
    deadline = asyncio.get_running_loop().time() + DEADLINE_MS / 1000
    while (found := await font_weight_of(page, word)) != wanted:
        assert asyncio.get_running_loop().time() < deadline, f"{word} is {found}, not {wanted}"
        await asyncio.sleep(0.05)  # polling under a deadline


async def test_the_sanitiser_keeps_only_what_markdown_makes(browser: Browser) -> None:
    page = await (await browser.new_context()).new_page()
    await page.set_content("<!doctype html><html><body></body></html>")
    await page.add_script_tag(content=await markdown_module())
    html = await page.evaluate(
        """(inputs) => inputs.map((input) => {
          const box = document.createElement('div');
          box.append(collabMarkdown.sanitizeHtml(input));
          return box.innerHTML;
        })""",
        [
            '<img src=x onerror="window.__pwned=1">',
            "<script>window.__pwned=1</script>",
            '<a href="javascript:window.__pwned=1">x</a>',
            '"><svg onload=window.__pwned=1>',
            '<p onclick="window.__pwned=1" style="color:red">p</p>',
            '<a href="https://example.com" target="_self">site</a>',
            '<a href="/relative">rel</a>',
            "<iframe src=https://example.com></iframe><form><input></form>",
        ],
    )
    assert html == [
        "",
        "",
        "<a>x</a>",
        '"&gt;',
        "<p>p</p>",
        '<a href="https://example.com" target="_blank" rel="noopener noreferrer">site</a>',
        "<a>rel</a>",
        "",
    ]
    rendered = await page.evaluate(
        """(text) => {
          const box = document.createElement('div');
          box.append(collabMarkdown.renderMarkdown(text));
          return box.innerHTML;
        }""",
        "# Title\n\n**bold** [x](javascript:alert(1)) ![i](https://example.com/i.png) <b>b</b>",
    )
    assert rendered == (
        "<h3>Title</h3>\n<p><strong>bold</strong> [x](javascript:alert(1)) "
        '!<a href="https://example.com/i.png" target="_blank" rel="noopener noreferrer">i</a> '
        "&lt;b&gt;b&lt;/b&gt;</p>\n"
    )
    assert await page.evaluate("window.__pwned") is None


async def test_markdown_is_styled_formatted_from_the_toolbar_and_rendered_for_viewers(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Panda", "notes": "Met in Lyon."})
    page = await sign_in(await browser.new_context(), live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page_errors.watch(page, "admin")
    await page.goto(f"{live_server.base_url}/#/records/{record}")
    await expect(page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
    notes = page.get_by_test_id("field-notes")
    toolbar = page.get_by_test_id("field-notes-toolbar")
    await expect(notes).to_be_editable(timeout=DEADLINE_MS)

    # Typed markdown is styled as it is typed: bold shows bold.
    await expect_weight(page, "Lyon.", "400")
    await notes.click()
    await notes.press("Control+End")
    await notes.press_sequentially(" **big**")
    await expect_weight(page, "big", "700")

    # The toolbar's Bold wraps the selection, as one undo step, and keeps the focus in the editor.
    await notes.press("Enter")
    await notes.press_sequentially("deal")
    await notes.press("Shift+Control+ArrowLeft")
    await toolbar.get_by_role("button", name="Bold (Ctrl+B)").click()
    await expect(notes).to_be_focused()
    await expect_rich_text(page, "notes", "Met in Lyon. **big**\n**deal**")
    await notes.press("Control+z")
    await expect_rich_text(page, "notes", "Met in Lyon. **big**\ndeal")
    # The shortcuts: Ctrl+I italic (the selection is still "deal"), Ctrl+Alt+1 heading, list, link.
    await notes.press("Control+i")
    await expect_rich_text(page, "notes", "Met in Lyon. **big**\n_deal_")
    await notes.press("Control+Alt+1")
    await expect_rich_text(page, "notes", "Met in Lyon. **big**\n# _deal_")
    await toolbar.get_by_role("button", name="List (Ctrl+Shift+8)").click()
    await expect_rich_text(page, "notes", "Met in Lyon. **big**\n- # _deal_")
    await notes.press("Control+z")
    await notes.press("Control+End")
    await notes.press("Enter")
    await notes.press_sequentially("site")
    await notes.press("Shift+Control+ArrowLeft")
    await notes.press("Control+Shift+K")  # the address is selected: typing replaces it
    await notes.press_sequentially("https://example.com")
    wanted = "Met in Lyon. **big**\n# _deal_\n[site](https://example.com)"
    await expect_rich_text(page, "notes", wanted)
    await expect_stored(live_server, admin_token, record, wanted)

    # A viewer reads it rendered: bold, a heading under the page's, a link that opens safely elsewhere.
    await live_server.add_user(VIEWER_EMAIL, "viewer", password=VIEWER_PASSWORD)
    viewer = await sign_in(await browser.new_context(), live_server, VIEWER_EMAIL, VIEWER_PASSWORD)
    page_errors.watch(viewer, "viewer")
    await viewer.goto(f"{live_server.base_url}/#/records/{record}")
    rendered = viewer.get_by_test_id("field-notes")
    await expect(rendered.locator("strong")).to_have_text("big", timeout=DEADLINE_MS)
    await expect(rendered.locator("h3 em")).to_have_text("deal")
    link = rendered.get_by_role("link", name="site")
    await expect(link).to_have_attribute("href", "https://example.com")
    await expect(link).to_have_attribute("target", "_blank")
    await expect(link).to_have_attribute("rel", "noopener noreferrer")
    await expect(viewer.get_by_test_id("field-notes-toolbar")).to_have_count(0)

    # …and live: the editor's next words appear rendered on the viewer's page.
    await notes.press("Control+End")
    await notes.press_sequentially(" **now**")
    await expect(rendered.locator("strong", has_text="now")).to_be_visible(timeout=DEADLINE_MS)
    assert page_errors.messages == []
