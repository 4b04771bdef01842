"""The pure parts of record ownership and the relay: the advisory-lock key, the relay header, and when
a cluster is on."""

from __future__ import annotations

from dataclasses import replace

import pytest

from auth.errors import Forbidden
from auth.principal import Principal, Role
from collab.cluster import relay_auth
from collab.settings import Settings
from persistence.nodes import lock_key

pytestmark = pytest.mark.unit

RECORD = "0123456789abcdef0123456789abcdef"
PRINCIPAL = Principal(
    user_id="u" * 32,
    tenant_id="t" * 32,
    tenant_slug="acme",
    email="ann@example.com",
    name="Ann",
    role=Role.EDITOR,
    session_id="s" * 32,
)
KEY = relay_auth.relay_key("the deployment's secret")
NOW = 1_800_000_000.0


def test_the_lock_key_is_a_stable_signed_64_bit_hash() -> None:
    # Every node, in every process and version, must compute the same key for a record: pinned.
    assert lock_key(RECORD) == lock_key(RECORD) == -3698954046548176045
    assert lock_key("0" * 32) == -8694087381961603919
    keys = {lock_key(f"{n:032x}") for n in range(10_000)}
    assert len(keys) == 10_000
    assert all(-(2**63) <= key < 2**63 for key in keys)
    assert min(keys) < 0 < max(keys)


def test_a_signed_header_gives_back_the_principal() -> None:
    header = relay_auth.sign(KEY, PRINCIPAL, RECORD, NOW)
    assert relay_auth.verify(KEY, header, RECORD, NOW + 29) == PRINCIPAL


@pytest.mark.parametrize(
    ("what", "header", "record", "now"),
    [
        ("another key", relay_auth.sign(relay_auth.relay_key("other"), PRINCIPAL, RECORD, NOW), RECORD, NOW),
        ("another record", relay_auth.sign(KEY, PRINCIPAL, RECORD, NOW), "f" * 32, NOW),
        ("too old", relay_auth.sign(KEY, PRINCIPAL, RECORD, NOW), RECORD, NOW + 31),
        ("from the future", relay_auth.sign(KEY, PRINCIPAL, RECORD, NOW + 31), RECORD, NOW),
        ("no signature", relay_auth.sign(KEY, PRINCIPAL, RECORD, NOW).split(".")[0], RECORD, NOW),
        ("garbage", "not.base64!", RECORD, NOW),
        ("empty", "", RECORD, NOW),
    ],
)
def test_anything_else_is_forbidden(what: str, header: str, record: str, now: float) -> None:
    with pytest.raises(Forbidden):
        relay_auth.verify(KEY, header, record, now)


def test_a_payload_changed_after_signing_is_forbidden() -> None:
    payload, signature = relay_auth.sign(KEY, PRINCIPAL, RECORD, NOW).split(".")
    admin = relay_auth.sign(KEY, replace(PRINCIPAL, role=Role.ADMIN), RECORD, NOW)
    with pytest.raises(Forbidden):
        relay_auth.verify(KEY, f"{admin.split('.')[0]}.{signature}", RECORD, NOW)
    assert relay_auth.verify(KEY, f"{payload}.{signature}", RECORD, NOW) == PRINCIPAL


@pytest.mark.parametrize(
    ("url", "redis_url", "cluster", "on"),
    [
        ("postgresql://db/collab", "redis://r:6379/0", False, True),
        ("postgresql+asyncpg://db/collab", None, True, True),
        ("postgresql://db/collab", None, False, False),  # one PostgreSQL node: no locks, as before
        ("sqlite+aiosqlite:///data/collab.db", "redis://r:6379/0", True, False),  # SQLite: one node only
    ],
)
def test_when_a_cluster_is_on(url: str, redis_url: str | None, cluster: bool, on: bool) -> None:
    settings = Settings(database_url=url, redis_url=redis_url, cluster=cluster)
    assert settings.cluster_on is on


def test_a_cluster_without_a_secret_key_does_not_start() -> None:
    from server.app import create_app  # the composition root, imported only here

    with pytest.raises(ValueError, match="COLLAB_SECRET_KEY"):
        create_app(Settings(database_url="postgresql://db/collab", cluster=True))
    create_app(Settings(database_url="postgresql://db/collab"))  # one node needs none
