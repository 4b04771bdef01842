"""Use-cases on a record whose room may be live on another node.

`admit` (the registry's, run before a use-case uses a room): this node owns the record, or claims it now;
when another node owns it, `OwnedElsewhere` names that node's internal address, and the HTTP request is
forwarded there (web/relay_http.py) to run in the one room of the record. Nothing is asked of the owner on
the bus: its live clients stay connected, and it works while Redis is down.

Closing a record's sockets (it was deleted) wherever its room is: `close_record` tells the other nodes,
which close theirs with the same code and reason (a hint on the bus: while Redis is down, a room on another
node goes on serving its clients of a deleted record until they leave).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from collab.cluster.bus import Bus
from collab.cluster.errors import OwnedElsewhere
from collab.cluster.ownership import Ownership

log = logging.getLogger(__name__)

CLOSE_TOPIC = "owners.close-record"


class Handover:
    def __init__(self, ownership: Ownership, bus: Bus, close_here: Callable[[str, int, str], None]) -> None:
        """`close_here`: close this node's sockets of a record with a code and reason."""
        self._ownership = ownership
        self._bus = bus
        self._close_here = close_here
        self._unsubscribe = bus.subscribe(CLOSE_TOPIC, self._closed)

    async def admit(self, record_id: str) -> None:
        """Return once this node owns the record; `OwnedElsewhere` (with the owner's address) when another
        node does; `OwnerUnreachable` / `OwnershipUnavailable` when that cannot be told now."""
        if self._ownership.holds(record_id):
            return
        owner = await self._ownership.claim(record_id)
        if owner is not None:
            raise OwnedElsewhere(f"record {record_id} is live on another node", owner)

    def close_record(self, record_id: str, code: int, reason: str) -> None:
        """A registry record-close listener: the other nodes close their sockets of the record too."""
        self._bus.publish(CLOSE_TOPIC, json.dumps([record_id, code, reason]).encode())

    def _closed(self, payload: bytes, node_id: str) -> None:
        try:
            record_id, code, reason = json.loads(payload)
        except ValueError:
            log.warning("a record close from node %s could not be read", node_id)
            return
        self._close_here(str(record_id), int(code), str(reason))

    def close(self) -> None:
        self._unsubscribe()
