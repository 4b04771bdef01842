"""WebSocket close codes of the public contract, in one place.

Codes 4400-4499 are final for y-websocket clients (they stop reconnecting); the 1xxx codes used here make a
client reconnect with back-off, which is what a slow consumer, a restart or a failed load calls for.
"""

from typing import Final

MALFORMED: Final = 4400
NOT_AUTHENTICATED: Final = 4401
FORBIDDEN: Final = 4403
NOT_FOUND: Final = 4404
# The record was restored on the server since the client's copy was synced: reload, never merge that copy.
RESTORED: Final = 4409
TOO_LARGE: Final = 4413
RATE_LIMITED: Final = 4429
# Between the nodes of one deployment only, never to a client: a relayed socket reached a node that does not
# own its record (any more); the edge node claims the record again (collab/cluster/relay.py).
NOT_OWNER: Final = 4300

NORMAL: Final = 1000
GOING_AWAY: Final = 1001
# A WebSocket that sent nothing within ws_first_message_timeout_seconds of its upgrade (server/strangers.py).
POLICY_VIOLATION: Final = 1008
INTERNAL_ERROR: Final = 1011
SERVICE_RESTART: Final = 1012
TRY_AGAIN_LATER: Final = 1013
