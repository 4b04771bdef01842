"""Who is on a record, for the nodes that do not hold its room: the presence board in Redis.

A record's room lives on one node (its owner). That node writes the room's people to the hash
`<prefix>:presence:<record>`, field = its node id, value = "deadline|json" (the deadline in milliseconds of
Redis's clock): at once when they change, every third of `ttl_seconds` while people are there, and the
field is deleted when the room empties. Any node answers `/presence` from its own room, else from the
board (every node's live entries merged). A node that dies stops refreshing: its entries pass their
deadline (and the hash its expiry) within `ttl_seconds`. Without Redis there is no board: each node knows
its own rooms only.

The same write also goes to the tenant's index `<prefix>:presence-tenant:<tenant>`, field
"<node>|<record>", value "deadline|json" with the record, its collection and its people: a feed stream
opening and `/api/admin/online` (`tenant_rooms`) list the people of the tenant's rooms on every node from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from collab.periodic import stop_tasks

log = logging.getLogger(__name__)

# A Redis that hangs (a partition) counts as failed after this: `/presence` never waits on it for longer.
REDIS_DEADLINE_SECONDS = 1.0

# KEYS: the record's hash, the tenant's index. ARGV: node id, ttl (ms), the people as JSON ("": the field
# goes), the index's field, the index's JSON.
_WRITE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[4])
else
  local deadline = string.format('%d', now + ttl) .. '|'
  redis.call('HSET', KEYS[1], ARGV[1], deadline .. ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('HSET', KEYS[2], ARGV[4], deadline .. ARGV[5])
  redis.call('PEXPIRE', KEYS[2], ttl)
end
return 0
"""

# KEYS: the record's hash. The JSON of every entry whose deadline has not passed.
_READ = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local live = {}
local fields = redis.call('HGETALL', KEYS[1])
for j = 1, #fields, 2 do
  local deadline, people = string.match(fields[j + 1], '^(%d+)|(.*)$')
  if deadline and tonumber(deadline) > now then table.insert(live, people) end
