"""The transport seam: a room talks to a `Channel`, never to ASGI.

`web/` adapts a Starlette WebSocket to it; tests use an in-memory pair.
"""

from typing import Protocol


class ChannelClosed(Exception):
    """The peer went away: `recv` has nothing more to give. `code` is the close code the peer sent, when it
    sent one (None when the connection just dropped)."""

    def __init__(self, code: int | None = None) -> None:
        super().__init__(f"closed by the peer ({code})" if code is not None else "closed by the peer")
        self.code = code


class Channel(Protocol):
    async def send(self, message: bytes) -> None:
        """Send one binary frame. It may be started outside any task and finished in another (see
        `collab/live/connection.py`): it must not depend on the task it runs in."""

    async def recv(self) -> bytes:
        """Return the next binary frame; raise `ChannelClosed` when the peer is gone.

        A text frame raises `collab.errors.MalformedMessage`.
        """

    async def close(self, code: int, reason: str = "") -> None:
        """Close with a code; closing twice is harmless."""
