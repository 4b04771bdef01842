"""Users' and sessions' use-cases without HTTP: admins only, and what they change reaches live sockets at once
(the close frame says why)."""

from __future__ import annotations

import asyncio

import pytest

from auth.errors import Forbidden, InvalidCredentials, NotAuthenticated, SessionNotFound
from auth.principal import Principal
from collab.services.records import NewRecord
from collab.services.users import AuditPage, UserChange
from tests.collab.services.conftest import PASSWORD, RecordingChannel, Stack, given, never_read
from tests.support.polling import poll_until


async def _joined(stack: Stack, principal: Principal) -> tuple[RecordingChannel, asyncio.Task[None]]:
    """A live connection of `principal` on a new record, once it has joined."""
    created = await stack.services.records.create(stack.admin, given(NewRecord("customers", {"name": "Ada"})))
    channel = RecordingChannel()
    serving = asyncio.create_task(stack.services.connections.serve(principal, created["id"], channel))
    await poll_until(lambda: stack.services.records.presence(stack.admin, created["id"]), bool, "the join")
    return channel, serving


async def test_administration_is_for_admins_and_reads_no_input_of_anyone_else(stack: Stack) -> None:
    editor = await stack.user("ed@example.com", "editor")
    users = stack.services.users
    for refused in (
        users.all(editor),
        users.create(editor, never_read, ip=""),
        users.update(editor, stack.admin.user_id, never_read, ip=""),
        users.reset_password(editor, stack.admin.user_id, never_read, ip=""),
        users.audit(editor, never_read),
        users.lockouts(editor),
        users.clear_lockout(editor, never_read, ip=""),
    ):
        with pytest.raises(Forbidden):
            await refused
    audit = await users.audit(stack.admin, given(AuditPage()))
    assert {"user.create", "login"} <= {entry["action"] for entry in audit}


async def test_logging_out_ends_the_session_and_closes_its_sockets(stack: Stack) -> None:
    editor = await stack.user("ed@example.com", "editor")
    channel, serving = await _joined(stack, editor)
    await stack.services.sessions.logout(editor, ip="")
    assert await asyncio.wait_for(channel.closed, 10) == (4401, "logged out")
    await asyncio.wait_for(serving, 10)
    with pytest.raises(NotAuthenticated):
        await stack.services.sessions.authenticate(stack.tokens[editor.session_id])


async def test_a_deactivated_user_is_closed_out_and_a_new_role_applies(stack: Stack) -> None:
    editor = await stack.user("ed@example.com", "editor")
    channel, serving = await _joined(stack, editor)
    users = stack.services.users
    changed = await users.update(stack.admin, editor.user_id, given(UserChange(role="viewer")), ip="")
    assert changed["role"] == "viewer" and not channel.closed.done()
    await users.update(stack.admin, editor.user_id, given(UserChange(active=False)), ip="")
    assert await asyncio.wait_for(channel.closed, 10) == (4403, "user deactivated")
    await asyncio.wait_for(serving, 10)


async def test_sessions_are_listed_and_revoked_by_their_owner_only(stack: Stack) -> None:
    sessions = stack.services.sessions
    _, second = await sessions.login(
        "default", "admin@example.com", "admin-password-1", user_agent="x", ip=""
    )
    mine = await sessions.live(stack.admin)
    assert {row["id"] for row in mine} == {stack.admin.session_id, second.session_id}
    assert [row["current"] for row in mine if row["id"] == stack.admin.session_id] == [True]
    editor = await stack.user("ed@example.com", "editor")
    with pytest.raises(SessionNotFound):
        await sessions.revoke(editor, second.session_id, ip="")
    assert await sessions.revoke_others(stack.admin, ip="") == 1
    with pytest.raises(InvalidCredentials):
        await sessions.login("default", "ed@example.com", PASSWORD + "x", user_agent="", ip="")
