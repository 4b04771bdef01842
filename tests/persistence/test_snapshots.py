from datetime import UTC, datetime, timedelta

from persistence.database import Database
from persistence.snapshots import latest, load_state, write
from persistence.update_log import NewUpdate, append, read_after
from tests.persistence.conftest import MakeRecord


async def append_data(database: Database, record_id: str, *blobs: bytes) -> list[int]:
    async with database.session() as session, session.begin():
        updates = [NewUpdate(record_id, blob, user_id=None, session_id=None, origin="live") for blob in blobs]
        return await append(session, updates)


async def test_latest_is_none_without_snapshots(database: Database, make_record: MakeRecord) -> None:
    record_id = await make_record()
    async with database.session() as session:
        assert await latest(session, record_id) is None


async def test_write_then_latest(database: Database, make_record: MakeRecord) -> None:
    record_id = await make_record()
    before = datetime.now(UTC)
    async with database.session() as session, session.begin():
        snapshot_id = await write(
            session,
            record_id=record_id,
            upto_seq=7,
            state=b"S",
            state_vector=b"V",
            reason="quiet",
            created_by="u1",
        )
    async with database.session() as session:
        snapshot = await latest(session, record_id)
    assert snapshot is not None
    assert (snapshot.id, snapshot.record_id, snapshot.upto_seq) == (snapshot_id, record_id, 7)
    assert snapshot.state == b"S" and snapshot.state_vector == b"V"
    assert snapshot.reason == "quiet" and snapshot.created_by == "u1"
    assert snapshot.created_at.tzinfo is not None
    assert before - timedelta(seconds=5) <= snapshot.created_at <= datetime.now(UTC) + timedelta(seconds=5)


async def test_latest_prefers_the_highest_upto_seq_then_the_newest(
    database: Database, make_record: MakeRecord
) -> None:
    record_id, other = await make_record(), await make_record()
    async with database.session() as session, session.begin():
        await write(session, record_id=record_id, upto_seq=5, state=b"a", state_vector=b"", reason="n")
        await write(session, record_id=record_id, upto_seq=9, state=b"b", state_vector=b"", reason="n")
        newest = await write(
            session, record_id=record_id, upto_seq=9, state=b"c", state_vector=b"", reason="n"
        )
        await write(session, record_id=record_id, upto_seq=3, state=b"d", state_vector=b"", reason="n")
        await write(session, record_id=other, upto_seq=99, state=b"e", state_vector=b"", reason="n")
    async with database.session() as session:
        snapshot = await latest(session, record_id)
    assert snapshot is not None and (snapshot.id, snapshot.state) == (newest, b"c")


async def test_load_state_without_snapshot_is_the_whole_log(
    database: Database, make_record: MakeRecord
) -> None:
    record_id = await make_record()
    async with database.session() as session:
        assert await load_state(session, record_id) == ([], 0)
    seqs = await append_data(database, record_id, b"1", b"2", b"3")
    async with database.session() as session:
        assert await load_state(session, record_id) == ([b"1", b"2", b"3"], seqs[-1])


async def test_load_state_is_the_snapshot_then_only_later_rows(
    database: Database, make_record: MakeRecord
) -> None:
    record_id, other = await make_record(), await make_record()
    seqs = await append_data(database, record_id, b"1", b"2", b"3")
    async with database.session() as session, session.begin():
        await write(
            session, record_id=record_id, upto_seq=seqs[1], state=b"S12", state_vector=b"", reason="n"
        )
    later = await append_data(database, record_id, b"4")
    await append_data(database, other, b"elsewhere")

    async with database.session() as session:
        assert await load_state(session, record_id) == ([b"S12", b"3", b"4"], later[-1])


async def test_load_state_with_nothing_after_the_snapshot(
    database: Database, make_record: MakeRecord
) -> None:
    record_id = await make_record()
    seqs = await append_data(database, record_id, b"1", b"2")
    async with database.session() as session, session.begin():
        await write(session, record_id=record_id, upto_seq=seqs[-1], state=b"S", state_vector=b"", reason="n")
    async with database.session() as session:
        assert await load_state(session, record_id) == ([b"S"], seqs[-1])


async def test_writing_a_snapshot_keeps_the_log(database: Database, make_record: MakeRecord) -> None:
    record_id = await make_record()
    seqs = await append_data(database, record_id, b"1", b"2")
    async with database.session() as session, session.begin():
        await write(session, record_id=record_id, upto_seq=seqs[-1], state=b"S", state_vector=b"", reason="n")
    async with database.session() as session:
        assert await read_after(session, record_id, 0) == [(seqs[0], b"1"), (seqs[1], b"2")]
