"""The log appender (persistence/log_appender.py) on SQLite and PostgreSQL: typing into a long field extends
one history entry across commits, and an append the database refuses leaves nothing behind, not even an
open entry for the next append to extend (on SQLite the whole append runs in one call on the driver's
thread, so a half-done one must still be dropped whole)."""

from __future__ import annotations

from dataclasses import replace
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


async def test_a_long_texts_entry_is_written_once_a_second_when_it_closes_and_on_exit(
    database: Database, make_record: MakeRecord
) -> None:
    record = await make_record()
    at = datetime.now(UTC)
    text = "x" * 10_000
    async with LogAppender(database, burst_seconds=3, deferred_seconds=1) as appender:
        await appender.append([update(record)], {}, at, [typed(record, "", text)])
        for tenth in range(1, 5):  # typing: the entry keeps its value for up to a second
            key = at + timedelta(seconds=tenth / 10)
            await appender.append([update(record)], {}, key, [typed(record, text, text + "a" * tenth)])
        assert await history(database, record) == [text]
        assert appender.history_due_in(at + timedelta(seconds=0.5)) == pytest.approx(0.6)
        late = at + timedelta(seconds=1.1)  # a second after the first unwritten key: due with this append
        await appender.append([update(record)], {}, late, [typed(record, text, text + "b")])
        assert await history(database, record) == [text + "b"]

        # A new entry of the same person and field (a comment stands alone) writes the open one first.
        again = late + timedelta(seconds=0.1)
        await appender.append([update(record)], {}, again, [typed(record, text, text + "c")])
        commented = NewChange(record, "notes", text + "c", text + "d", None, None, "live", comment="why")
        await appender.append([update(record)], {}, late + timedelta(seconds=0.2), [commented])
        assert await history(database, record) == [text + "c", text + "d"]

        # What waits is written on exit (the writer flushes it before: collab/store/writer.py).
        more = NewChange(record, "notes", text, text + "e", "someone", None, "live")
        await appender.append([update(record)], {}, late + timedelta(seconds=0.3), [more])
        await appender.append(
            [update(record)], {}, late + timedelta(seconds=0.4), [replace(more, after=text + "ef")]
        )
        assert (await history(database, record))[-1] == text + "e"
    assert (await history(database, record))[-1] == text + "ef"
