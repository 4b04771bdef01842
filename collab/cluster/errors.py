"""Errors of the cluster: where a record's room lives, and the relay between nodes.

    CollabError (collab/errors.py)
    ├── NotOwner              4300  (between nodes only) a relayed socket reached a node that does not own
    │                               the record (any more): the edge node claims again
    ├── OwnerUnreachable      1013  the owner could not be reached twice: the client reconnects later
    ├── OwnershipUnavailable  1013  this node's lock connection is down: it can claim nothing now
    └── OwnedElsewhere   503 / 1013  an HTTP use-case on a record live on another node (forwarded there)

A forged or expired relay header is `auth.errors.Forbidden` (4403).
"""

from __future__ import annotations

from typing import Final

from collab import close_codes
from collab.errors import CollabError

NOT_OWNER: Final = close_codes.NOT_OWNER


class NotOwner(CollabError):
    status = 503
    error_code = "unavailable"
    close_code = NOT_OWNER
    close_reason = "not the owner"


class OwnerUnreachable(CollabError):
    status = 503
    error_code = "unavailable"
    close_code = close_codes.TRY_AGAIN_LATER
    close_reason = "try again later"


class OwnershipUnavailable(CollabError):
    status = 503
    error_code = "unavailable"
    close_code = close_codes.TRY_AGAIN_LATER
    close_reason = "try again later"


class OwnedElsewhere(CollabError):
    """A use-case (an HTTP edit, a restore) on a record whose room is live on another node: that node must
    apply it. `address` is the owner's internal "host:port": web/relay_http.py forwards the request there;
    unforwarded (a request relayed here already), the caller tries again."""

    status = 503
    error_code = "unavailable"
    close_code = close_codes.TRY_AGAIN_LATER
    close_reason = "try again later"

    def __init__(self, message: str, address: str | None = None) -> None:
        super().__init__(message)
        self.address = address
