"""The vocabulary of Yjs updates (format v1) as :mod:`collab.ycodec.yupdate` decodes them.

An update holds, per client, consecutive structs: an :class:`Item` (content with its position: origins and
parent), a :class:`GC` range (collected content) or a :class:`Skip` (a gap in a merged update), and then a
:class:`DeleteSet`. IDs are ``(client, clock)``; an item covers ``length`` clocks from its ID.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple, TypeAlias


class Undefined(enum.Enum):
    """JavaScript ``undefined``, which lib0 ``writeAny`` and legacy JSON content can carry."""

    UNDEFINED = "undefined"


UNDEFINED = Undefined.UNDEFINED
AnyValue: TypeAlias = (
    bool | int | float | str | bytes | Undefined | list["AnyValue"] | dict[str, "AnyValue"] | None
)


class ID(NamedTuple):
    client: int
    clock: int


class TypeRef(enum.IntEnum):
    ARRAY = 0
    MAP = 1
    TEXT = 2
    XML_ELEMENT = 3
    XML_FRAGMENT = 4
    XML_HOOK = 5
    XML_TEXT = 6


@dataclass(frozen=True, slots=True)
class ContentDeleted:
    length: int


@dataclass(frozen=True, slots=True)
class ContentJSON:
    """Legacy content (ref 2): each element was a JSON string, or the word ``undefined``."""

    values: tuple[AnyValue, ...]

    @property
    def length(self) -> int:
        return len(self.values)


@dataclass(frozen=True, slots=True)
class ContentBinary:
    data: bytes
    length = 1


@dataclass(frozen=True, slots=True)
class ContentString:
    text: str

    @property
    def length(self) -> int:
        if self.text.isascii():
            return len(self.text)
        return len(self.text) + sum(1 for char in self.text if ord(char) > 0xFFFF)  # surrogate pairs


@dataclass(frozen=True, slots=True)
class ContentEmbed:
    value: AnyValue
    length = 1


@dataclass(frozen=True, slots=True)
class ContentFormat:
    key: str
    value: AnyValue
    length = 1


@dataclass(frozen=True, slots=True)
class ContentType:
    """A nested shared type; ``name`` is the node name of an XmlElement or XmlHook."""

    ref: TypeRef
    name: str | None = None
    length = 1


@dataclass(frozen=True, slots=True)
class ContentAny:
    values: tuple[AnyValue, ...]

    @property
    def length(self) -> int:
        return len(self.values)


@dataclass(frozen=True, slots=True)
class ContentDoc:
    guid: str
    opts: AnyValue
    length = 1


Content: TypeAlias = (
    ContentDeleted
    | ContentJSON
    | ContentBinary
    | ContentString
    | ContentEmbed
    | ContentFormat
    | ContentType
    | ContentAny
    | ContentDoc
)


@dataclass(frozen=True, slots=True)
class Item:
    id: ID
    length: int
    origin: ID | None
    right_origin: ID | None
    parent: str | ID | None  # a root type's name, a nested type's item ID, or None (see origin)
    parent_sub: str | None  # the map key, when the parent is a map
    content: Content


@dataclass(frozen=True, slots=True)
class GC:
    """A garbage-collected range: its items existed but nothing of them is left."""

    id: ID
    length: int


@dataclass(frozen=True, slots=True)
class Skip:
    """A gap in a merged update: this range of the client's clock is not part of it."""

    id: ID
    length: int


Struct: TypeAlias = Item | GC | Skip


@dataclass(frozen=True, slots=True)
class DeleteSet:
    """Deleted ranges as ``client -> ((clock, length), ...)`` in encoded order."""

    clients: Mapping[int, tuple[tuple[int, int], ...]]

    def ranges(self) -> list[tuple[int, int, int]]:
        """All ranges as ``(client, clock, length)``."""
        return [(client, clock, n) for client, rs in self.clients.items() for clock, n in rs]


@dataclass(frozen=True, slots=True)
class Update:
    structs: tuple[Struct, ...]  # grouped by client, each client's in clock order
    delete_set: DeleteSet
    # Where the struct section ends in the bytes decoded (the delete set starts there): the same structs
    # may be encoded with another delete set, so this is not part of the update's value.
    structs_end: int = field(compare=False)
