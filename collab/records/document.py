"""How a record's values live in its Yjs document (root map `fields`), both ways."""

from __future__ import annotations

import base64
import math
from typing import Any

from pycrdt import Doc, Map, Text

from collab.records.schema import FieldSpec

FIELDS = "fields"


def fields_map(doc: Doc) -> Map:
    return doc.get(FIELDS, type=Map)


def read_fields(doc: Doc) -> dict[str, Any]:
    """The fields as JSON; Yjs numbers are doubles, so whole numbers are given back as integers."""
    values = fields_map(doc).to_py() or {}
    return {key: tidy(value) for key, value in values.items()}


def _same(current: Any, value: Any) -> bool:
    # bool is an int in Python, and Yjs gives numbers back as floats: compare like with like.
    if isinstance(current, bool) or isinstance(value, bool):
        return current is value
    if isinstance(current, int | float) and isinstance(value, int | float):
        return current == value
    return type(current) is type(value) and current == value


def tidy(value: Any) -> Any:
    """JSON-ready: whole doubles as integers, and bytes (which a client may store) as base64 text."""
    if isinstance(value, float) and not math.isfinite(value):
        return None  # stored before such values were refused: JSON cannot say them
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {key: tidy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [tidy(item) for item in value]
    return value


def write_fields(doc: Doc, specs: list[FieldSpec], values: dict[str, Any]) -> bytes:
    """Set values in one transaction and return that transaction's update (to apply elsewhere or store).

    A value equal to the current one is left alone: rewriting it would be a change in the history and,
    for rich text, would move everyone's cursor."""
    types = {spec.key: spec.type for spec in specs}
    before = doc.get_state()
    target = fields_map(doc)
    current_values = read_fields(doc)
    with doc.transaction():
        for key, value in values.items():
            if key in current_values and _same(current_values[key], value):
                continue
            if value is None:
                if key in target:
                    del target[key]
            elif types.get(key) == "richtext":
                current = target.get(key)
                if isinstance(current, Text):
                    # Replace the content in place, so people typing in the field keep their cursors.
                    del current[:]
                    current += value
                else:
                    target[key] = Text(value)
            else:
                target[key] = value
    return doc.get_update(before)


SUMMARY_TEXT_CHARS = 200
SEARCH_TEXT_CHARS = 4000


def summarize(fields: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The values a list shows (long texts shortened) and the lower-cased text search looks in."""
    summary = {
        key: value[:SUMMARY_TEXT_CHARS] + "…"
        if isinstance(value, str) and len(value) > SUMMARY_TEXT_CHARS
        else value
        for key, value in fields.items()
    }
    words = " ".join(value for value in fields.values() if isinstance(value, str))
    # PostgreSQL text cannot hold NUL, and a batch that cannot commit would hold back every update.
    return summary, words.replace("\x00", "").lower()[:SEARCH_TEXT_CHARS]
