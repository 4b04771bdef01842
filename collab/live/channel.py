"""The transport seam: a room talks to a `Channel`, never to ASGI.

`web/` adapts a Starlette WebSocket to it; tests use an in-memory pair.
"""

from typing import Protocol


class ChannelClosed(Exception):
    """The peer went away: `recv` has nothing more to give."""


class Channel(Protocol):
    async def send(self, message: bytes) -> None:
        """Send one binary frame."""

    async def recv(self) -> bytes:
        """Return the next binary frame; raise `ChannelClosed` when the peer is gone.

        A text frame raises `collab.errors.MalformedMessage`.
        """

    async def close(self, code: int, reason: str = "") -> None:
        """Close with a code; closing twice is harmless."""
