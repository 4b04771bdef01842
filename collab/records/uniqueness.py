"""Unique fields: the key a value is compared by, and how a duplicate is named to the person who made it.

A field marked `unique` holds each value at most once per collection. Values are compared by a key: text,
email, url and phone trimmed and case-folded ("Vehicle #50" and " vehicle #50" are the same); numbers as
numbers (5 and 5.0); decimals by their value (persistence keeps them canonical anyway). Long keys are
hashed, so that every key fits the unique index of both databases.

Where a duplicate is caught (docs/architecture.md, "Field types, required and unique"): the table
`unique_values` holds one row per (collection, field, key) with a unique constraint, written with each
commit by the log appender and by the create use-case. A HTTP write is checked before it is applied (409
naming the record that holds the value) and again after it is stored (a concurrent write may have taken
the value meanwhile); a live edit whose value collides is not indexed, and its room puts the previous
value back (collab/live/room.py `_correct_duplicates`) and tells the sender why.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from collab.records import decimals
from collab.records.field_types import TEXT_LIKE
from collab.records.schema import FieldSpec

MAX_KEY_CHARS = 200

# The record's unique values as the index holds them: (field, key) for each unique field with a value.
UniqueKeys = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Holder:
    """The record that already holds a value: its id and its stored summary (for its title)."""

    record_id: str
    summary: Mapping[str, Any] | None


def key_of(spec: FieldSpec, value: Any) -> str | None:
    """The key `value` of a unique field is compared by; None for no value (or none of its type)."""
    key: str | None = None
    if spec.type in TEXT_LIKE and isinstance(value, str):
        key = value.strip().casefold() or None
    elif spec.type == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        key = str(int(value)) if float(value).is_integer() and abs(value) < 2**63 else repr(float(value))
    elif spec.type == "decimal" and isinstance(value, str):
        key = decimals.sort_key(value) or value
    if key is not None and len(key) > MAX_KEY_CHARS:
        key = "#" + hashlib.sha256(key.encode(errors="surrogatepass")).hexdigest()
    return key


def unique_specs(specs: list[FieldSpec] | None) -> list[FieldSpec]:
    return [spec for spec in specs or () if spec.unique]


def keys_of(specs: list[FieldSpec], fields: Mapping[str, Any]) -> UniqueKeys:
    """The (field, key) pairs of a record's unique fields that have a value."""
    found = []
    for spec in specs:
        if spec.unique:
            key = key_of(spec, fields.get(spec.key))
            if key is not None:
                found.append((spec.key, key))
    return tuple(found)


def title_of(specs: list[FieldSpec], summary: Mapping[str, Any] | None) -> str:
    """How a record is named to people: its first text field's value (as `collab/records/titles.py`)."""
    key = next((spec.key for spec in specs if spec.type == "text"), None)
    title = (summary or {}).get(key) if key else None
    return title if isinstance(title, str) and title.strip() else "Untitled"


def duplicate_reason(title: str) -> str:
    """What the person whose live edit was a duplicate is told (message 101)."""
    return f"must be unique: already used by «{title}»"
