"""JSON as both databases store it, and as every reader can take it back.

Python's `json` writes `NaN` and `Infinity`, which PostgreSQL's `json` refuses (so a batch holding one
could never commit) and SQLite stores (so every later read of the row failed to render). A string with a
lone surrogate (`"\\ud800"`) is worse: PostgreSQL's `json` keeps the escape, a text column takes neither,
and no response can encode it. So:

- `dumps` is for what a write brings: it refuses such values with `UnstorableValue`, and the writer refuses
  that one write. The engines use it as their `json_serializer`.
- `dumps_derived` / `derived_text` are for values derived from a whole document (a record's list summary
  and search text, the feed's event fields): those hold whatever the document holds, and refusing them
  would lock a record whose stored state already has such a value; so non-finite numbers become `null` and
  lone surrogates U+FFFD.
- `loads` is for reading (the engines' `json_deserializer`): rows written before these rules may hold
  `Infinity`, `NaN`, `1e999` or lone surrogates; they are read as `null` and U+FFFD, in this one place.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Callable
from typing import Any

from persistence.errors import UnstorableValue

_SURROGATE = re.compile("[\ud800-\udfff]")
# In JSON text a surrogate can only appear as an escape; a valid pair decodes to one character.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def dumps(value: Any, default: Callable[[Any], Any] | None = None) -> str:
    """Compact JSON for a column; `UnstorableValue` for NaN, ±Infinity or a lone surrogate anywhere."""
    try:
        # ensure_ascii=False keeps text readable and lets a lone surrogate show as itself (below);
        # control characters, NUL included, are still escaped, as PostgreSQL needs.
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=default)
    except ValueError as exc:  # "Out of range float values are not JSON compliant" (the value is not named)
        raise UnstorableValue(f"not storable as JSON: {exc}") from None
    except RecursionError:
        raise UnstorableValue("a value nested too deeply") from None
    if _has_lone_surrogate(text):
        raise UnstorableValue("text that is not valid Unicode (a lone surrogate)")
    return text


def dumps_derived(value: Any, default: Callable[[Any], Any] | None = None) -> str:
    """Like `dumps`, with non-finite numbers written as null and lone surrogates as U+FFFD."""
    try:
        return dumps(value, default)
    except UnstorableValue:
        return dumps(_repaired(value), default)


def derived_text(text: str) -> str:
    """Text for a text column: lone surrogates become U+FFFD."""
    return _SURROGATE.sub("\ufffd", text) if _has_lone_surrogate(text) else text


def _has_lone_surrogate(text: str) -> bool:
    # Checked on every keystroke's whole text (a long field's `after`): isascii costs ~0.3 us at any length;
    # UTF-8 encoding, which fails only on a lone surrogate, ~0.2 ms at 300,000 characters that are not all
    # ASCII, where the regex took 0.4 to 1.9 ms.
    if text.isascii():
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return True
    return False


def loads(text: str | bytes) -> Any:
    """Read a stored JSON value; non-finite numbers are read as None, lone surrogates as U+FFFD."""
    value = json.loads(text, parse_constant=_no_constant, parse_float=_finite_or_none)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return _repaired(value) if _SURROGATE_ESCAPE.search(text) else value


def _no_constant(_name: str) -> None:
    return None


def _finite_or_none(literal: str) -> float | None:
    number = float(literal)
    return number if math.isfinite(number) else None


def _repaired(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return derived_text(value)
    if isinstance(value, dict):
        return {derived_text(key) if isinstance(key, str) else key: _repaired(v) for key, v in value.items()}
    if isinstance(value, list | tuple):
        return [_repaired(item) for item in value]
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    return value


def check_text(text: str) -> None:
    """`UnstorableValue` for a text `dumps` would refuse (a lone surrogate), without encoding it."""
    if _has_lone_surrogate(text):
        raise UnstorableValue("text that is not valid Unicode (a lone surrogate)")
