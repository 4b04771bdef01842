"""The log appender (persistence/log_appender.py) on SQLite and PostgreSQL: typing into a long field extends
one history entry across commits, and an append the database refuses leaves nothing behind, not even an
open entry for the next append to extend (on SQLite the whole append runs in one call on the driver's
thread, so a half-done one must still be dropped whole)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from persistence.changes import NewChange
from persistence.database import Database
from persistence.errors import WriteRefused
from persistence.log_appender import LogAppender
from persistence.models import ChangeRow
from persistence.update_log import NewUpdate
from tests.persistence.conftest import MakeRecord

# Not all ASCII, so the lone-surrogate check takes its slow path; near the 100,000-character cap.
LONG_TEXT = "é🐼" * 49_000


def typed(record_id: str, before: str, after: str) -> NewChange:
    return NewChange(record_id, "notes", before, after, None, None, "live")


def update(record_id: str) -> NewUpdate:
    return NewUpdate(record_id=record_id, data=b"\x00\x00", user_id=None, session_id=None, origin="live")


async def history(database: Database, record_id: str) -> list[object]:
    async with database.session() as session:
        query = select(ChangeRow.after).where(ChangeRow.record_id == record_id).order_by(ChangeRow.id)
        return list(await session.scalars(query))


async def test_typing_extends_one_entry_and_a_refused_append_leaves_no_entry_open(
    database: Database, make_record: MakeRecord
) -> None:
    record = await make_record()
    at = datetime.now(UTC)
    async with LogAppender(database, burst_seconds=60) as appender:
        # The first change opens an entry, the second refers to no record: nothing of it may stay.
        with pytest.raises(WriteRefused):
            await appender.append(
                [update(record)],
                {},
                at,
                [typed(record, "", LONG_TEXT), typed("no-such-record", "", "x")],
            )
        await appender.append([update(record)], {}, at, [typed(record, "", LONG_TEXT + "a")])
        # Two keystrokes in one append and one in the next: all extend that entry.
        second = at + timedelta(seconds=1)
        keys = [
            typed(record, LONG_TEXT + "a", LONG_TEXT + "ab"),
            typed(record, LONG_TEXT + "ab", LONG_TEXT + "abc"),
        ]
        await appender.append([update(record), update(record)], {}, second, keys)
        appended = await appender.append(
            [update(record)], {}, second, [typed(record, LONG_TEXT + "abc", LONG_TEXT + "abcd")]
        )

    assert await history(database, record) == [LONG_TEXT + "abcd"]
    assert list(appended.newest_changes) == [record]
