"""Row-level security on PostgreSQL (migration 0010, persistence/tenant_scope.py): a query that forgets its
tenant filter sees, and may write, only the current tenant's rows; the application's role cannot switch the
wall off; an unset scope sees nothing. SQLite has no row-level security: these tests are PostgreSQL's."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.exc import DBAPIError

from persistence.database import Database
from persistence.models import (
    AuditEntry,
    Base,
    ChangeRow,
    ClientIdRow,
    Collection,
    EventRow,
    LoginSession,
    Record,
    RecordValue,
    SnapshotRow,
    Tenant,
    UniqueValue,
    UpdateRow,
    User,
    new_id,
)
from persistence.tenant_scope import APP_ROLE, apply, current, system_scope, system_work, tenant_scope

# Every table but Alembic's holds tenant data (the test below fails when a new one has no policy).
WALLED = (
    "tenants",
    "users",
    "sessions",
    "collections",
    "records",
    "record_values",
    "record_counts",
    "value_counts",
    "audit_log",
    "events",
    "updates",
    "snapshots",
    "changes",
    "client_ids",
    "unique_values",
)
# The deployment's own bookkeeping (migration 0016): which node listens where and owns which record's
# room. No tenant data: no wall, and the test below fails if a new table joins them unlisted.
UNWALLED = ("nodes", "record_owners")


class _Recorder:
    """Stands in for the connection `apply` is handed by the engine's `begin` event."""

    def __init__(self) -> None:
        self.sql: list[str] = []

    def exec_driver_sql(self, sql: str, parameters: tuple[str, ...] = ()) -> None:
        for number, value in enumerate(parameters, 1):
            sql = sql.replace(f"${number}", f"'{value}'")
        self.sql.append(sql)


def _applied() -> list[str]:
    recorder = _Recorder()
    apply(recorder)
    return recorder.sql


@pytest.mark.unit
def test_a_transaction_gets_the_scope_of_its_task_and_nothing_when_unset() -> None:
    tenant = new_id()
    assert current() is None and _applied() == []
    with tenant_scope(tenant):
        assert _applied() == [f"SELECT set_config('app.tenant_id', '{tenant}', true)"]
        with system_scope():
            assert _applied() == ["SELECT set_config('app.system', 'on', true)"]
        assert _applied() == [f"SELECT set_config('app.tenant_id', '{tenant}', true)"]
    assert current() is None and _applied() == []


@pytest.mark.unit
@pytest.mark.parametrize("tenant_id", ["", "default", "A" * 32, "x' OR true --" + "0" * 18])
def test_a_tenant_scope_takes_only_a_tenant_id(tenant_id: str) -> None:
    with pytest.raises(ValueError), tenant_scope(tenant_id):
        pass


@pytest.mark.unit
async def test_system_work_is_scoped_for_its_call_only() -> None:
    @system_work
    async def work() -> bool:
        scope = current()
        return scope is not None and scope.system

    assert await work() is True
    assert current() is None


@dataclass(frozen=True)
class Tenants:
    url: str
    a: str
    b: str
    record_a: str
    record_b: str
    collection_b: str


async def _seed(database: Database, tenant_id: str) -> tuple[str, str]:
    """One row of `tenant_id` in every walled table; returns its record's and collection's ids."""
    user_id, collection_id, record_id = new_id(), new_id(), new_id()
    async with database.session() as session, session.begin():
        session.add(Tenant(id=tenant_id, slug=tenant_id, name="Tenant"))
        await session.flush()
        session.add(
            User(
                id=user_id,
                tenant_id=tenant_id,
                email="a@b.example",
                name="A",
                role="admin",
                password_hash="x",
            )
        )
        session.add(Collection(id=collection_id, tenant_id=tenant_id, name="c", label="C", fields=[]))
        await session.flush()
        session.add(LoginSession(tenant_id=tenant_id, user_id=user_id, token_hash=new_id() + new_id()))
        session.add(Record(id=record_id, tenant_id=tenant_id, collection_id=collection_id))
        await session.flush()
        session.add_all(
            [
                RecordValue(
                    record_id=record_id, field="name", tenant_id=tenant_id, collection_id=collection_id
                ),
                AuditEntry(tenant_id=tenant_id, action="login"),
                EventRow(tenant_id=tenant_id, collection_id=collection_id, record_id=record_id, type="x"),
                UpdateRow(record_id=record_id, origin="live", data=b"\x00\x00"),
                SnapshotRow(record_id=record_id, upto_seq=0, state=b"", state_vector=b"", reason="auto"),
                ChangeRow(record_id=record_id, field="name", origin="live"),
                ClientIdRow(record_id=record_id, client_id=1),
                UniqueValue(
                    collection_id=collection_id,
                    field="name",
                    value_key="x",
                    tenant_id=tenant_id,
                    record_id=record_id,
                ),
            ]
        )
    return record_id, collection_id


