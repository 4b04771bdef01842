"""Password hashing with argon2id (argon2-cffi's defaults follow RFC 9106's recommendation).

A hash or a check costs 60 to 130 ms of CPU on purpose; done on the event loop it stalled every room and feed
stream of the server for that long per login (seen in bench.feed). It runs in worker threads instead (the
C library releases the GIL), at most `_CONCURRENT_HASHES` at once, so a burst of logins queues rather than
taking every core from the live connections.
"""

import asyncio
import weakref

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

# Verifying against this when the user does not exist keeps a failed login's timing the same either way.
_DUMMY_HASH = _hasher.hash("collab-dummy-password")

MIN_PASSWORD_LENGTH = 8
_CONCURRENT_HASHES = 2
# A semaphore belongs to one event loop (tests run several, one after another).
_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _hash_slots() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    slots = _slots.get(loop)
    if slots is None:
        slots = _slots[loop] = asyncio.Semaphore(_CONCURRENT_HASHES)
    return slots


async def hash_password(password: str) -> str:
    async with _hash_slots():
        return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    async with _hash_slots():
        return await asyncio.to_thread(_verify, password_hash, password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
