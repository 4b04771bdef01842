"""Self-service onboarding: an organisation registers itself, with its first admin (off unless enabled).

The endpoint is open to anyone, so it is switched off by default (`COLLAB_TENANT_REGISTRATION`), costs each
address a budget (`COLLAB_TENANT_REGISTRATIONS_PER_HOUR`, counted before anything is read or hashed), and
registrations run one at a time so two organisations can never take one name.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Any

from auth import accounts, audit
from auth.principal import Role
from auth.throttle import TooManyAttempts
from collab.clock import SYSTEM_CLOCK, Clock
from collab.errors import RecordNotFound
from collab.records.records import SAMPLE_COLLECTION, create_collection
from collab.services.deferred import Deferred
from collab.services.users import user_json
from persistence.database import Database
from persistence.tenant_scope import system_work

_HOUR_SECONDS = 3600.0
_SWEEP_AT = 10_000


@dataclass(frozen=True)
class NewOrganisation:
    name: str
    slug: str
    email: str
    password: str
    admin_name: str | None = None


class Tenants:
    def __init__(
        self, database: Database, *, registration_open: bool, per_hour: int, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self._database = database
        self._open = registration_open
        self._per_hour = per_hour
        self._clock = clock
        self._recent: dict[str, deque[float]] = {}
        self._one_at_a_time = asyncio.Lock()

    @property
    def registration_open(self) -> bool:
        return self._open

    @system_work  # a new organisation: the slug must be unique across all of them
    async def register(self, read: Deferred[NewOrganisation], ip: str) -> dict[str, Any]:
        """Create the organisation, its first admin and the sample collection, in one transaction."""
        if not self._open:
            raise RecordNotFound("registration is closed")  # the same 404 as a path that does not exist
        self._charge(ip)
        wanted = await read()
        async with self._one_at_a_time, self._database.session() as session:
            tenant = await accounts.add_organisation(session, wanted.slug, wanted.name)
            admin = await accounts.add_user(
                session,
                tenant,
                email=wanted.email,
                role=Role.ADMIN.value,
                password=wanted.password,
                name=wanted.admin_name,
            )
            await create_collection(session, tenant.id, SAMPLE_COLLECTION)
            await audit.record(
                session, action="tenant.register", tenant_id=tenant.id, actor_id=admin.id,
                target_user_id=admin.id, ip=ip, detail={"slug": tenant.slug},
            )  # fmt: skip
            await session.commit()
        return {"tenant": {"slug": tenant.slug, "name": tenant.name}, "admin": user_json(admin)}

    def _charge(self, ip: str) -> None:
        now = self._clock.monotonic()
        recent = self._recent.setdefault(ip, deque())
        while recent and recent[0] <= now - _HOUR_SECONDS:
            recent.popleft()
        if len(recent) >= self._per_hour:
            raise TooManyAttempts(max(1, int(recent[0] + _HOUR_SECONDS - now)), "too many registrations")
        recent.append(now)
        if len(self._recent) > _SWEEP_AT:  # an address with nothing in the last hour is the same as none
            cutoff = now - _HOUR_SECONDS
            self._recent = {key: times for key, times in self._recent.items() if times[-1] > cutoff}
