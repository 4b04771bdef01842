"""Errors of the room layer.

CollabError
├── MalformedMessage      a frame that does not decode, or an update yrs refuses (close 4400)
├── MessageTooLarge       a frame above the size limit (close 4413)
├── RecordNotFound        no such record in the caller's tenant (close 4404 / HTTP 404)
├── RoomLoadFailed        stored state could not be loaded; the connection is refused, never emptied
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


class ConsumerTooSlow(CollabError):
    pass
