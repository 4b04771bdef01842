"""The `collab` command: tenants, users, and refusing a database it does not understand."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sqlalchemy

from tests.support.live_server import ROOT


def collab(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", "--database-url", database_url, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_tenant_and_user_add(database_url: str) -> None:
    assert collab(database_url, "tenant", "add", "acme", "--name", "Acme Ltd").returncode == 0
    again = collab(database_url, "tenant", "add", "acme")
    assert again.returncode == 2 and "already exists" in again.stderr
    assert collab(database_url, "tenant", "add", "Not A Slug").returncode == 2
    added = collab(
        database_url, "user", "add", "--tenant", "acme", "--email", "a@acme.io", "--role", "editor"
    )
    assert added.returncode == 0 and "password" in added.stdout  # a generated one, shown once
    chosen = collab(
        database_url, "user", "add", "--tenant", "acme", "--email", "b@acme.io", "--role", "viewer",
        "--password", "long-enough-1",
    )  # fmt: skip
    assert chosen.returncode == 0 and "long-enough-1" not in chosen.stdout
    missing = collab(database_url, "user", "add", "--tenant", "nope", "--email", "c@x.io", "--role", "admin")
    assert missing.returncode == 2 and "no tenant" in missing.stderr
    short = collab(
        database_url,
        "user",
        "add",
        "--tenant",
        "acme",
        "--email",
        "d@acme.io",
        "--role",
        "admin",
        "--password",
        "x",
    )
    assert short.returncode == 2


def test_tenant_add_with_its_first_admin(database_url: str) -> None:
    added = collab(
        database_url, "tenant", "add", "beta", "--admin-email", "Boss@Beta.io", "--admin-name", "Bo"
    )
    assert added.returncode == 0, added.stderr
    assert "boss@beta.io" in added.stdout and "password" in added.stdout  # generated, shown once
    taken = collab(database_url, "tenant", "add", "gamma", "--admin-email", "not an email")
    assert taken.returncode == 2  # nothing is half made: the tenant is not added either
    assert collab(database_url, "tenant", "add", "gamma").returncode == 0


def test_a_newer_schema_is_refused_and_left_alone(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    assert collab(url, "tenant", "add", "acme").returncode == 0
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text("UPDATE alembic_version SET version_num = '9999_future'"))
    refused = collab(url, "tenant", "add", "other")
    assert refused.returncode == 2 and "9999_future" in refused.stderr
    with engine.connect() as connection:
        assert connection.execute(sqlalchemy.text("SELECT slug FROM tenants")).scalars().all() == ["acme"]
    engine.dispose()
