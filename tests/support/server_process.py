"""A real `collab serve` process for tests: started on port 0, killed or stopped on purpose.

Only for tests that need the process itself: SIGKILL (nothing flushed, like a power cut), SIGTERM (the
graceful exit), a restart on the same port, or the process's own figures (memory, file descriptors,
limits). Everything else runs the app in this process (tests/support/app_server.py), which starts in a
fraction of the time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from tests.support.live_server import ADMIN_PASSWORD, ROOT, LiveServer, running

_LISTENING = re.compile(r"collab: listening on (http://[\d.]+:\d+)")
START_TIMEOUT_SECONDS = 30.0


class ServerProcess(LiveServer):
    def __init__(self, database_url: str, log_path: Path, env: dict[str, str] | None = None) -> None:
        super().__init__(database_url, log_path, env)
        self.process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        env = {
            **os.environ,
            "COLLAB_DATABASE_URL": self.database_url,
            "COLLAB_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        log = self.log_path.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "server", "serve", "--port", str(self.port),
            cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=log,
        )  # fmt: skip
        log.close()
        found: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read_stdout(found))
        try:
            self.base_url = await asyncio.wait_for(found, START_TIMEOUT_SECONDS)
            self.port = int(self.base_url.rsplit(":", 1)[1])
        except (TimeoutError, EOFError) as exc:
            await self.kill()
            raise RuntimeError(f"collab serve did not start:\n{self.log_tail()}") from exc

    async def _read_stdout(self, found: asyncio.Future[str]) -> None:
        assert self.process is not None and self.process.stdout is not None
        while line := (await self.process.stdout.readline()).decode():
            self.stdout_lines.append(line)
            match = _LISTENING.search(line)
            if match and not found.done():
                found.set_result(match.group(1))
        if not found.done():
            found.set_exception(EOFError("collab serve exited"))

    async def _wait(self) -> int:
        assert self.process is not None
        code = await self.process.wait()
        if self._reader is not None:
            await self._reader
        return code

    async def stop(self) -> None:
        await self.kill()

    async def kill(self) -> None:
        """SIGKILL: nothing is flushed, like a power cut of the process."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
        if self.process is not None:
            await self._wait()

    async def terminate(self, within: float = 30.0) -> int:
        """SIGTERM, and wait for the graceful exit."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self._wait(), within)

    async def restart(self) -> None:
        await self.kill()
        await self.start()


@contextlib.asynccontextmanager
async def running_server(
    database_url: str, log_path: Path, env: dict[str, str] | None = None
) -> AsyncIterator[ServerProcess]:
    async with running(ServerProcess(database_url, log_path, env)) as server:
        yield server
