"""A new version of the app shell takes effect on the next load, whole: the service worker (web/src/sw.js)
installs it in the background while the old one runs, pages keep the version they were loaded with while
another page is open, and the next load of the only page is wholly the new version (page, stylesheet and
bundle from its cache), the old version's cache deleted.

The site is a minimal one built by tests/browser/shell_site.mjs with the app's own service worker and
start-up check (web/src/shell-update.js), served by a static server with the app's caching (`SiteHandler`),
so that a test can change the files between loads (the live server serves the repository's bundle, shared
by every test)."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import subprocess
import threading
from collections.abc import Iterator
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page

from tests.browser.conftest import PageErrors

pytestmark = pytest.mark.asyncio(loop_scope="session")

BUILDER = Path(__file__).with_name("shell_site.mjs")
VERSION = "navigator.serviceWorker.getRegistration().then((r) => r && r.active && r.active.state)"
WAITING = """async () => {
  // Look for a new version now, and wait until it is installed (or its install failed).
  const registration = await navigator.serviceWorker.getRegistration()
  await registration.update()
  const worker = registration.installing
  if (worker) {
    await new Promise((resolve) => worker.addEventListener('statechange', () => {
      if (worker.state !== 'installing') resolve(null)
    }))
  }
  return registration.waiting !== null
}"""
# A new version is there: wait (under a deadline) until it is installed and waiting. Under load the update
# check can resolve before the new worker shows as installing: look again until it is waiting.
INSTALLED = """async () => {
  const registration = await navigator.serviceWorker.getRegistration()
  const deadline = Date.now() + 15000
  while (registration.waiting === null && Date.now() < deadline) {
    if (registration.installing === null) await registration.update()
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return registration.waiting !== null
}"""


class SiteHandler(SimpleHTTPRequestHandler):
    """Serves the site the way the app's server does (web/routes.py): the page and the service worker
    always whole, the static files with a validator that changes with their bytes.

    Never a 304 by `If-Modified-Since`, as `SimpleHTTPRequestHandler` gives: its resolution is one second,
    and this test writes a new version about a second after the old one. Within the same second, the
    browser's update check of /sw.js got 304 (no new version, however often it looked) and the install's
    revalidating fetches got 304 (the old bytes: a digest mismatch)."""

    protocol_version = "HTTP/1.1"  # as uvicorn: Chromium revalidates by ETag only in HTTP/1.1 answers

    def send_head(self) -> BytesIO | None:
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        try:
            body = path.read_bytes()
        except OSError:
            self.send_error(HTTPStatus.NOT_FOUND)
            return None
        static = self.path.startswith("/static/")
        # A strong ETag of the very bytes served, as precise as StaticFiles' (mtime and size), without
        # a race between reading the file and describing it.
        etag = f'"{hashlib.sha256(body).hexdigest()}"'
        if static and etag in self.headers.get("If-None-Match", "").split(", "):
            self.send_response(HTTPStatus.NOT_MODIFIED)
            self.send_header("ETag", etag)
            self.end_headers()
            return None
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Length", str(len(body)))
        if static:
            self.send_header("ETag", etag)
        else:
            self.send_header("Cache-Control", "no-cache")  # FileResponse: never a 304
        self.end_headers()
        return BytesIO(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A static server of `tmp_path/site` on a free port: its address and its directory."""
    root = tmp_path / "site"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(SiteHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def build(root: Path, tag: str) -> str:
    """Write the site saying `tag`; returns its shell version."""
    done = await asyncio.to_thread(
        subprocess.run, ["node", str(BUILDER), str(root), tag], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


async def started(page: Page) -> tuple[str, str]:
    """The loaded page's tag (from its bundle) and body (from its page), once the bundle has run."""
    await page.wait_for_function("window.appTag !== undefined")
    tag: str = await page.evaluate("window.appTag")
    body: str = await page.evaluate("document.body.textContent")
    return tag, body


async def caches(page: Page) -> list[str]:
    names: list[str] = await page.evaluate("caches.keys()")
    return names


async def test_a_new_version_takes_effect_on_the_next_load_never_mixed(
    site: tuple[str, Path], browser: Browser, page_errors: PageErrors
) -> None:
    base, root = site
    old = await build(root, "old")
    context = await browser.new_context()
    page = await context.new_page()
    page_errors.watch(page, "page")
    await page.goto(base + "/#/records/x")
    await page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    await page.reload()
    assert await started(page) == ("old", "old")
    assert await caches(page) == [f"collab-shell-{old}"]

    new = await build(root, "new")
    assert new != old
    # Installed in the background, while the page runs the old version.
    assert await page.evaluate(INSTALLED) is True
    assert sorted(await caches(page)) == sorted([f"collab-shell-{old}", f"collab-shell-{new}"])
    assert await page.evaluate("window.appTag") == "old"

    # Another page open: both load the version they run, from its cache.
    other = await context.new_page()
    page_errors.watch(other, "other")
    await other.goto(base + "/")
    assert await started(other) == ("old", "old")
    await page.reload()
    assert await started(page) == ("old", "old")
    await other.close()

    # The next load of the only page is the new version, whole, and the old cache is gone.
    await page.reload()
    assert await started(page) == ("new", "new")
    assert page.url.endswith("#/records/x")
    assert await caches(page) == [f"collab-shell-{new}"]
    assert await page.evaluate(VERSION) == "activated"
    assert page_errors.messages == []


async def test_files_of_another_build_never_make_a_version(
    site: tuple[str, Path], browser: Browser, page_errors: PageErrors
) -> None:
    base, root = site
    old = await build(root, "old")
    page = await (await browser.new_context()).new_page()
    page_errors.watch(page, "page")
    await page.goto(base + "/")
    await page.evaluate("navigator.serviceWorker.ready.then(() => true)")

    await build(root, "new")
    # A deploy under way: the bundle changed again after the service worker was written.
    bundle = root / "static" / "dist" / "app.js"
    bundle.write_text(bundle.read_text() + "\n// another build\n")
    assert await page.evaluate(WAITING) is False
    assert await caches(page) == [f"collab-shell-{old}"]
    await page.reload()
    assert await started(page) == ("old", "old")
