"""The collection feed: live, coalesced, resumable, scoped, and ended with the session."""

from __future__ import annotations

import asyncio
import contextlib
import random
from pathlib import Path

import pytest

from tests.interop.node_client import NodeClient
from tests.support.live_server import LiveServer
from tests.support.server_process import ServerProcess, running_server
from tests.support.sse import FeedClient
from tests.support.yclient import YClient

RECORD_EVENTS = ("record.created", "record.updated", "record.deleted", "record.restored")


async def test_three_users_changes_reach_a_fourth_within_a_second(
    live_server: LiveServer, admin_token: str
) -> None:
    ann = await live_server.add_user("ann@example.com", "editor")
    bob = await live_server.add_user("bob@example.com", "editor")
    cat = await live_server.add_user("cat@example.com", "editor")
    panda = await live_server.create_record(ann, {"name": "Panda"})
    old = await live_server.create_record(cat, {"name": "OldCorp"})
    watcher = await live_server.add_user("viv@example.com", "viewer")
    async with FeedClient(live_server.base_url, watcher, "customers") as feed:
        assert feed.status == 200
        loop = asyncio.get_running_loop()
        started = loop.time()
        created = asyncio.create_task(live_server.create_record(ann, {"name": "TestCo"}))
        editor = await YClient(f"{live_server.ws_url}/{panda}", bob).connect()
        editor.fields["revenue"] = 7000
        async with live_server.client(cat) as http:
            assert (await http.delete(f"/api/records/{old}")).status_code == 204
        await created
        events = await feed.collect(3, within=5, types=RECORD_EVENTS)
        assert loop.time() - started < 1 + 1.5  # coalescing waits about a second for more typing
        by_type = {event.type: event for event in events}
        assert set(by_type) == {"record.created", "record.updated", "record.deleted"}
        assert by_type["record.created"].data["by"]["email"] == "ann@example.com"
        assert by_type["record.created"].data["fields"] == {"name": "TestCo"}
        assert by_type["record.updated"].data["by"]["email"] == "bob@example.com"
        assert by_type["record.updated"].data["fields"] == {"revenue": 7000}
        assert by_type["record.updated"].data["record"] == panda
        assert by_type["record.deleted"].data["record"] == old
        assert all(event.data["collection"] == "customers" and event.id for event in events)
        await editor.close()


async def test_a_subscriber_resumes_with_exactly_what_it_missed(
    live_server: LiveServer, admin_token: str
) -> None:
    record = await live_server.create_record(admin_token, {"name": "Start"})
    async with FeedClient(live_server.base_url, admin_token, "customers") as feed:
        first = await live_server.create_record(admin_token, {"name": "Seen"})
        seen = (await feed.collect(1, types=RECORD_EVENTS))[0]
        assert seen.data["record"] == first
    made = [await live_server.create_record(admin_token, {"name": f"Missed {n}"}) for n in range(50)]
    async with FeedClient(live_server.base_url, admin_token, "customers", last_event_id=seen.id) as feed:
        missed = await feed.collect(50, within=10, types=RECORD_EVENTS)
        assert [event.data["record"] for event in missed] == made
        ids = [event.id for event in missed]
        assert ids == sorted(ids) and len(set(ids)) == 50
        client = await YClient(f"{live_server.ws_url}/{record}", admin_token).connect()
        client.fields["name"] = "Live again"
        live = (await feed.collect(1, types=RECORD_EVENTS))[0]
        assert live.type == "record.updated" and live.data["fields"] == {"name": "Live again"}
        await client.close()


@pytest.mark.server_process  # SIGKILL within the coalescing second
async def test_resume_across_a_kill(live_server: ServerProcess, admin_token: str) -> None:
    async with FeedClient(live_server.base_url, admin_token, "customers") as feed:
        await live_server.create_record(admin_token, {"name": "Before"})
        last = (await feed.collect(1, types=RECORD_EVENTS))[0]
    record = await live_server.create_record(admin_token, {"name": "Edited"})
    client = await YClient(f"{live_server.ws_url}/{record}", admin_token).connect()
    client.fields["stage"] = "lead"
    await client.wait_saved()
    await live_server.kill()  # within the coalescing second: the update event was not published yet
    await live_server.start()
    async with FeedClient(live_server.base_url, admin_token, "customers", last_event_id=last.id) as feed:
        events = await feed.collect(2, within=10, types=RECORD_EVENTS)
    assert [(e.type, e.data["record"]) for e in events] == [
        ("record.created", record),
        ("record.updated", record),
    ]
    assert events[1].data["fields"] == {"stage": "lead"}


async def test_typing_200_characters_makes_a_few_events(live_server: LiveServer, admin_token: str) -> None:
    record = await live_server.create_record(admin_token, {"name": "Notes"})
    text = ("lorem ipsum dolor sit amet " * 10)[:200]
    async with (
        FeedClient(live_server.base_url, admin_token, "customers") as feed,
        NodeClient(name="typist") as typist,
    ):
        await typist.connect(live_server.ws_url, record, token=admin_token)
        for char in text:
            await typist.text_insert("notes", None, char)
        await typist.wait_saved()
        updates = []
        while not updates or updates[-1].data["fields"].get("notes") != text:
            updates += await feed.collect(1, within=5, types=("record.updated",))
        assert len(updates) <= 10, len(updates)


