"""Login sessions: log in, authenticate a token, log out, list and revoke the caller's own sessions.

A session that ends here ends everywhere at once: its live sockets close (4401, with the reason) and its
feed streams end (the registry tells the feed), on every node when `registry` is `AccessChanges`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth import audit, sessions
from auth.accounts import normalise_email
from auth.devices import describe
from auth.errors import InvalidCredentials, SessionEnded, SessionNotFound
from auth.principal import Principal
from auth.sessions import SessionPolicy
from auth.throttle import LoginThrottle, TooManyAttempts
from collab.cluster.access import LiveEffects
from collab.errors import close_frame
from collab.metrics import UNREAD, Metrics
from collab.records.records import iso
from persistence.database import Database
from persistence.models import LoginSession, Tenant
from persistence.tenant_scope import enter_tenant, system_work


class Sessions:
    def __init__(
        self,
        database: Database,
        registry: LiveEffects,  # the room registry, or `AccessChanges` to act on every node
        throttle: LoginThrottle,
        policy: SessionPolicy,
        metrics: Metrics = UNREAD,
    ) -> None:
        self._database = database
        self._metrics = metrics
        self._registry = registry
        self._throttle = throttle
        self._policy = policy

    async def login(
        self, tenant: str, email: str, password: str, *, user_agent: str, ip: str
    ) -> tuple[str, Principal]:
        """A new session's token and who it is; `InvalidCredentials` (never saying what was wrong), or
        `TooManyAttempts` once the throttle's limits are reached. Both outcomes are in the audit log. Like
        `authenticate`, scopes the rest of the caller's task to the principal's tenant."""
        # The slot is taken before the password is checked: a guess counts from the moment it is made.
        try:
            attempt = await self._throttle.reserve(tenant, normalise_email(email), ip)
        except TooManyAttempts:
            self._metrics.logins.labels(outcome="throttled").inc()
            raise
        try:
            token, principal = await self._verified_login(tenant, email, password, user_agent, ip)
        except InvalidCredentials:
            self._metrics.logins.labels(outcome="failed").inc()
            raise  # the attempt stays counted
        except BaseException:
            await attempt.abandoned()  # no answer was given: it does not count
            raise
        await attempt.succeeded()
        self._metrics.logins.labels(outcome="ok").inc()
        enter_tenant(principal.tenant_id)  # the rest of the caller's task acts as the new session's user
        return token, principal

    @system_work  # the tenant is found by its slug: not known before
    async def _verified_login(
        self, tenant: str, email: str, password: str, user_agent: str, ip: str
    ) -> tuple[str, Principal]:
        async with self._database.session() as session:
            try:
                token, principal = await sessions.login(
                    session, tenant_slug=tenant, email=email, password=password, user_agent=user_agent, ip=ip
                )
            except InvalidCredentials:
                await session.rollback()
                known_tenant = await session.scalar(select(Tenant.id).where(Tenant.slug == tenant))
                await audit.record(
                    session, action="login.failed", tenant_id=known_tenant, actor_id=None, ip=ip,
                    detail={"email": normalise_email(email)[:320]},
                )  # fmt: skip
                await session.commit()
                raise
            await audit.record(
                session, action="login", tenant_id=principal.tenant_id, actor_id=principal.user_id, ip=ip,
                detail={"session": principal.session_id},
            )  # fmt: skip
            await session.commit()
        return token, principal

    async def authenticate(self, token: str) -> Principal:
        """Who holds `token`; `NotAuthenticated` for an unknown, ended or expired session. The rest of the
        caller's task is then scoped to the principal's tenant (persistence/tenant_scope.py)."""
        principal = await self._find_principal(token)
        enter_tenant(principal.tenant_id)
        return principal

    @system_work  # a token is looked up before its tenant is known
    async def _find_principal(self, token: str) -> Principal:
        async with self._database.session() as session:
            principal = await sessions.authenticate(session, token, self._policy)
            await session.commit()  # last_seen_at, at most once a minute
        return principal

    async def logout(self, principal: Principal, ip: str) -> None:
        async with self._database.session() as session:
            await sessions.revoke(session, principal.user_id, [principal.session_id])
            await audit.record(
                session, action="logout", tenant_id=principal.tenant_id, actor_id=principal.user_id, ip=ip,
                detail={"session": principal.session_id},
            )  # fmt: skip
            await session.commit()
        self._registry.close_sessions({principal.session_id}, *close_frame(SessionEnded("logged out")))

    async def live(self, principal: Principal) -> list[dict[str, Any]]:
        """The caller's live sessions, newest first; `current` marks the one asking."""
        async with self._database.session() as session:
            rows = await sessions.list_sessions(session, principal.user_id, self._policy)
        return [session_json(row, principal.session_id) for row in rows]

    async def revoke(self, principal: Principal, session_id: str, ip: str) -> None:
        """End one of the caller's sessions; `SessionNotFound` if it is not one of theirs (or has ended)."""
        async with self._database.session() as session:
            ended = await self._end(session, principal, [session_id], ip)
        if not ended:
            raise SessionNotFound("no such session")

    async def revoke_others(self, principal: Principal, ip: str) -> int:
        """End every session of the caller but the one asking; returns how many ended."""
        async with self._database.session() as session:
            mine = await sessions.list_sessions(session, principal.user_id)
            others = [row.id for row in mine if row.id != principal.session_id]
            ended = await self._end(session, principal, others, ip) if others else []
        return len(ended)

    async def _end(
        self, session: AsyncSession, principal: Principal, session_ids: list[str], ip: str
    ) -> list[str]:
        ended = await sessions.revoke(session, principal.user_id, session_ids)
        if ended:
            await audit.record(
                session, action="session.revoke", tenant_id=principal.tenant_id, actor_id=principal.user_id,
                target_user_id=principal.user_id, ip=ip, detail={"sessions": ended},
            )  # fmt: skip
        await session.commit()
        self._registry.close_sessions(set(ended), *close_frame(SessionEnded("session revoked")))
        return ended


def session_json(row: LoginSession, current: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "device": describe(row.user_agent),
        "user_agent": row.user_agent,
        "ip": row.ip,
        "created_at": iso(row.created_at),
        "last_seen_at": iso(row.last_seen_at),
        "current": row.id == current,
    }
