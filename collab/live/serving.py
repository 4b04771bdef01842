"""Serving one live connection: join the room, read frames until the peer leaves, leave cleanly.

Errors are contained here: a bad frame closes its own connection, and the room and every other connection
carry on. The close frame (code and reason) is always `collab.errors.close_frame` of the error.
"""

from __future__ import annotations

import logging

from auth.principal import Principal
from collab.errors import (
    MalformedMessage,
    MessageTooLarge,
    RoomBroken,
    RoomLoadFailed,
    TooManyMessages,
    close_frame,
)
from collab.live.awareness import AwarenessLimits
from collab.live.channel import Channel, ChannelClosed
from collab.live.connection import Connection
from collab.live.rate_limit import TokenBucket
from collab.live.registry import RoomRegistry
from collab.settings import Settings
from collab.store.snapshotter import RecordCheck

log = logging.getLogger(__name__)

# What a peer's own frames can cause: its connection closes with the error's code, logged without a trace.
_PEER_FAULTS = (MalformedMessage, RoomBroken, MessageTooLarge, TooManyMessages)


async def serve_connection(
    registry: RoomRegistry,
    channel: Channel,
    principal: Principal,
    record_id: str,
    settings: Settings,
    check: RecordCheck | None = None,
) -> None:
    """Run one connection to the end. `check`: that the record belongs to the principal (its refusal is
    raised from here, before the connection joins), run as the room is acquired (`RoomRegistry.acquire`);
    None when the caller has checked already."""
    try:
        room = await registry.acquire(record_id, check)
    except RoomLoadFailed as exc:
        # The client retries later (1011); the record is never served as an empty document.
        code, reason = close_frame(exc)
        registry.metrics.closes.labels(code=str(code)).inc()
        log.info(
            "record %s not served (%d): %s", record_id, code, reason,
            extra={"event": "ws.refused", "record": record_id, "code": code},
        )  # fmt: skip
        await channel.close(code, reason)
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
    # The principal's ids only, never its token; the request id is added by the log's filter.
    who = {"user": principal.user_id, "tenant": principal.tenant_id, "record": record_id}
    log.info(
        "connection %s opened on record %s", connection.id, record_id,
        extra={"event": "ws.open", "connection": connection.id, **who},
    )  # fmt: skip
    client_code: int | None = None  # what the client closed with, when it left first
    try:
        while connection.close_code is None:
            frame = await channel.recv()
            if len(frame) > settings.max_message_bytes:
                raise MessageTooLarge(f"a frame of {len(frame)} bytes")
            if connection.rate is not None and not connection.rate.allow():
                raise TooManyMessages("rate limited")
            room.receive(connection, frame)
    except ChannelClosed as gone:
        client_code = gone.code
    except _PEER_FAULTS as exc:
        log.info("closing connection %s on record %s: %s", connection.id, record_id, exc)
        connection.close(*close_frame(exc))
    except Exception as exc:
        log.exception("connection %s on record %s failed", connection.id, record_id)
        connection.close(*close_frame(exc))
    finally:
        # By the server's close code, or "client" when the peer left first: a bounded label either way.
        closed_by = "client" if connection.close_code is None else str(connection.close_code)
        registry.metrics.closes.labels(code=closed_by).inc()
        registry.leave(room, connection)
        registry.release(room)
        log.info(
            "connection %s on record %s closed (%s)", connection.id, record_id, closed_by,
            extra={
                "event": "ws.close", "connection": connection.id,
                "code": connection.close_code if connection.close_code is not None else client_code,
                "closed_by": "client" if connection.close_code is None else "server", **who,
            },
        )  # fmt: skip
        await connection.stop()
