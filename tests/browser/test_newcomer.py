"""The newcomer's walk-through (issue 16, "Done when"): from a server's first start, with the admin login it
prints, everything through the app: a Projects and a People collection (a link to projects, a unique
email, a decimal rate), a project, a CSV of people imported with their project, the People table, and a
colleague (added on the Users page) in the same table live. No page shows "null" or "undefined".

The server is a real `collab serve` process on an empty database, without a chosen admin password, so
the password is the one it prints, as the README tells a newcomer to use it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, Page, ViewportSize, expect

from tests.browser.conftest import PageErrors
from tests.browser.helpers import DEADLINE_MS, SAVED
from tests.support.live_server import ADMIN_PASSWORD, SECRETS_SEEN, LiveServer, running
from tests.support.server_process import ServerProcess

pytestmark = pytest.mark.asyncio(loop_scope="session")

COLLEAGUE_EMAIL = "bob@example.com"
COLLEAGUE_PASSWORD = "bob-password-1"
# What a page must never show: a value the code did not have, spelled out.
PLACEHOLDERS = re.compile(r"\b(null|undefined|NaN)\b|\[object Object\]")
FIRST_START = re.compile(r"url (\S+)\s+tenant (\S+)\s+email (\S+)")
WIDE: ViewportSize = {"width": 1280, "height": 900}


class Login:
    """The first start's login, as `collab serve` printed it."""

    def __init__(self, lines: list[str]) -> None:
        printed = "".join(lines)
        found = FIRST_START.search(printed)
        password = re.search(r"^\s+password (\S+)\s*$", printed, re.MULTILINE)
        assert found and password, f"no first-start login printed:\n{printed}"
        self.url, self.tenant, self.email = found.groups()
        self.password = password.group(1)
        SECRETS_SEEN.add(self.password)


async def shows_no_placeholder(page: Page, where: str) -> None:
    text: str = await page.evaluate("document.body.innerText")
    found = PLACEHOLDERS.search(text)
    assert found is None, f"{where} shows {found.group(0)!r}:\n{text}"


async def sign_in(page: Page, url: str, tenant: str, email: str, password: str) -> None:
    await page.goto(url)
    form = page.get_by_test_id("login-form")
    await expect(form).to_be_visible(timeout=DEADLINE_MS)
    await shows_no_placeholder(page, "the sign-in page")
    await form.get_by_label("Organisation").fill(tenant)
    await form.get_by_label("Email").fill(email)
    await form.get_by_label("Password").fill(password)
    await form.get_by_role("button", name="Sign in").click()


async def define_field(row: Locator, key: str, label: str, kind: str) -> None:
    await row.get_by_label("Key").fill(key)
    await row.get_by_label("Label").fill(label)
    await row.get_by_label("Type").select_option(kind)


async def create_collection(page: Page, name: str, label: str) -> Locator:
    """Fill the New collection form's name and label; the form, with its first (empty) field row."""
    form = page.get_by_test_id("add-collection")
    await form.get_by_label("Name (lower-case, e.g. people)").fill(name)
    await form.get_by_label("Label").first.fill(label)
    return form


async def add_row(form: Locator) -> Locator:
    await form.get_by_role("button", name="Add field").click()
    return form.get_by_test_id("field-row").last


async def open_people(page: Page) -> Locator:
    await page.get_by_test_id("sidebar-collection").filter(has_text="People").click()
    table = page.get_by_test_id("record-list")
    await expect(table).to_have_attribute("role", "grid", timeout=DEADLINE_MS)
    return table


def row_of(table: Locator, title: str) -> Locator:
    return table.get_by_test_id("record").filter(has=table.page.get_by_role("link", name=title, exact=True))