@pytest.fixture
async def tenants(database: Database) -> Tenants:
    if database.dialect != "postgresql":
        pytest.skip("SQLite has no row-level security: the tenant wall is PostgreSQL's")
    a, b = new_id(), new_id()
    record_a, _ = await _seed(database, a)  # as the owner (the tests' superuser), who bypasses the wall
    record_b, collection_b = await _seed(database, b)
    url = database.url.render_as_string(hide_password=False)
    return Tenants(url, a, b, record_a, record_b, collection_b)


@pytest.fixture
async def app_database(tenants: Tenants) -> AsyncIterator[Database]:
    """The database as a serving collab opens it: its queries run as the application's role."""
    async with Database(tenants.url, role=APP_ROLE) as db:
        yield db


async def _count(db: Database, table: str) -> int:
    async with db.session() as session:
        return int(await session.scalar(text(f"SELECT count(*) FROM {table}")) or 0)


async def _tenants_of(db: Database, table: str) -> set[str]:
    """Which tenants the rows of `table` that a query without any filter sees belong to."""
    if table == "tenants":
        sql = "SELECT id FROM tenants"
    elif table in ("updates", "snapshots", "changes", "client_ids"):
        sql = f"SELECT r.tenant_id FROM {table} t JOIN records r ON r.id = t.record_id"
    else:
        sql = f"SELECT tenant_id FROM {table}"
    async with db.session() as session:
        return set(await session.scalars(text(sql)))


async def test_every_table_of_tenant_data_has_the_wall(tenants: Tenants, database: Database) -> None:
    async with database.session() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT c.relname, c.relrowsecurity,"
                    " array(SELECT polname FROM pg_policy p WHERE p.polrelid = c.oid ORDER BY polname)"
                    " FROM pg_class c WHERE c.relkind = 'r' AND c.relname <> 'alembic_version'"
                    " AND c.relnamespace = current_schema()::regnamespace"
                )
            )
        ).all()
    assert {name: (enabled, list(policies)) for name, enabled, policies in rows} == {
        **{table: (True, ["system_work", "tenant_rows"]) for table in WALLED},
        **{table: (False, []) for table in UNWALLED},
    }


@pytest.mark.parametrize("table", WALLED)
async def test_a_query_without_a_tenant_filter_sees_only_its_tenant(
    tenants: Tenants, app_database: Database, table: str
) -> None:
    with tenant_scope(tenants.a):
        assert await _tenants_of(app_database, table) == {tenants.a}
    with tenant_scope(tenants.b):
        assert await _tenants_of(app_database, table) == {tenants.b}
    with system_scope():
        assert await _tenants_of(app_database, table) == {tenants.a, tenants.b}


@pytest.mark.parametrize("table", WALLED)
async def test_an_unset_scope_sees_nothing(tenants: Tenants, app_database: Database, table: str) -> None:
    assert await _count(app_database, table) == 0
    with tenant_scope(tenants.a):  # a scope ends with its block: the next transaction has none again
        assert await _count(app_database, table) == 1
    assert await _count(app_database, table) == 0


