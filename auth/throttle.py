"""Throttling of failed logins, counted before the password is checked.

A login first takes a slot (`LoginThrottle.reserve`) in one atomic step of the counter, then the password
is checked; a right password gives the slot back, a wrong one keeps it. So however many guesses arrive at
once, no more are checked than the limits allow (checking first and counting after the slow hash let 60 of
60 concurrent guesses through).

Three keys, all in one sliding window:
- an account from one address: the lock a guesser hits, which leaves the owner elsewhere untouched;
- an address over all accounts: one address spraying many accounts;
- an account over all addresses: a budget that only slows guessing from many addresses. Once spent, every
  further address gets a single try per window; it never refuses an address that has not failed, so a
  stranger cannot lock the owner out.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from auth.attempts import AttemptCounter, MemoryAttempts
from auth.errors import AuthError

# Tries per address once an account's budget is spent.
TRIES_WHEN_ACCOUNT_BUSY = 1
# Longer than any valid email or tenant slug; keeps hostile strings from growing the counters' keys.
_MAX_EMAIL = 320
_MAX_TENANT = 64


class TooManyAttempts(AuthError):
    """Too many attempts (failed logins, or requests over a budget); `retry_after_seconds` says when the
    next one may go through. Answered 429 with Retry-After; a socket is closed with 4429 (collab's
    `close_codes.RATE_LIMITED`, spelled out: auth may not import collab)."""

    status = 429
    error_code = "too_many_attempts"
    close_code = 4429
    close_reason: ClassVar[str | None] = "too many requests"

    def __init__(self, retry_after_seconds: int, message: str | None = None) -> None:
        super().__init__(message or f"too many failed logins; retry in {retry_after_seconds} s")
        self.retry_after_seconds = retry_after_seconds


class LockKind(StrEnum):
    ACCOUNT_ADDRESS = "account_address"
    ADDRESS = "address"
    ACCOUNT = "account"


@dataclass(frozen=True)
class LockKey:
    """What failures are counted under. `public` names it within a tenant (the admin API's key)."""

    kind: LockKind
    tenant: str = ""
    email: str = ""
    address: str = ""

    @property
    def stored(self) -> str:
        # Unambiguous whatever the strings hold (a tenant or email from a login body may hold anything).
        return json.dumps([self.kind.value, self.tenant, self.email, self.address])

    @classmethod
    def from_stored(cls, stored: str) -> LockKey:
        kind, tenant, email, address = json.loads(stored)
        return cls(LockKind(kind), tenant, email, address)

    @property
    def public(self) -> str:
        if self.kind is LockKind.ACCOUNT_ADDRESS:
            return f"{self.kind}:{self.email}|{self.address}"
        return f"{self.kind}:{self.address if self.kind is LockKind.ADDRESS else self.email}"

    @classmethod
    def from_public(cls, tenant: str, public: str) -> LockKey | None:
        kind, _, rest = public.partition(":")
        if kind == LockKind.ACCOUNT_ADDRESS:
            email, separator, address = rest.rpartition("|")  # an address never holds "|"
            return cls(LockKind.ACCOUNT_ADDRESS, tenant, email, address) if separator else None
        if kind == LockKind.ACCOUNT:
            return cls(LockKind.ACCOUNT, tenant, rest)
        if kind == LockKind.ADDRESS:
            return cls(LockKind.ADDRESS, address=rest)
        return None


@dataclass(frozen=True)
class Lockout:
    key: LockKey
    failures: int
    limit: int
    locked: bool
    retry_after_seconds: int


class LoginAttempt:
    """The slot one login took. A wrong password leaves it counted; settle the other outcomes."""

    def __init__(self, counter: AttemptCounter, keys: dict[LockKind, LockKey], stamp: float) -> None:
        self._counter = counter
        self._keys = keys
        self._stamp = stamp

    async def succeeded(self) -> None:
        """The right password: the slot is given back, and this address's failures on the account end."""
        await self._counter.clear(self._keys[LockKind.ACCOUNT_ADDRESS].stored)
        others = (self._keys[LockKind.ADDRESS], self._keys[LockKind.ACCOUNT])
        await self._counter.take_back([key.stored for key in others], self._stamp)

    async def abandoned(self) -> None:
        """No answer was given (an error, a cancelled request): the attempt does not count."""
        await self._counter.take_back([key.stored for key in self._keys.values()], self._stamp)


class LoginThrottle:
    def __init__(
        self,
        per_account: int,
        per_address: int,
        window_seconds: float,
        per_account_address: int = 5,
        *,
        counter: AttemptCounter | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_account = per_account
        self.per_address = per_address
        self.per_account_address = per_account_address
        self.window_seconds = window_seconds
        self._counter = counter if counter is not None else MemoryAttempts(window_seconds)
        self._clock = clock

    def _keys(self, tenant: str, email: str, address: str) -> dict[LockKind, LockKey]:
        tenant, email = tenant[:_MAX_TENANT], email[:_MAX_EMAIL]
        return {
            LockKind.ACCOUNT_ADDRESS: LockKey(LockKind.ACCOUNT_ADDRESS, tenant, email, address),
            LockKind.ADDRESS: LockKey(LockKind.ADDRESS, address=address),
            LockKind.ACCOUNT: LockKey(LockKind.ACCOUNT, tenant, email),
        }

    async def reserve(self, tenant: str, email: str, address: str) -> LoginAttempt:
        """Take a slot for one login of `email` (normalised) from `address`, or raise `TooManyAttempts`.
        Call it before the password is checked, and settle the attempt after."""
        keys = self._keys(tenant, email, address)
        now = self._clock()
        account = keys[LockKind.ACCOUNT].stored
        # Two calls: a shared counter may let another node's failure fall between them, which only picks
        # the looser pair limit for this one attempt; `add_if_under` itself is atomic.
        busy = await self._counter.count(account, now) >= self.per_account
        wait = await self._counter.add_if_under(
            {
                keys[LockKind.ACCOUNT_ADDRESS].stored: self._pair_limit(busy),
                keys[LockKind.ADDRESS].stored: self.per_address,
                account: sys.maxsize,  # counted, never refused: it only lowers the pair limit above
            },
            now,
        )
        if wait > 0:
            raise TooManyAttempts(max(1, math.ceil(wait)))
        return LoginAttempt(self._counter, keys, now)

    def _pair_limit(self, account_busy: bool) -> int:
        return (
            min(TRIES_WHEN_ACCOUNT_BUSY, self.per_account_address)
            if account_busy
            else self.per_account_address
        )

    async def lockouts(self, tenant: str) -> list[Lockout]:
        """Failures counted now for `tenant`'s accounts, and for the addresses they came from."""
        now = self._clock()
        recent = {
            LockKey.from_stored(stored): stamps
            for stored, stamps in (await self._counter.recent(now)).items()
        }
        mine = {key: stamps for key, stamps in recent.items() if key.tenant == tenant}
        addresses = {key.address for key in mine if key.kind is LockKind.ACCOUNT_ADDRESS}
        mine.update(
            {
                key: stamps
                for key, stamps in recent.items()
                if key.kind is LockKind.ADDRESS and key.address in addresses
            }
        )
        busy = {
            key.email
            for key, stamps in mine.items()
            if key.kind is LockKind.ACCOUNT and len(stamps) >= self.per_account
        }
        found = []
        for key, stamps in mine.items():
            limit = {
                LockKind.ACCOUNT_ADDRESS: self._pair_limit(key.email in busy),
                LockKind.ADDRESS: self.per_address,
                LockKind.ACCOUNT: self.per_account,
            }[key.kind]
            locked = len(stamps) >= limit
            wait = stamps[len(stamps) - limit] + self.window_seconds - now if locked and limit > 0 else 0.0
            found.append(Lockout(key, len(stamps), limit, locked, max(0, math.ceil(wait))))
        return sorted(found, key=lambda lockout: (not lockout.locked, lockout.key.public))

    async def clear(self, tenant: str, public_key: str) -> LockKey | None:
        """Forget the failures under a key `lockouts(tenant)` lists; None if it lists no such key."""
        key = LockKey.from_public(tenant, public_key)
        if key is None or key not in {lockout.key for lockout in await self.lockouts(tenant)}:
            return None
        await self._counter.clear(key.stored)
        return key
