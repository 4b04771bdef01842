import pytest
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError

from persistence.database import Database
from persistence.update_log import NewUpdate, append, last_seq, read_after
from tests.persistence.conftest import MakeRecord


def update(record_id: str, data: bytes, origin: str = "live") -> NewUpdate:
    return NewUpdate(record_id=record_id, data=data, user_id="u1", session_id="s1", origin=origin)


async def test_append_returns_seqs_in_the_order_given(database: Database, make_record: MakeRecord) -> None:
    first, second = await make_record(), await make_record()
    # Interleaved records and unordered payloads: the seqs must follow the input, not sort by content.
    batch = [update(first if i % 3 else second, f"{(7 * i) % 300:04d}".encode()) for i in range(300)]
    async with database.session() as session, session.begin():
        one = await append(session, [update(first, b"single")])
        many = await append(session, batch)
        empty = await append(session, [])

    assert len(one) == 1 and len(many) == 300 and empty == []
    assert many == sorted(many) and len(set(many)) == 300 and many[0] > one[0]
    async with database.session() as session:
        stored = dict(await read_after(session, first, 0)) | dict(await read_after(session, second, 0))
    assert stored[one[0]] == b"single"
    assert [stored[seq] for seq in many] == [u.data for u in batch]


async def test_append_is_one_statement_per_batch(database: Database, make_record: MakeRecord) -> None:
    record_id = await make_record()
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with database.session() as session, session.begin():
            await append(session, [update(record_id, bytes([i % 256])) for i in range(300)])
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", count)
    assert [s for s in statements if s.lstrip().upper().startswith("INSERT")] == statements[-1:]


async def test_append_leaves_committing_to_the_caller(database: Database, make_record: MakeRecord) -> None:
    record_id = await make_record()
    async with database.session() as session:
        await append(session, [update(record_id, b"a")])
        await session.rollback()
    async with database.session() as session:
        assert await read_after(session, record_id, 0) == []


async def test_append_needs_an_existing_record(database: Database) -> None:
    async with database.session() as session:
        with pytest.raises(IntegrityError):
            await append(session, [update("no-such-record", b"a")])


async def test_read_after_and_last_seq(database: Database, make_record: MakeRecord) -> None:
    record_id, other = await make_record(), await make_record()
    async with database.session() as session:
        assert await last_seq(session, record_id) == 0
        assert await read_after(session, record_id, 0) == []
        seqs = await append(session, [update(record_id, b"a"), update(other, b"x"), update(record_id, b"b")])
        seqs += await append(session, [update(record_id, b"c")])
        await session.commit()

    async with database.session() as session:
        assert await read_after(session, record_id, 0) == [(seqs[0], b"a"), (seqs[2], b"b"), (seqs[3], b"c")]
        assert await read_after(session, record_id, seqs[0]) == [(seqs[2], b"b"), (seqs[3], b"c")]
        assert await read_after(session, record_id, seqs[3]) == []
        assert await read_after(session, other, 0) == [(seqs[1], b"x")]
        assert await last_seq(session, record_id) == seqs[3]
        assert await last_seq(session, other) == seqs[1]
