"""Errors of the room layer.

CollabError
├── MalformedMessage      a frame that does not decode, or an update yrs refuses (close 4400)
├── MessageTooLarge       a frame above the size limit (close 4413)
├── RecordNotFound        no such record in the caller's tenant (close 4404 / HTTP 404)
├── RoomLoadFailed        stored state could not be loaded; the connection is refused, never emptied
├── RoomBroken            something unexpected happened inside a room's document: it is reloaded from storage
└── ConsumerTooSlow       a connection's send queue overflowed (closed so it re-syncs on reconnect)
"""


class CollabError(Exception):
    pass


class MalformedMessage(CollabError):
    pass


class MessageTooLarge(CollabError):
    pass


class RecordNotFound(CollabError):
    pass


class RoomLoadFailed(CollabError):
    pass


class RoomBroken(CollabError):
    """The live document may differ from what is stored (a panic half-way through a transaction, an update
    that did not integrate as admitted): the room is dropped and reloaded, its clients re-sync."""


class ConsumerTooSlow(CollabError):
    pass
