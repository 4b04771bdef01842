"""Serving one live connection: join the room, read frames until the peer leaves, leave cleanly.

Errors are contained here: a bad frame closes its own connection with its code, and the room and every
other connection carry on.
"""

from __future__ import annotations

import logging

from auth.principal import Principal
from collab import close_codes
from collab.errors import MalformedMessage, RoomBroken, RoomLoadFailed
from collab.live.admission import UpdateRefused
from collab.live.awareness import AwarenessLimits
from collab.live.channel import Channel, ChannelClosed
from collab.live.connection import Connection
from collab.live.rate_limit import TokenBucket
from collab.live.registry import RoomRegistry
from collab.settings import Settings

log = logging.getLogger(__name__)


async def serve_connection(
    registry: RoomRegistry, channel: Channel, principal: Principal, record_id: str, settings: Settings
) -> None:
    """Run one connection to the end; the caller has already checked the record belongs to the principal."""
    try:
        room = await registry.acquire(record_id)
    except RoomLoadFailed:
        # 1011 makes the client retry later; the record is never served as an empty document.
        await channel.close(close_codes.INTERNAL_ERROR, "record could not be loaded")
        return
    rate = TokenBucket(settings.max_messages_per_second, settings.message_burst)
    connection = Connection(
        channel,
        principal,
        record_id,
        settings.send_queue_bytes,
        rate,
        send_stall_seconds=settings.send_stall_seconds,
        awareness_limits=AwarenessLimits(
            settings.awareness_client_ids_per_connection, settings.awareness_state_bytes
        ),
    )
    connection.start()
    registry.join(room, connection)
    try:
        while connection.close_code is None:
            frame = await channel.recv()
            if len(frame) > settings.max_message_bytes:
                connection.close(close_codes.TOO_LARGE, "message too large")
                break
            if connection.rate is not None and not connection.rate.allow():
                log.info("closing connection %s on record %s: rate limited", connection.id, record_id)
                connection.close(close_codes.RATE_LIMITED, "too many messages")
                break
            room.receive(connection, frame)
    except ChannelClosed:
        pass
    except (MalformedMessage, RoomBroken) as exc:
        log.info("closing connection %s on record %s: %s", connection.id, record_id, exc)
        reason = str(exc) if isinstance(exc, UpdateRefused) else "malformed message"
        connection.close(close_codes.MALFORMED, reason.encode()[:120].decode(errors="ignore"))
    except Exception:
        log.exception("connection %s on record %s failed", connection.id, record_id)
        connection.close(close_codes.INTERNAL_ERROR, "internal error")
    finally:
        registry.leave(room, connection)
        registry.release(room)
        await connection.stop()
