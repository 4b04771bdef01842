"""The first start's admin password is shown only when the server made it up, never when it was chosen."""

from __future__ import annotations

from pathlib import Path

import pytest

from collab.settings import Settings
from persistence.database import Database
from server.bootstrap import prepare_database


@pytest.mark.parametrize("chosen", ["operator-chose-this-1", None], ids=["chosen", "generated"])
async def test_the_password_is_printed_only_when_generated(tmp_path: Path, chosen: str | None) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'collab.db'}"
    settings = Settings(database_url=url, bootstrap_admin_password=chosen)
    async with Database(settings.database_url) as database:
        first = await prepare_database(database, settings)
        assert first is not None and (first.tenant, first.email) == ("default", "admin@example.com")
        announced = "\n".join(first.announcement("http://127.0.0.1:8000"))
        if chosen:
            assert first.generated_password is None and chosen not in announced
            assert "COLLAB_BOOTSTRAP_ADMIN_PASSWORD" in announced
        else:
            assert first.generated_password and f"password {first.generated_password}" in announced
        assert await prepare_database(database, settings) is None  # only the first start announces
