"""The real app under uvicorn in a thread of this process: a real socket on port 0, without a process.

What `collab serve` runs (server/cli.py: the same uvicorn configuration with the strangers' time-outs, the
same server class, uvloop), in a thread of its own with its own event loop, so that nothing a test does
on its loop (a blocking call, a busy wait) stalls the server, and WebSocket, Node and browser clients reach
it as they reach production. Settings come from the same `COLLAB_*` variables a `ServerProcess` gets.

What differs from a process, on purpose: the log goes through the production redaction to a file handler
on this process's root logger (the test's own HTTP and WebSocket clients left out), the lines a process
prints go to `stdout_lines`, the process-wide collector tuning is left alone, and passwords are hashed
cheaply while it serves (tests/support/hashing.py). A test that kills,
terminates or restarts the server, or reads the process's figures, uses `ServerProcess`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

from collab.settings import Settings
from server.app import CollabApp, create_app
from server.cli import CollabServer, uvicorn_config
from tests.support.hashing import cheap_password_hashing
from tests.support.live_server import ADMIN_PASSWORD, LiveServer
from tests.support.server_log import server_log

_LISTENING = re.compile(r"collab: listening on (http://[\d.]+:\d+)")
START_TIMEOUT_SECONDS = 30.0
# uvicorn's graceful shutdown waits up to 30 s for open connections; ours end at once (feed streams are
# ended, WebSockets closed), so more than this means the server hangs.
STOP_TIMEOUT_SECONDS = 40.0


class AppServer(LiveServer):
    def __init__(self, database_url: str, log_path: Path, env: dict[str, str] | None = None) -> None:
        super().__init__(database_url, log_path, env)
        self.app: CollabApp | None = None
        self._server: _ThreadServer | None = None
        self._thread: threading.Thread | None = None
        self._news = threading.Event()  # the server listens, or its thread ended
        self._failure: BaseException | None = None
        self._log: contextlib.ExitStack | None = None

    def settings(self) -> Settings:
        """What `collab serve --port <port>` would read from its environment."""
        environ = {
            **os.environ,
            "COLLAB_DATABASE_URL": self.database_url,
            "COLLAB_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
            **self.extra_env,
        }
        return Settings.from_env(environ, port=self.port)

    async def start(self) -> None:
        await asyncio.to_thread(self.start_blocking)

    async def stop(self) -> None:
        """The graceful shutdown `collab serve` does on SIGTERM: rooms closed, every update stored."""
        await asyncio.to_thread(self.stop_blocking)

    @contextlib.contextmanager
    def serving(self) -> Iterator[AppServer]:
        """For a test or fixture without an event loop (schemathesis calls the API synchronously)."""
        self.start_blocking()
        try:
            yield self
        finally:
            self.stop_blocking()

    def start_blocking(self) -> None:
        if self._thread is not None:
            raise RuntimeError("already serving")
        settings = self.settings()
        self.app = create_app(settings)
        self.base_url, self._failure = "", None
        self._news.clear()

        def say(line: str) -> None:  # on the server's thread
            self.stdout_lines.append(line + "\n")
            if match := _LISTENING.search(line):
                self.base_url = match.group(1)
                self._news.set()

        server = self._server = _ThreadServer(
            uvicorn_config(self.app, settings, None), self.app, settings, say
        )

        def serve() -> None:
            try:
                server.run()
            except BaseException as exc:  # uvicorn raises SystemExit when the app cannot start
                self._failure = exc
            finally:
                self._news.set()

        self._log = contextlib.ExitStack()
        self._log.enter_context(server_log(self.log_path))
        self._log.enter_context(cheap_password_hashing())
        self._thread = threading.Thread(target=serve, name="collab-app-server", daemon=True)
        self._thread.start()
        self._news.wait(START_TIMEOUT_SECONDS)
        if not self.base_url:
            self.stop_blocking()
            raise RuntimeError(f"the app did not start:\n{self.log_tail()}") from self._failure
        self.port = int(self.base_url.rsplit(":", 1)[1])

    def stop_blocking(self) -> None:
        thread, server, log = self._thread, self._server, self._log
        if thread is None or server is None:
            return
        server.should_exit = True  # read by uvicorn's main loop every 0.1 s
        thread.join(STOP_TIMEOUT_SECONDS)
        self._thread = self._server = self._log = None
        if log is not None:
            log.close()
        if thread.is_alive():
            raise RuntimeError(f"the app did not stop within {STOP_TIMEOUT_SECONDS} s:\n{self.log_tail()}")
        if self._failure is not None and not isinstance(self._failure, SystemExit):
            raise RuntimeError("the app server failed") from self._failure


class _ThreadServer(CollabServer):
    def tune_collector(self) -> None:
        """The collector belongs to the whole test process: left as it is."""