end
return live
"""

Person = dict[str, Any]


class RoomPeople(Protocol):
    """What the board reads of a room (`collab.live.room.Room`)."""

    record_id: str
    tenant_id: str
    collection_id: str

    def presence(self) -> list[dict[str, object]]: ...


def merge(entries: list[list[Person]]) -> list[Person]:
    """Every node's people of one record as one list: each person once (from their earliest connection,
    with the first field any of their connections edits), earliest first."""
    people: dict[str, Person] = {}
    for entry in entries:
        for person in entry:
            known = people.get(person["id"])
            if known is None:
                people[person["id"]] = dict(person)
                continue
            if str(person.get("since", "")) < str(known.get("since", "")):
                known["since"] = person["since"]
            if known.get("field") is None:
                known["field"] = person.get("field")
    return sorted(people.values(), key=lambda person: (str(person.get("since", "")), person["id"]))


class PresenceBoard:
    def __init__(self, redis: Redis, prefix: str, node_id: str, ttl_seconds: float = 30.0) -> None:
        self._keys = f"{prefix}:presence:"
        self._tenant_keys = f"{prefix}:presence-tenant:"
        self._node = node_id
        self._ttl_ms = max(1, round(ttl_seconds * 1000))
        self._write = redis.register_script(_WRITE)
        self._read = redis.register_script(_READ)
        self._rooms: dict[str, RoomPeople] = {}  # rooms of this node with people (or just emptied)
        self._dirty: set[str] = set()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._failing = False

    async def __aenter__(self) -> PresenceBoard:
        self._tasks = [
            asyncio.create_task(self._writer(), name="collab-presence-writer"),
            asyncio.create_task(self._heartbeat(), name="collab-presence-heartbeat"),
        ]
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await stop_tasks(*self._tasks)
        # Stopping: this node's people leave the board now rather than when their entries expire.
        with contextlib.suppress(RedisError, OSError, TimeoutError):
            async with asyncio.timeout(REDIS_DEADLINE_SECONDS):
                for room in list(self._rooms.values()):
                    await self._write(
                        keys=self._keys_of(room), args=[self._node, self._ttl_ms, "", self._field(room)]
                    )

    def changed(self, room: RoomPeople) -> None:
        """The registry's presence listener: the room's people changed; the board hears of it soon."""
        self._rooms[room.record_id] = room
        self._dirty.add(room.record_id)
        self._wake.set()

    async def people(self, record_id: str) -> list[Person]:
        """Who is on the record on any node, from the board; nobody when Redis fails."""
        try:
            async with asyncio.timeout(REDIS_DEADLINE_SECONDS):
                entries = await self._read(keys=[self._keys + record_id])
        except (RedisError, OSError, TimeoutError) as exc:
            self._log_failure(exc)
            return []
        return merge([json.loads(entry) for entry in entries])

    async def tenant_rooms(self, tenant_id: str) -> list[BoardRoom]:
        """Every record of the tenant with people on it on any node, from the board (this node's included);
        none when Redis fails."""
        try:
            async with asyncio.timeout(REDIS_DEADLINE_SECONDS):
                entries = await self._read(keys=[self._tenant_keys + tenant_id])
        except (RedisError, OSError, TimeoutError) as exc:
            self._log_failure(exc)
            return []
        rooms: dict[str, BoardRoom] = {}
        for entry in entries:
            body = json.loads(entry)
            known = rooms.get(body["record"])
            people = body["people"] if known is None else merge([known.people, body["people"]])
            rooms[body["record"]] = BoardRoom(str(body["record"]), str(body["collection"]), people)
        return list(rooms.values())

    def _keys_of(self, room: RoomPeople) -> list[str]:
        return [self._keys + room.record_id, self._tenant_keys + room.tenant_id]

    def _field(self, room: RoomPeople) -> str:
        return f"{self._node}|{room.record_id}"

    async def _writer(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            dirty, self._dirty = self._dirty, set()
            for record_id in dirty:
                try:
                    await self._publish(record_id)
                except Exception:  # one record's failure must not stop the board for the others
                    log.exception("presence: writing the people of record %s failed", record_id)

    async def _publish(self, record_id: str) -> None:
        room = self._rooms.get(record_id)
        people = room.presence() if room is not None else []
        if not people:
            self._rooms.pop(record_id, None)
        if room is None:
            return
        body = json.dumps(people, separators=(",", ":"), default=str) if people else ""
        indexed = {"record": record_id, "collection": room.collection_id, "people": people}
        index_body = json.dumps(indexed, separators=(",", ":"), default=str) if people else ""
        try:
            async with asyncio.timeout(REDIS_DEADLINE_SECONDS):
                await self._write(
                    keys=self._keys_of(room),
                    args=[self._node, self._ttl_ms, body, self._field(room), index_body],
                )
        except (RedisError, OSError, TimeoutError) as exc:
            self._log_failure(exc)
            if people:
                return  # the heartbeat writes it again
            self._rooms.setdefault(record_id, _Emptied(room))  # its deletion is retried too
            return
        if self._failing:
            self._failing = False
            log.warning("presence: Redis answers again; the board is written")

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self._ttl_ms / 3000)
            self._dirty.update(self._rooms)
            self._wake.set()

    def _log_failure(self, exc: BaseException) -> None:
        if not self._failing:
            self._failing = True
            log.warning("presence: Redis failed (%r); other nodes see this node's rooms as empty", exc)


@dataclass(frozen=True)
class BoardRoom:
    """A record with people on it, as the board says."""

    record_id: str
    collection_id: str
    people: list[Person]


class _Emptied:
    """A room that emptied while Redis failed: kept so that its entry is deleted once Redis answers."""

    def __init__(self, room: RoomPeople) -> None:
        self.record_id = room.record_id
        self.tenant_id = room.tenant_id
        self.collection_id = room.collection_id

    def presence(self) -> list[dict[str, object]]:
        return []
