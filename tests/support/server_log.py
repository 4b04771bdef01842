"""The log of an app served in this process, as a server process's stderr would hold it.

Records go through the production redaction (server/logs.py) into a file that the end-of-run scan for
secrets reads (tests/conftest.py). The handler sits on this process's root logger, so the test's own HTTP
and WebSocket clients, which log here too, are left out.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

from server.logs import RedactSecrets
from tests.support.live_server import LOG_FILES

# Loggers of the test's clients: their lines are not the server's.
_CLIENT_LOGGERS = ("httpx", "httpcore", "websockets.client", "hpack")
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"  # as server/logs.py


class _ServerLines(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith(_CLIENT_LOGGERS)


# The root logger is the process's: its level is raised to INFO (what a served app logs) while any app in
# this process serves, and put back after the last one.
_LOGGING = threading.Lock()
_capturing: list[logging.Handler] = []
_root_level = logging.WARNING


@contextlib.contextmanager
def server_log(path: Path) -> Iterator[None]:
    """What apps in this process log goes, through the production redaction, to `path`, which the end-of-run
    scan for secrets reads (tests/conftest.py), as a server process's stderr does."""
    global _root_level
    handler = logging.FileHandler(path)
    handler.addFilter(_ServerLines())
    handler.addFilter(RedactSecrets())
    handler.setFormatter(logging.Formatter(_FORMAT))
    if path not in LOG_FILES:
        LOG_FILES.append(path)
    root = logging.getLogger()
    with _LOGGING:
        if not _capturing:
            _root_level = root.level
            root.setLevel(logging.INFO)
        _capturing.append(handler)
        root.addHandler(handler)
    try:
        yield
    finally:
        with _LOGGING:
            root.removeHandler(handler)
            _capturing.remove(handler)
            if not _capturing:
                root.setLevel(_root_level)
        handler.close()
