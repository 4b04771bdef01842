"""Scheduled backups: every `backup_every_hours`, `collab-YYYYmmddTHHMMSS.backup` in `backup_dir`, keeping
the newest `backup_keep`. Off while `backup_dir` is unset.

A server module because it joins the vocabulary's `Periodic` to persistence's backup (persistence sits
below collab and may not import it). The copy itself runs in a thread: the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from collab.periodic import Periodic
from collab.settings import Settings
from persistence import backup

log = logging.getLogger(__name__)

PREFIX = "collab-"
SUFFIX = ".backup"


class ScheduledBackups:
    """Entered in the lifespan; does nothing without `backup_dir` or with `backup_every_hours` <= 0."""

    def __init__(self, settings: Settings, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._url = settings.database_url
        self._folder = Path(settings.backup_dir) if settings.backup_dir else None
        self._keep = max(1, settings.backup_keep)
        self._now = now
        self._on = self._folder is not None and settings.backup_every_hours > 0
        self._loop = Periodic(
            "collab-backups",
            settings.backup_every_hours * 3600,
            self.back_up_once,
            "scheduled backup failed; the next one is tried on schedule",
        )

    async def __aenter__(self) -> ScheduledBackups:
        if self._on:
            self._loop.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._loop.stop()

    async def back_up_once(self) -> Path:
        """Write one backup now, then delete the oldest beyond `backup_keep`; returns the new file."""
        if self._folder is None:
            raise RuntimeError("no backup_dir set")
        dest = self._folder / f"{PREFIX}{self._now():%Y%m%dT%H%M%S}{SUFFIX}"
        log.info("backup: writing %s", dest)
        revision = await asyncio.to_thread(backup.backup, self._url, dest)
        log.info("backup: %s written (schema revision %s)", dest, revision)
        # The timestamp in the name sorts as the time does.
        for old in sorted(self._folder.glob(f"{PREFIX}*{SUFFIX}"))[: -self._keep]:
            old.unlink(missing_ok=True)
            log.info("backup: removed %s (backup_keep=%d)", old, self._keep)
        return dest
