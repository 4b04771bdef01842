"""Importing a CSV of 10,000 rows through the page (choose, map, preview, import with progress), then the
collection's export link downloads the same values. Nothing from the file runs as HTML."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import PageErrors
from tests.browser.helpers import DEADLINE_MS, PHONE, sign_in
from tests.browser.test_records_and_admin import check_phone_layout
from tests.support.live_server import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer

pytestmark = pytest.mark.asyncio(loop_scope="session")

FIELDS = [
    {"key": "name", "label": "Name", "type": "text"},
    {"key": "score", "label": "Score", "type": "number"},
    {"key": "active", "label": "Active", "type": "boolean"},
    {"key": "stage", "label": "Stage", "type": "select", "options": ["lead", "customer"]},
]
HOSTILE = '<img src=x onerror="window.__pwned=1">'
ROWS = 10_000
BAD_ROWS = (17, 5000)  # 1-based: a score that is no number, a stage that is no option


def _file() -> bytes:
    lines = [f"Full name,Score,Active,Stage,{HOSTILE}"]
    for n in range(1, ROWS + 1):
        score = "lots" if n == BAD_ROWS[0] else str(n * 3)
        stage = f"{HOSTILE}" if n == BAD_ROWS[1] else ("lead" if n % 2 else "customer")
        lines.append(f'"Person {n:05d}, the {n}th",{score},{"yes" if n % 3 else "no"},{stage},ignored')
    return ("\r\n".join(lines) + "\r\n").encode()


def _expected() -> dict[str, dict[str, str]]:
    rows = csv.DictReader(io.StringIO(_file().decode(), newline=""))
    return {
        row["Full name"]: {
            "Score": row["Score"],
            "Active": "true" if row["Active"] == "yes" else "false",
            "Stage": row["Stage"],
        }
        for n, row in enumerate(rows, start=1)
        if n not in BAD_ROWS
    }


@pytest.mark.timeout(900)  # 30-60 s alone; several times that while the machine is shared
async def test_a_ten_thousand_row_csv_imported_through_the_page_exports_back(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    async with live_server.client(admin_token) as http:
        made = await http.post(
            "/api/collections", json={"name": "people", "label": "People", "fields": FIELDS}
        )
        assert made.status_code == 201, made.text
    context = await browser.new_context(accept_downloads=True)
    page = await sign_in(context, live_server, ADMIN_EMAIL, ADMIN_PASSWORD)
    page_errors.watch(page, "page")
    await page.goto(f"{live_server.base_url}/#/c/people/import")
    await expect(page.get_by_role("heading", name="Import into People")).to_be_visible(timeout=DEADLINE_MS)
    await page.get_by_test_id("import-file").set_input_files(
        {"name": "people.csv", "mimeType": "text/csv", "buffer": _file()}
    )

    mapping = page.get_by_test_id("import-mapping")
    await expect(mapping.get_by_label(HOSTILE)).to_have_value("", timeout=DEADLINE_MS)  # shown as text
    await expect(mapping.get_by_label("Score")).to_have_value("score")  # guessed from the label
    await expect(mapping.get_by_label("Full name")).to_have_value("")  # no field of that name
    await mapping.get_by_label("Full name").select_option(label="Name")
    await page.get_by_test_id("import-preview").click()

    counts = page.get_by_test_id("import-counts")
    await expect(counts).to_contain_text(
        f"{ROWS:,} rows: {ROWS - 2:,} valid, 2 with problems", timeout=60_000
    )
    errors = page.get_by_test_id("import-errors").locator("tbody tr")
    await expect(errors).to_have_count(2)
    await expect(errors.nth(0)).to_contain_text(f"{BAD_ROWS[0]}Score")
    await expect(errors.nth(1)).to_contain_text(f"{BAD_ROWS[1]}Stage")
    sample = page.get_by_test_id("import-sample").locator("tbody tr")
    await expect(sample).to_have_count(20)
    await expect(sample.first).to_contain_text("Person 00001, the 1th")

    # Every progress line the page shows, as it shows it.
    await page.evaluate("""() => {
        window.__progress = []
        new MutationObserver((records) => {
            for (const record of records) {
                const target = record.target instanceof Element ? record.target : record.target.parentElement
                if (target?.closest('[data-testid="import-progress-text"]')) {
                    window.__progress.push(target.closest('[data-testid="import-progress-text"]').textContent)
                }
            }
        }).observe(document.body, { subtree: true, childList: true, characterData: true })
    }""")
    await page.get_by_role("button", name=f"Import {ROWS - 2:,} valid rows, skip 2 rows").click()
    await expect(page.get_by_test_id("import-created")).to_have_text(
        f"Created {ROWS - 2:,} records, skipped 2 rows with problems.", timeout=300_000
    )
    shown: list[str] = await page.evaluate("window.__progress")
    total = f"{ROWS - 2:,}"
    assert f"0 of {total} records" in shown and f"{total} of {total} records" in shown, shown
    assert any(text not in (f"0 of {total} records", f"{total} of {total} records") for text in shown), shown
    assert await page.get_by_test_id("import-progress").get_attribute("value") == str(ROWS - 2)

    await page.get_by_test_id("import-back").click()
    await expect(page.get_by_test_id("record-count")).to_have_text(f"{total} records", timeout=DEADLINE_MS)
    async with page.expect_download() as download_info:
        await page.get_by_test_id("export-csv").click()
    download = await download_info.value
    assert download.suggested_filename.startswith("people-") and download.suggested_filename.endswith(".csv")
    text = await asyncio.to_thread(Path(await download.path()).read_text, "utf-8-sig")
    exported = list(csv.DictReader(io.StringIO(text, newline="")))
    expected = _expected()
    assert len(exported) == len(expected)
    by_name: dict[str, Any] = {row["Name"]: row for row in exported}
    assert set(by_name) == set(expected)
    for name, values in expected.items():
        for label, value in values.items():
            if label in by_name[name]:  # the columns the table shows
                assert by_name[name][label] == value, (name, label)
    assert {"Name", "Score"} <= set(exported[0])
    assert await page.evaluate("window.__pwned") is None
    assert page_errors.messages == []


async def test_on_a_phone_an_editor_imports_all_or_nothing_and_a_viewer_is_told_why_not(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    async with live_server.client(admin_token) as http:
        made = await http.post(
            "/api/collections", json={"name": "people", "label": "People", "fields": FIELDS}
        )
        assert made.status_code == 201, made.text
    await live_server.add_user("ed@example.com", "editor", password="editor-pass-1")
    await live_server.add_user("vi@example.com", "viewer", password="viewer-pass-1")
    page = await sign_in(
        await browser.new_context(viewport=PHONE), live_server, "ed@example.com", "editor-pass-1"
    )
    page_errors.watch(page, "editor")
    await page.goto(f"{live_server.base_url}/#/c/people/import")
    body = (
        "Name,Score,Stage\r\nAda,1,lead\r\nBob,two,lead\r\nCy,3,customer\r\n"
        + "A long name " * 20
        + ",4,lead\r\n"
    )
    await page.get_by_test_id("import-file").set_input_files(
        {"name": "people.csv", "mimeType": "text/csv", "buffer": body.encode()}
    )
    await page.get_by_test_id("import-preview").click()
    await expect(page.get_by_test_id("import-counts")).to_contain_text(
        "4 rows: 3 valid, 1 with problems", timeout=DEADLINE_MS
    )
    await check_phone_layout(page)
    await page.get_by_role("button", name="Import only if all are valid").click()
    await expect(page.get_by_test_id("import-done")).to_contain_text(
        "Nothing was imported: 1 row has problems.", timeout=DEADLINE_MS
    )
    async with live_server.client(admin_token) as http:
        listed = (await http.get("/api/records", params={"collection": "people"})).json()
        assert listed["total"] == 0
    assert page_errors.messages == []

    viewer = await sign_in(
        await browser.new_context(viewport=PHONE), live_server, "vi@example.com", "viewer-pass-1"
    )
    await viewer.goto(f"{live_server.base_url}/#/c/people/import")
    await expect(viewer.get_by_role("note")).to_have_text(
        "Only editors and admins can import.", timeout=DEADLINE_MS
    )
    await expect(viewer.get_by_test_id("import-file")).to_have_count(0)
