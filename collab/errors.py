"""Errors of collab, and the one function that turns any exception into a WebSocket close frame.

Every error class knows how it is answered: `status` (HTTP; None for a base class or a bug, which is no
answer of its own: a 500 with its traceback logged), `error_code` (the `error` of an HTTP error body),
`close_code` and `close_reason` (a WebSocket close frame; a reason of None means the message is the reason,
so only errors whose messages are meant for the client leave it None). `web/errors.py` renders the HTTP
answer, `close_frame` below the close frame: nothing else chooses a status or a close code.

    CollabError                   500 / 1011  base class
    ├── MalformedMessage          400 / 4400  a frame that does not decode, or an update refused
    │                                         (`UpdateRefused`, collab/live/admission.py, says why)
    ├── MessageTooLarge           413 / 4413  a frame above the size limit
    ├── TooManyMessages           429 / 4429  a connection over its message rate
    ├── RecordNotFound            404 / 4404  no such record in the caller's tenant (the same answer for
    │   │                                     a foreign one)
    │   ├── RecordDeleted         404 / 4404  deleted while its room was open ("record deleted")
    │   └── SnapshotNotFound      404 / 4404  no such snapshot of this record
    ├── RecordRestored            409 / 4409  a socket whose copy of the record comes from another epoch (the
    │                                         record was restored since): nothing of it is applied
    ├── ChangeNotFound            404 / 4404  no such entry in this record's history
    ├── ConflictSettled           409 / 4400  the conflict was settled already (by someone else)
    ├── CollectionNotFound        404 / 4404  no such collection in the caller's tenant
    ├── CollectionExists          409 / 4400  a create that would duplicate
    ├── RecordIdTaken             409 / 4400  a client-chosen record id that is not the caller's own
    │                                         earlier create of that record
    ├── DuplicateValue            409 / 4400  a value of a unique field that another record holds
    ├── SchemaError               422 / 4400  values that do not fit; `errors` says why, per field
    ├── InvalidArgument           400 / 4400  a parameter the use-case cannot take
    │   └── CsvInvalid            400 / 4400  an uploaded CSV that cannot be read (encoding, rows, mapping)
    ├── PreconditionRequired      428 / 4400  a change sent without If-Match
    ├── PreconditionFailed        412 / 4400  If-Match is not the current tag; carries the fields and tag
    ├── RoomLoadFailed            503 / 1011  stored state could not be loaded: refused, never emptied
    ├── RoomBroken                503 / 4400  the live document may differ from storage: it is reloaded
    │                                         (its other clients reconnect; the sender is refused)
    └── ConsumerTooSlow           503 / 1013  a connection's send queue overflowed or stalled (it re-syncs
                                              on reconnect)

The 44xx codes are final for y-websocket clients; 4400 stands for every refusal without a code of its own.
Errors of auth and persistence carry the same attributes (auth/errors.py, persistence/errors.py).
"""

from __future__ import annotations

from typing import Any, ClassVar

from auth.errors import AuthError
from collab import close_codes
from persistence.errors import PersistenceError

# A close frame's reason is at most 123 bytes of UTF-8 (RFC 6455); a little less leaves room to spare.
_MAX_REASON_BYTES = 120


class CollabError(Exception):
    status: ClassVar[int | None] = None
    error_code: ClassVar[str] = "internal"
    close_code: ClassVar[int] = close_codes.INTERNAL_ERROR
    close_reason: ClassVar[str | None] = "internal error"


class MalformedMessage(CollabError):
    status = 400
    error_code = "bad_request"
    close_code = close_codes.MALFORMED
    close_reason: ClassVar[str | None] = "malformed message"


class MessageTooLarge(CollabError):
    status = 413
    error_code = "too_large"
    close_code = close_codes.TOO_LARGE
    close_reason = "message too large"


class TooManyMessages(CollabError):
    status = 429
    error_code = "too_many_attempts"
    close_code = close_codes.RATE_LIMITED
    close_reason = "too many messages"


class RecordNotFound(CollabError):
    status = 404
    error_code = "not_found"
    close_code = close_codes.NOT_FOUND
    close_reason = "no such record"


class RecordRestored(CollabError):
    """A connection's copy of the record comes from an epoch before the record's stored one (a restore)."""

    status = 409
    error_code = "record_restored"
    close_code = close_codes.RESTORED
    close_reason = "record was restored: reload"


