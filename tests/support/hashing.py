"""Password hashing at the least cost argon2id allows, while an app serves in this process.

Production hashes with argon2-cffi's defaults (64 MiB, three passes: a quarter to half a second per hash or
check on this machine under load), and a test that starts a server, logs in and adds two users does five
of them. The tests of an app in this process check who may log in, not how long a guess takes, so while
one serves (tests/support/app_server.py, tests/web/conftest.py) the same algorithm runs with the least
work; a hash records its own parameters, and its check costs what its making cost.

Tests of a server process keep production's cost: the process does its own hashing, and the memory a
64 MiB hash leaves to the allocator is part of what tests/interop/test_fuzz_live.py measures.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from argon2 import PasswordHasher

from auth import passwords

CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)

_SWAP = threading.Lock()
_users = 0
_production = (passwords._hasher, passwords._DUMMY_HASH)


@contextlib.contextmanager
def cheap_password_hashing() -> Iterator[None]:
    """Cheap hashing from the first of the apps in this process to start until the last one stops."""
    global _users, _production
    with _SWAP:
        if _users == 0:
            _production = (passwords._hasher, passwords._DUMMY_HASH)
            passwords._hasher, passwords._DUMMY_HASH = CHEAP, CHEAP.hash("collab-dummy-password")
        _users += 1
    try:
        yield
    finally:
        with _SWAP:
            _users -= 1
            if _users == 0:
                passwords._hasher, passwords._DUMMY_HASH = _production