async def test_another_tenants_feed_leaks_nothing(live_server: LiveServer, admin_token: str) -> None:
    rng = random.Random(7)
    await live_server.cli("tenant", "add", "rival")
    rival = await live_server.add_user("boss@rival.example", "admin", tenant="rival")
    async with FeedClient(live_server.base_url, rival, "customers") as spy:
        for n in range(20):
            await live_server.create_record(admin_token, {"name": f"Secret {n}"})
        await live_server.create_record(rival, {"name": "Ours"})
        (event,) = await spy.collect(1, types=RECORD_EVENTS)
        assert event.data["fields"] == {"name": "Ours"}
    attempts = 0
    for _ in range(1000):
        token = rng.choice([rival, rival[:-1] + "x", "", "nope"])
        collection = rng.choice(["customers", "people", "../customers", "customers%00", ""])
        last = rng.choice([None, 0, 1, 10**12, -1])
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if last is not None:
            headers["Last-Event-ID"] = str(last)
        async with (
            live_server.client() as http,
            http.stream("GET", "/api/events", params={"collection": collection}, headers=headers) as response,
        ):
            attempts += 1
            if response.status_code != 200:
                continue
            assert token == rival and collection == "customers"
            if last is None:
                continue  # a live-only stream: what it may carry is checked by the spy above
            async with asyncio.timeout(5):
                async for line in response.aiter_lines():
                    assert "Secret" not in line
                    if line.startswith("data:") or line == "":
                        break
    assert attempts == 1000


async def test_revoking_a_session_ends_its_stream(live_server: LiveServer, admin_token: str) -> None:
    other = await live_server.login()
    async with FeedClient(live_server.base_url, other, "customers") as feed:
        async with live_server.client(admin_token) as http:
            sessions = (await http.get("/api/auth/sessions")).json()["sessions"]
            target = next(s for s in sessions if not s["current"])
            started = asyncio.get_running_loop().time()
            assert (await http.delete(f"/api/auth/sessions/{target['id']}")).status_code == 204
        with contextlib.suppress(EOFError):
            await feed.next(within=1)
        assert feed.ended and asyncio.get_running_loop().time() - started < 1


async def test_an_idle_stream_gets_heartbeats_and_ends_with_the_server(
    database_url: str, tmp_path: Path
) -> None:
    env = {"COLLAB_FEED_HEARTBEAT_SECONDS": "0.2"}
    async with running_server(database_url, tmp_path / "server.log", env=env) as server:
        token = await server.login()
        async with (
            server.client(token) as http,
            http.stream("GET", "/api/events", params={"collection": "customers"}) as response,
        ):
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["cache-control"] == "no-store"
            lines = response.aiter_lines()
            async with asyncio.timeout(5):
                assert [await anext(lines), await anext(lines)] == [": heartbeat", ""]
                assert [await anext(lines), await anext(lines)] == [": heartbeat", ""]
            assert await server.terminate() in (0, -15)  # uvicorn re-raises the SIGTERM once it is done
            async with asyncio.timeout(5):  # the stream ends with the server instead of holding it up
                assert [line async for line in lines if line.startswith("data:")] == []


async def test_a_coalesced_event_lists_its_authors_also_on_resume(
    live_server: LiveServer, admin_token: str
) -> None:
    ann = await live_server.add_user("ann@example.com", "editor")
    bob = await live_server.add_user("bob@example.com", "editor")
    record = await live_server.create_record(admin_token, {"name": "Panda"})
    async with FeedClient(live_server.base_url, admin_token, "customers") as feed:
        marker = await live_server.create_record(admin_token, {"name": "Marker"})
        seen = (await feed.collect(1, types=RECORD_EVENTS))[0]
        assert seen.data["record"] == marker and seen.data["authors"] == [seen.data["by"]["id"]]
        ann_client = await YClient(f"{live_server.ws_url}/{record}", ann).connect()
        bob_client = await YClient(f"{live_server.ws_url}/{record}", bob).connect()
        ann_client.fields["stage"] = "lead"
        bob_client.fields["revenue"] = 7000
        await ann_client.wait_saved()
        await bob_client.wait_saved()
        updates = []
        while {"stage", "revenue"} - {key for update in updates for key in update.data["fields"]}:
            updates += await feed.collect(1, within=5, types=("record.updated",))
        await ann_client.close()
        await bob_client.close()
    by_email = {}
    for update in updates:
        assert update.data["authors"][-1] == update.data["by"]["id"]  # `by` is the newest author
        by_email[update.data["by"]["email"]] = update.data["by"]["id"]
    authors = {author for update in updates for author in update.data["authors"]}
    assert len(authors) == 2 and authors >= set(by_email.values())
    async with FeedClient(live_server.base_url, admin_token, "customers", last_event_id=seen.id) as feed:
        replayed = await feed.collect(len(updates), within=10, types=("record.updated",))
    assert [(e.id, e.data["authors"], e.data["more_authors"]) for e in replayed] == [
        (e.id, e.data["authors"], e.data["more_authors"]) for e in updates
    ]