class RecordDeleted(RecordNotFound):
    """Told to the live connections of a record as it is deleted."""

    close_reason = "record deleted"


class SnapshotNotFound(RecordNotFound):
    """No such snapshot of this record; a subclass so that it is answered exactly like a missing record."""


class ChangeNotFound(CollabError, LookupError):
    status = 404
    error_code = "not_found"
    close_code = close_codes.NOT_FOUND
    close_reason = None


class ConflictSettled(CollabError):
    """Someone settled the conflict already (kept the winner or put the lost value back)."""

    status = 409
    error_code = "conflict"
    close_code = close_codes.MALFORMED
    close_reason = None


class CollectionNotFound(CollabError, LookupError):
    status = 404
    error_code = "not_found"
    close_code = close_codes.NOT_FOUND
    close_reason = None


class CollectionExists(CollabError, ValueError):
    status = 409
    error_code = "conflict"
    close_code = close_codes.MALFORMED
    close_reason = None


class RecordIdTaken(CollabError, ValueError):
    """The id a client chose for a new record holds another record (whose, is not said)."""

    status = 409
    error_code = "conflict"
    close_code = close_codes.MALFORMED
    close_reason = None

    def __init__(self) -> None:
        super().__init__("this id belongs to another record: create it with a new id")


class DuplicateValue(CollabError, ValueError):
    """A unique field's value that another record of the collection holds: the answer names that record
    (`record_id`, `record_title`), so the person can open it."""

    status = 409
    error_code = "duplicate_value"
    close_code = close_codes.MALFORMED
    close_reason = None

    def __init__(self, field: str, record_id: str, record_title: str) -> None:
        super().__init__(f"{field}: must be unique: already used by «{record_title}»")
        self.field = field
        self.record_id = record_id
        self.record_title = record_title


class SchemaError(CollabError, ValueError):
    """Values that do not fit; `errors` maps each offending field (or `fields`) to a message."""

    status = 422
    error_code = "invalid"
    close_code = close_codes.MALFORMED
    close_reason = None

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{key}: {message}" for key, message in errors.items()))
        self.errors = errors


class InvalidArgument(CollabError, ValueError):
    status = 400
    error_code = "bad_request"
    close_code = close_codes.MALFORMED
    close_reason = None


class CsvInvalid(InvalidArgument):
    """An uploaded CSV that cannot be read at all, or a column mapping that does not fit it."""

    error_code = "invalid_csv"


class PreconditionRequired(CollabError):
    status = 428
    error_code = "precondition_required"
    close_code = close_codes.MALFORMED
    close_reason = None


class PreconditionFailed(CollabError):
    """The record changed since the caller read it: the answer shows it as it is now, with its tag."""

    status = 412
    error_code = "precondition_failed"
    close_code = close_codes.MALFORMED
    close_reason = None

    def __init__(self, fields: dict[str, Any], etag: str) -> None:
        super().__init__("the record changed since it was read; here it is as it is now")
        self.fields = fields
        self.etag = etag


class RoomLoadFailed(CollabError):
    status = 503
    error_code = "unavailable"
    close_code = close_codes.INTERNAL_ERROR  # the client retries; the record is never served empty
    close_reason = "record could not be loaded"


class RoomBroken(CollabError):
    """The live document may differ from what is stored (a panic half-way through a transaction, an update
    that did not integrate as admitted): the room is dropped and reloaded, its clients re-sync. The
    connection whose update did it is refused like a malformed message."""

    status = 503
    error_code = "unavailable"
    close_code = close_codes.MALFORMED
    close_reason = "malformed message"


class ConsumerTooSlow(CollabError):
    status = 503
    error_code = "unavailable"
    close_code = close_codes.TRY_AGAIN_LATER
    close_reason = None


def close_frame(exc: BaseException) -> tuple[int, str]:
    """The close code and reason that tell a WebSocket client about `exc`; 1011 for anything untyped (its
    message may hold internals, so the client is told only "internal error")."""
    if isinstance(exc, CollabError | AuthError | PersistenceError):
        reason = exc.close_reason if exc.close_reason is not None else str(exc)
        return exc.close_code, reason.encode()[:_MAX_REASON_BYTES].decode(errors="ignore")
    return close_codes.INTERNAL_ERROR, "internal error"
