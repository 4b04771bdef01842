"""The trash's retention setting: default, environment, `collab serve` flag; 0 never purges."""

from __future__ import annotations

from typing import Any, cast

import pytest

from collab.services.trash import TrashPurge
from collab.settings import Settings

pytestmark = pytest.mark.unit


def test_the_retention_comes_from_the_environment_or_the_flag() -> None:
    from server.cli import _parser  # the composition root: imported when needed

    assert Settings.from_env({}).trash_retention_days == 30
    assert Settings.from_env({"COLLAB_TRASH_RETENTION_DAYS": "7"}).trash_retention_days == 7
    args = _parser().parse_args(["serve", "--trash-retention-days", "2.5"])
    assert Settings.from_env({}, trash_retention_days=args.trash_retention_days).trash_retention_days == 2.5


async def test_a_retention_of_zero_never_purges() -> None:
    never = TrashPurge(cast(Any, None), lambda _: False, 0, 3600)  # it must not even touch the database
    async with never:
        assert await never.purge_once() == 0
