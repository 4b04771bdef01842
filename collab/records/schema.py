"""Field schemas of collections, and checking values against them.

A record's document holds its values in the root map `fields`: plain JSON for scalar fields, a nested
`Text` for `richtext` fields (so concurrent typing merges character by character).

Every value is checked before anything touches a document: besides its type, a value must be one that
Yjs, both databases and every client can hold. yrs panics on an integer beyond 64 bits and on a string
that is not valid Unicode (a lone surrogate, which JSON can spell as `"\\ud800"`), and JavaScript loses
precision beyond 2^53 - 1; NaN and Infinity are not JSON, so no database column or response can carry them.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any

from collab.errors import SchemaError

FIELD_TYPES = ("text", "richtext", "number", "boolean", "date", "select")
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
MAX_TEXT_CHARS = 100_000
# The integers a JavaScript number holds exactly (Number.MAX_SAFE_INTEGER).
MAX_SAFE_INTEGER = 2**53 - 1
_SURROGATE = re.compile("[\ud800-\udfff]")
# Exactly YYYY-MM-DD: date.fromisoformat also takes "20200101", "2020-W01-1" and more.
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class FieldSpec:
    key: str
    label: str
    type: str
    options: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"key": self.key, "label": self.label, "type": self.type}
        if self.type == "select":
            data["options"] = list(self.options)
        return data


def parse_collection(payload: Any) -> tuple[str, str, list[FieldSpec]]:
    """Check a collection definition `{name, label, fields}`; raise `SchemaError` listing every problem."""
    errors: dict[str, str] = {}
    if not isinstance(payload, dict):
        raise SchemaError({"body": "expected a JSON object"})
    name = payload.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        errors["name"] = "1-63 lower-case letters, digits, '_' or '-', starting with a letter"
    label = payload.get("label", name)
    if not isinstance(label, str) or not label.strip() or len(label) > 200 or not valid_unicode(label):
        errors["label"] = "a non-empty string of at most 200 characters"
    raw_fields = payload.get("fields", [])
    specs: list[FieldSpec] = []
    if not isinstance(raw_fields, list) or len(raw_fields) > 200:
        errors["fields"] = "a list of at most 200 field definitions"
        raw_fields = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_fields):
        where = f"fields[{index}]"
        if not isinstance(raw, dict):
            errors[where] = "expected an object"
            continue
        key, kind = raw.get("key"), raw.get("type")
        field_label = raw.get("label", key)
        if not isinstance(key, str) or not _KEY.match(key):
            errors[where] = "key: lower-case letters, digits and '_', starting with a letter"
        elif key in seen:
            errors[where] = f"key {key!r} appears twice"
        elif kind not in FIELD_TYPES:
            errors[where] = f"type must be one of {', '.join(FIELD_TYPES)}"
        elif not isinstance(field_label, str) or not field_label.strip() or not valid_unicode(field_label):
            errors[where] = "label must be a non-empty string"
        else:
            options = raw.get("options", [])
            if kind == "select" and (
                not isinstance(options, list)
                or not options
                or not all(isinstance(o, str) and valid_unicode(o) for o in options)
            ):
                errors[where] = "a select field needs a non-empty list of string options"
                continue
            seen.add(key)
            specs.append(FieldSpec(key, field_label, kind, tuple(options) if kind == "select" else ()))
    if errors:
        raise SchemaError(errors)
    assert isinstance(name, str) and isinstance(label, str)
    return name, label, specs


def specs_from_json(fields: list[dict[str, Any]]) -> list[FieldSpec]:
    return [FieldSpec(f["key"], f["label"], f["type"], tuple(f.get("options", ()))) for f in fields]


def check_values(specs: list[FieldSpec], values: Any) -> dict[str, Any]:
    """Values for a create or an edit: every key known, every value of its field's type (None clears)."""
    if not isinstance(values, dict):
        raise SchemaError({"fields": "expected an object of field values"})
    by_key = {spec.key: spec for spec in specs}
    errors: dict[str, str] = {}
    for key, value in values.items():
        spec = by_key.get(key)
        if spec is None:
            errors[key] = "no such field in this collection"
            continue
        problem = None if value is None else _problem(spec, value)
        if problem:
            errors[key] = problem
    if errors:
        raise SchemaError(errors)
    return dict(values)


def _problem(spec: FieldSpec, value: Any) -> str | None:
    if isinstance(value, str) and not valid_unicode(value):  # before any use of it: it breaks them all
        return "text that is not valid Unicode (a lone surrogate)"
    if spec.type in ("text", "richtext"):
        if not isinstance(value, str):
            return "expected a string"
        if len(value) > MAX_TEXT_CHARS:
            return f"at most {MAX_TEXT_CHARS} characters"
    elif spec.type == "number":
        return _number_problem(value)
    elif spec.type == "boolean":
        if not isinstance(value, bool):
            return "expected true or false"
    elif spec.type == "date":
        if not (isinstance(value, str) and is_date(value)):
            return "expected a date as YYYY-MM-DD"
    elif spec.type == "select" and value not in spec.options:
        return f"expected one of {', '.join(spec.options)}"
    return None


def _number_problem(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "expected a number"
    if isinstance(value, float) and not math.isfinite(value):
        return "expected a finite number"
    if isinstance(value, int) and abs(value) > MAX_SAFE_INTEGER:
        return f"a whole number must be between -{MAX_SAFE_INTEGER} and {MAX_SAFE_INTEGER}"
    return None


def valid_unicode(text: str) -> bool:
    """No lone surrogates: the text can be encoded as UTF-8 (Yjs, both databases, every response)."""
    return _SURROGATE.search(text) is None


def is_date(text: str) -> bool:
    """Exactly `YYYY-MM-DD`, and a real day."""
    if not _DATE.fullmatch(text):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True