def _row_of_b(table: str, tenants: Tenants) -> Base:
    """A new row of tenant B (the ORM fills every column's default)."""
    record, collection = tenants.record_b, tenants.collection_b
    return {
        "records": lambda: Record(tenant_id=tenants.b, collection_id=collection),
        "events": lambda: EventRow(tenant_id=tenants.b, collection_id=collection, record_id=record, type="x"),
        "updates": lambda: UpdateRow(record_id=record, origin="live", data=b"\x00"),
        "changes": lambda: ChangeRow(record_id=record, field="f", origin="live"),
    }[table]()


@pytest.mark.parametrize("table", ["records", "events", "updates", "changes"])
async def test_writing_another_tenants_row_is_refused(
    tenants: Tenants, app_database: Database, table: str
) -> None:
    with tenant_scope(tenants.a):
        async with app_database.session() as session:
            session.add(_row_of_b(table, tenants))
            with pytest.raises(DBAPIError, match="row-level security"):
                await session.flush()
    with tenant_scope(tenants.b):  # the same row in its own tenant is fine
        async with app_database.session() as session, session.begin():
            session.add(_row_of_b(table, tenants))


async def test_updating_or_deleting_another_tenants_rows_touches_none(
    tenants: Tenants, app_database: Database
) -> None:
    with tenant_scope(tenants.a):
        async with app_database.session() as session, session.begin():
            updated = await session.execute(text("UPDATE records SET search_text = 'taken'"))
            deleted = await session.execute(text("DELETE FROM client_ids"))
    assert (updated.rowcount, deleted.rowcount) == (1, 1)  # type: ignore[attr-defined]
    with tenant_scope(tenants.b):
        async with app_database.session() as session:
            assert await session.scalar(text("SELECT search_text FROM records")) == ""
            assert await session.scalar(text("SELECT count(*) FROM client_ids")) == 1


async def test_the_application_role_owns_nothing_and_cannot_switch_the_wall_off(
    tenants: Tenants, app_database: Database
) -> None:
    async with app_database.session() as session:
        assert await session.scalar(text("SELECT current_user")) == APP_ROLE
        # The role is a startup parameter: RESET ROLE comes back to it, not to the login user.
        await session.execute(text("RESET ROLE"))
        assert await session.scalar(text("SELECT current_user")) == APP_ROLE
        assert await session.scalar(text("SELECT count(*) FROM records")) == 0
        owners = await session.scalar(
            text("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tableowner = :role"),
            {"role": APP_ROLE},
        )
        assert owners == 0
    async with app_database.session() as session:
        with pytest.raises(DBAPIError, match="must be owner"):
            await session.execute(text("ALTER TABLE records DISABLE ROW LEVEL SECURITY"))


@pytest.fixture
async def member_login(tenants: Tenants) -> AsyncIterator[str]:
    """The documented deployment: a login user that is a member of the application's role, not the owner.
    Roles are cluster-wide, so each test makes its own and drops it."""
    name = f"collab_login_{secrets.token_hex(4)}"
    async with Database(tenants.url) as owner, owner.engine.connect() as connection:
        await connection.execute(text(f"CREATE ROLE {name} LOGIN IN ROLE {APP_ROLE}"))
        await connection.commit()
        try:
            yield make_url(tenants.url).set(username=name).render_as_string(hide_password=False)
        finally:
            await connection.execute(text(f"DROP ROLE {name}"))
            await connection.commit()


async def test_a_member_login_cannot_become_the_owner_or_bypass(tenants: Tenants, member_login: str) -> None:
    async with Database(member_login, role=APP_ROLE) as db:
        await db.migrate()  # `collab serve` migrates first: at the head that needs no owner
        for escape in (
            "SET ROLE postgres",
            "SET ROLE NONE",
            "ALTER TABLE records DISABLE ROW LEVEL SECURITY",
        ):
            async with db.session() as session:
                try:
                    await session.execute(text(escape))
                except DBAPIError:
                    continue
                # SET ROLE NONE is allowed (back to the login user), but that user is no owner either.
                assert await session.scalar(text("SELECT current_user")) != "postgres", escape
                assert await session.scalar(text("SELECT count(*) FROM records")) == 0, escape
        with tenant_scope(tenants.a):
            assert await _tenants_of(db, "records") == {tenants.a}
