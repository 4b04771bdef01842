"""Saved means saved against hostile editors, on a live server (issue findings 2 and 6, both databases).

One server per database runs every scenario, then is killed and restarted: what was confirmed is what
the reloaded record holds.
"""

from __future__ import annotations

import pytest
from pycrdt import Text

from collab import close_codes
from collab.ycodec import protocol
from tests.support import ylib0
from tests.support.server_process import ServerProcess
from tests.support.yclient import YClient


async def refused(url: str, token: str, update: bytes) -> int | None:
    attacker = await YClient(url, token).connect()
    await attacker.send(protocol.sync_update(update))
    return await attacker.wait_closed()


@pytest.mark.server_process  # killed and restarted: what was confirmed is what the record reloads
async def test_hostile_writes_never_undo_confirmed_edits(
    live_server: ServerProcess, admin_token: str
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Panda"})
    url = f"{live_server.ws_url}/{record}"
    mal = await live_server.add_user("mal@example.com", "editor")
    victim = await YClient(url, admin_token).connect()
    victim.fields["name"] = "first"
    await victim.wait_saved()
    victim_id = victim.doc.client_id
    next_clock = protocol.decode_state_vector(victim.doc.get_state())[victim_id]

    # Finding 2: an item planted at the victim's client id and next clock, its origin missing.
    planted = ylib0.update([(victim_id, next_clock, [ylib0.any_item(["pwned"], origin=(424242, 9))])])
    assert await refused(url, mal, planted) == close_codes.MALFORMED
    # The same with a real parent: refused because the id is the victim's.
    entry = ylib0.any_item(["pwned"], parent="fields", key="name")
    plausible = ylib0.update([(victim_id, next_clock, [entry])])
    assert await refused(url, mal, plausible) == close_codes.MALFORMED
    # Finding 6: a client id at or above 2^53 (no history could name it).
    huge_id = ylib0.update([(2**53, 0, [ylib0.any_item(["x"], parent="fields", key="name")])])
    assert await refused(url, mal, huge_id) == close_codes.MALFORMED
    # Deletions of what does not exist yet (they would delete the victim's next items).
    future_delete = ylib0.update([], {victim_id: [(next_clock, 2**31)]})
    assert await refused(url, mal, future_delete) == close_codes.MALFORMED

    victim.fields["name"] = "second"
    victim.fields["revenue"] = 5
    await victim.wait_saved()
    await victim.close()
    victim.fields["revenue"] = 6  # offline, under its own client id
    await victim.connect()
    await victim.wait_saved()

    # Finding 6: live edits obey the schema; the editor is told what was corrected.
    editor = await YClient(url, mal).connect()
    editor.fields["notes"] = Text("n" * 1_000_000)
    editor.fields["revenue"] = {"an": "object"}
    editor.fields["active"] = "yes"
    editor.fields["not_a_field"] = 1
    await editor.wait_until(lambda: len(editor.notices) == 4, "four corrections")
    await editor.wait_saved()
    corrected = {key for notice in editor.notices for key in notice["fields"]}
    assert corrected == {"notes", "revenue", "active", "not_a_field"}
    expected = {"name": "second", "revenue": 6, "notes": "n" * 100_000}
    await victim.wait_until(lambda: _plain(victim.fields.to_py()) == expected, "the victim sees corrections")
    await editor.close()
    await victim.close()

    async with live_server.client(admin_token) as http:
        assert (await http.get(f"/api/records/{record}")).json()["fields"] == expected
    await live_server.kill()
    await live_server.start()
    token = await live_server.login()
    async with live_server.client(token) as http:
        assert (await http.get(f"/api/records/{record}")).json()["fields"] == expected
    fresh = await YClient(url, token).connect()  # the restarted server keeps its port
    assert _plain(fresh.fields.to_py()) == expected
    await fresh.close()


def _plain(values: dict[str, object]) -> dict[str, object]:
    return {key: int(v) if isinstance(v, float) and v.is_integer() else v for key, v in values.items()}