@pytest.mark.timeout(300)  # about 20 s alone; several times that while the machine is shared
async def test_a_newcomer_sets_up_people_and_projects_and_works_with_a_colleague(
    database_url: str, tmp_path: Path, browser: Browser, page_errors: PageErrors
) -> None:
    # No chosen password: the first start makes one up and prints it, as it does for a newcomer.
    server = ServerProcess(database_url, tmp_path / "server.log", env={"COLLAB_BOOTSTRAP_ADMIN_PASSWORD": ""})
    async with running(server):
        login = Login(server.stdout_lines)
        admin = await (await browser.new_context(viewport=WIDE)).new_page()
        await sign_in(admin, login.url, login.tenant, login.email, login.password)
        await expect(admin.get_by_test_id("record-list")).to_be_visible(timeout=DEADLINE_MS)
        page_errors.watch(admin, "admin")  # from here: the signed-out load's own 401 is expected
        await shows_no_placeholder(admin, "the first collection")

        # Collections: Projects, then People with a link to it, a unique email and a decimal rate.
        await admin.get_by_role("navigation", name="Main").get_by_role("link", name="Collections").click()
        form = await create_collection(admin, "projects", "Projects")
        await define_field(form.get_by_test_id("field-row").first, "name", "Name", "text")
        await form.get_by_role("button", name="Create collection").click()
        await expect(admin.get_by_test_id("created-collection")).to_contain_text(
            "Projects", timeout=DEADLINE_MS
        )
        created = admin.get_by_test_id("created-collection")
        await expect(created.get_by_role("link", name="Open Projects")).to_have_attribute(
            "href", "#/c/projects"
        )
        # The sidebar lists it at once.
        await expect(admin.get_by_test_id("sidebar-collection")).to_have_text(["Customers", "Projects"])
        await shows_no_placeholder(admin, "the Collections page")

        form = await create_collection(admin, "people", "People")
        await define_field(form.get_by_test_id("field-row").first, "name", "Name", "text")
        email = await add_row(form)
        await define_field(email, "email", "Email", "email")
        await email.get_by_label("Unique").check()
        rate = await add_row(form)
        await define_field(rate, "rate", "Rate", "decimal")
        await rate.get_by_label("Digits after the point").fill("2")
        project = await add_row(form)
        await define_field(project, "project", "Project", "link")
        await project.get_by_label("Links to").select_option("projects")
        await form.get_by_role("button", name="Create collection").click()
        await expect(admin.get_by_test_id("created-collection")).to_contain_text(
            "People", timeout=DEADLINE_MS
        )
        people = (
            admin.get_by_test_id("collection").filter(has_text="people").get_by_test_id("collection-field")
        )
        await expect(people).to_have_text(
            [
                re.compile("name.*Name.*text"),
                re.compile("email.*Email.*email \\(unique\\)"),
                re.compile("rate.*Rate.*decimal \\(scale 2\\)"),
                re.compile("project.*Project.*link \\(→ projects\\)"),
            ]
        )
        await shows_no_placeholder(admin, "the Collections page")

        # A project, made from its collection's table.
        await admin.get_by_test_id("sidebar-collection").filter(has_text="Projects").click()
        await expect(admin.get_by_test_id("record-count")).to_have_text("0 records", timeout=DEADLINE_MS)
        await shows_no_placeholder(admin, "the empty Projects table")
        await admin.get_by_test_id("new-record").click()
        await expect(admin.get_by_test_id("field-name")).to_have_value("New project", timeout=DEADLINE_MS)
        await admin.get_by_test_id("field-name").fill("Apollo")
        await expect(admin.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
        await expect(admin.get_by_role("heading", name="Apollo")).to_be_visible()
        await shows_no_placeholder(admin, "the project's page")
        apollo = admin.url.rsplit("/", 1)[1]

        # People from a CSV, each with their project.
        table = await open_people(admin)
        await expect(admin.get_by_test_id("record-count")).to_have_text("0 records", timeout=DEADLINE_MS)
        await shows_no_placeholder(admin, "the empty People table")
        await admin.get_by_test_id("import-csv").click()
        await expect(admin.get_by_role("heading", name="Import into People")).to_be_visible(
            timeout=DEADLINE_MS
        )
        await shows_no_placeholder(admin, "the import page")
        # A link column takes the linked record's title (or its id): the page says so.
        await expect(admin.get_by_test_id("import-hints")).to_contain_text(
            "Project: the title of a record of Projects (in any case)"
        )
        # One row names the project as a newcomer would, by its title; the other by its id.
        csv = f"Name,Email,Rate,Project\nAnn,ann@example.com,120.5,apollo\nBen,ben@example.com,95,{apollo}\n"
        await admin.get_by_test_id("import-file").set_input_files(
            {"name": "people.csv", "mimeType": "text/csv", "buffer": csv.encode()}
        )
        mapping = admin.get_by_test_id("import-mapping")
        for column, key in (("Name", "name"), ("Email", "email"), ("Rate", "rate"), ("Project", "project")):
            await expect(mapping.get_by_label(column, exact=True)).to_have_value(key, timeout=DEADLINE_MS)
        await admin.get_by_test_id("import-preview").click()
        await expect(admin.get_by_test_id("import-counts")).to_contain_text(
            "2 rows: 2 valid, 0 with problems", timeout=DEADLINE_MS
        )
        await shows_no_placeholder(admin, "the import's preview")
        await admin.get_by_test_id("import-skip").click()
        await expect(admin.get_by_test_id("import-created")).to_have_text(
            "Created 2 records.", timeout=DEADLINE_MS
        )
        await shows_no_placeholder(admin, "the import's outcome")
        await admin.get_by_test_id("import-back").click()
        table = admin.get_by_test_id("record-list")
        await expect(admin.get_by_test_id("record-count")).to_have_text("2 records", timeout=DEADLINE_MS)
        ann = row_of(table, "Ann")
        await expect(ann.get_by_test_id("cell-rate")).to_have_text("120.50")
        await expect(ann.get_by_test_id("cell-project")).to_contain_text("Apollo", timeout=DEADLINE_MS)
        await shows_no_placeholder(admin, "the People table")

        # A colleague, added on the Users page, in the same table.
        await admin.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
        add = admin.get_by_test_id("add-user")
        await add.get_by_label("Email").fill(COLLEAGUE_EMAIL)
        await add.get_by_label("Name").fill("Bob")
        await add.get_by_label("Role").select_option("editor")
        await add.get_by_label("Password (leave empty to generate one)").fill(COLLEAGUE_PASSWORD)
        await add.get_by_role("button", name="Add user").click()
        await expect(admin.get_by_test_id("created-user")).to_contain_text(
            COLLEAGUE_EMAIL, timeout=DEADLINE_MS
        )
        await shows_no_placeholder(admin, "the Users page")
        SECRETS_SEEN.add(COLLEAGUE_PASSWORD)

        colleague = await (await browser.new_context(viewport=WIDE)).new_page()
        await sign_in(colleague, login.url, login.tenant, COLLEAGUE_EMAIL, COLLEAGUE_PASSWORD)
        await expect(colleague.get_by_test_id("record-list")).to_be_visible(timeout=DEADLINE_MS)
        page_errors.watch(colleague, "colleague")
        theirs = await open_people(colleague)
        await expect(colleague.get_by_test_id("record-count")).to_have_text("2 records", timeout=DEADLINE_MS)
        await shows_no_placeholder(colleague, "the colleague's People table")
        table = await open_people(admin)

        # The admin changes Ben's rate in its cell; the colleague's row follows.
        cell = row_of(table, "Ben").get_by_test_id("cell-rate")
        await expect(cell).to_have_text("95.00")
        await cell.click(position={"x": 3, "y": 3})
        await cell.press("Enter")
        editor = table.get_by_label("Rate of Ben")
        await expect(editor).to_have_value("95.00")
        await editor.fill("1,250.5")
        await editor.press("Enter")
        await expect(cell.get_by_test_id("cell-status")).to_have_text("Saved", timeout=DEADLINE_MS)
        await expect(row_of(theirs, "Ben").get_by_test_id("cell-rate")).to_have_text(
            "1,250.50", timeout=DEADLINE_MS
        )

        # The colleague makes a person; it appears in the admin's table.
        await colleague.get_by_test_id("new-record").click()
        await expect(colleague.get_by_test_id("field-name")).to_have_value("New person", timeout=DEADLINE_MS)
        await colleague.get_by_test_id("field-name").fill("Cleo")
        await expect(colleague.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
        await shows_no_placeholder(colleague, "the new person's page")
        await expect(row_of(table, "Cleo")).to_have_count(1, timeout=DEADLINE_MS)
        await expect(admin.get_by_test_id("record-count")).to_have_text("3 records")
        await shows_no_placeholder(admin, "the People table, live")
        # Closed while the server still serves: its end would cut their feed streams (console errors).
        for page in (admin, colleague):
            await page.context.close()
    assert page_errors.messages == []


EVERY_TYPE = [
    {"key": "name", "label": "Name", "type": "text"},
    {"key": "notes", "label": "Notes", "type": "richtext"},
    {"key": "count", "label": "Count", "type": "number"},
    {"key": "rate", "label": "Rate", "type": "decimal", "scale": 2},
    {"key": "active", "label": "Active", "type": "boolean"},
    {"key": "due", "label": "Due", "type": "date"},
    {"key": "stage", "label": "Stage", "type": "select", "options": ["lead", "won"]},
    {"key": "tags", "label": "Tags", "type": "multiselect", "options": ["a", "b"]},
    {"key": "email", "label": "Email", "type": "email", "unique": True},
    {"key": "site", "label": "Site", "type": "url"},
    {"key": "phone", "label": "Phone", "type": "phone"},
    {"key": "owner", "label": "Owner", "type": "person"},
    {"key": "projects", "label": "Projects", "type": "link", "target": "projects", "many": True},
]


async def walk(page: Page, base_url: str, hashes: list[str], role: str) -> None:
    """Open each address as a person would (typed into the address bar) and read every word shown."""
    for where in hashes:
        # The page before is gone once the new one is drawn: what is waited for below is the new page's.
        await page.evaluate("window.walked = document.getElementById('app').firstElementChild")
        await page.goto(f"{base_url}/{where}")
        await page.wait_for_function("() => !document.getElementById('app').contains(window.walked)")
        await expect(page.locator("#app h1, #app .problem").first).to_be_visible(timeout=DEADLINE_MS)
        if "nothing" in where:
            await expect(page.get_by_role("alert").filter(has_text="Not found.")).to_be_visible()
        elif where.startswith("#/c/") and where.count("/") == 2:
            await expect(page.get_by_test_id("record-count")).to_have_text(
                re.compile(r"\d"), timeout=DEADLINE_MS
            )
            if where == "#/c/things":  # and the jump to anything, from there
                await shows_no_placeholder(page, f"{where} as {role}")
                await page.keyboard.press("Control+k")
                await page.get_by_test_id("palette-input").fill("Ful")
                await expect(page.get_by_test_id("palette-option").first).to_be_visible(timeout=DEADLINE_MS)
                await shows_no_placeholder(page, f"the palette as {role}")
                await page.keyboard.press("Escape")
        elif where.startswith("#/records/"):
            await expect(page.get_by_test_id("save-state")).to_have_text(SAVED, timeout=DEADLINE_MS)
            await shows_no_placeholder(page, f"{where} as {role}")
            await page.get_by_test_id("open-history").click()
            shown = page.get_by_test_id("history-list").locator("li")
            await expect(shown.first).to_be_visible(timeout=DEADLINE_MS)
            await shows_no_placeholder(page, f"{where}'s history as {role}")
            await page.keyboard.press("Escape")
            if role != "viewer":
                await page.get_by_test_id("open-snapshots").click()
                await expect(page.get_by_role("dialog")).to_be_visible(timeout=DEADLINE_MS)
                await shows_no_placeholder(page, f"{where}'s snapshots as {role}")
                await page.keyboard.press("Escape")
        await shows_no_placeholder(page, f"{where} as {role}")


async def test_no_page_shows_null_undefined_nan_or_an_object_to_anyone(
    live_server: LiveServer, admin_token: str, browser: Browser, page_errors: PageErrors
) -> None:
    """Every page, as admin, editor and viewer, with an empty collection and one whose records hold every
    field type (one full, one empty, one in the trash)."""
    server, token = live_server, admin_token
    await server.add_user("ed@example.com", "editor", password=COLLEAGUE_PASSWORD)
    await server.add_user("vi@example.com", "viewer", password=COLLEAGUE_PASSWORD)
    async with server.client(token) as http:
        for name, fields in (
            ("projects", [{"key": "name", "label": "Name", "type": "text"}]),
            ("things", EVERY_TYPE),
            ("empty", [{"key": "title", "label": "Title", "type": "text"}]),
        ):
            made = await http.post(
                "/api/collections", json={"name": name, "label": name.title(), "fields": fields}
            )
            assert made.status_code == 201, made.text
        me = (await http.get("/api/auth/me")).json()["user"]["id"]
    apollo = await server.create_record(token, {"name": "Apollo"}, "projects")
    full = await server.create_record(
        token,
        {
            "name": "Full", "notes": "**bold**", "count": 3, "rate": "1234.5", "active": True,
            "due": "2026-03-03", "stage": "won", "tags": ["a", "b"], "email": "f@example.com",
            "site": "https://example.com", "phone": "+44 20 7946 0000", "owner": me,
            "projects": [apollo],
        },
        "things",
    )  # fmt: skip
    empty = await server.create_record(token, {}, "things")
    gone = await server.create_record(token, {"name": "Gone", "owner": me}, "things")
    async with server.client(token) as http:
        assert (await http.delete(f"/api/records/{gone}")).status_code in (200, 204)

    everyone = [
        "#/", "#/c/things", "#/c/empty", "#/c/projects", "#/c/things/import", "#/c/empty/import",
        "#/c/things/trash", "#/c/empty/trash", f"#/records/{full}", f"#/records/{empty}",
        "#/sessions", "#/c/nothing", "#/records/nothing", "#/c/things/trash",
    ]  # fmt: skip
    admin_only = ["#/admin/users", "#/admin/collections", "#/admin/audit"]
    for role, email, password in (
        ("admin", "admin@example.com", ADMIN_PASSWORD),
        ("editor", "ed@example.com", COLLEAGUE_PASSWORD),
        ("viewer", "vi@example.com", COLLEAGUE_PASSWORD),
    ):
        page = await (await browser.new_context(viewport=WIDE)).new_page()
        await sign_in(page, server.base_url + "/", "default", email, password)
        await expect(page.get_by_test_id("record-list")).to_be_visible(timeout=DEADLINE_MS)
        page_errors.watch(page, role)
        await walk(page, server.base_url, everyone + (admin_only if role == "admin" else []), role)
        if role == "viewer":  # the trash is not for viewers: the page says so, without asking
            await expect(page.get_by_text("Only editors and admins can see the trash.")).to_be_visible()
            await page.goto(f"{server.base_url}/#/c/things")
            await expect(page.get_by_test_id("record-count")).to_have_text("2 records", timeout=DEADLINE_MS)
            await expect(page.get_by_test_id("trash-link")).to_have_count(0)
    # The addresses of nothing answer 404, which the browser reports; nothing else may go wrong.
    assert [m for m in page_errors.messages if "404" not in m] == []
