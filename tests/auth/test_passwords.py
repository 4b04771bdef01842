"""Password hashing: correct answers, and the event loop keeps running while argon2 works."""

import asyncio

import pytest

from auth.passwords import hash_password, verify_password

pytestmark = pytest.mark.unit


async def test_a_hash_verifies_its_password_only() -> None:
    hashed = await hash_password("correct horse battery")
    assert await verify_password(hashed, "correct horse battery")
    assert not await verify_password(hashed, "wrong horse battery")
    assert not await verify_password(None, "correct horse battery")  # no such user
    assert not await verify_password("not-a-hash", "correct horse battery")


async def test_other_coroutines_run_while_a_password_is_checked() -> None:
    hashed = await hash_password("correct horse battery")
    turns = 0
    checking = True

    async def other_connection() -> None:
        nonlocal turns
        while checking:
            turns += 1
            await asyncio.sleep(0)

    other = asyncio.create_task(other_connection())
    await asyncio.sleep(0)
    before = turns
    # Several checks (each tens of milliseconds of CPU): on the loop, `other` would not get one turn.
    results = await asyncio.gather(*(verify_password(hashed, "correct horse battery") for _ in range(4)))
    during = turns - before
    checking = False
    await other
    assert all(results)
    assert during > 10
