"""Typed origins of changes: who caused an update, and so how it is attributed and stored."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class OriginKind(StrEnum):
    LIVE = "live"
    API = "api"
    RESTORE = "restore"
    CREATE = "create"
    # The server bringing a live edit back within the collection's schema (collab/records/correction.py).
    CORRECTION = "correction"


@dataclass(frozen=True, slots=True)
class Origin:
    kind: OriginKind
    user_id: str | None
    session_id: str | None
    connection_id: int | None = None
    # Why, when the editor said (an HTTP edit or a put-back): kept on each change row of the write, whose
    # history entry then stands alone (a commented change never extends another's burst).
    comment: str | None = None
