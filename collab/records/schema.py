"""Field schemas of collections, and checking values against them.

A record's document holds its values in the root map `fields`: plain JSON for scalar fields, a nested
`Text` for `richtext` fields (so concurrent typing merges character by character).

Every value is checked before anything touches a document: besides its type, a value must be one that
Yjs, both databases and every client can hold. yrs panics on an integer beyond 64 bits and on a string
that is not valid Unicode (a lone surrogate, which JSON can spell as `"\\ud800"`), and JavaScript loses
precision beyond 2^53 - 1; NaN and Infinity are not JSON, so no database column or response can carry them.

The rules of each type's values are in collab/records/field_types.py (decimals in decimals.py); here are
the field definitions (`FieldSpec`) and the checks of a whole write: every key known, every value of its
type (and put in its stored form), required fields present, archived fields left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from collab.errors import SchemaError
from collab.records import decimals
from collab.records.field_types import (
    MAX_SAFE_INTEGER,
    TEXT_LIKE,
    is_date,
    is_empty,
    normalized,
    problem,
    valid_unicode,
)

__all__ = [
    "FIELD_TYPES",
    "MAX_SAFE_INTEGER",
    "MAX_TEXT_CHARS",
    "FieldSpec",
    "check_values",
    "is_date",
    "parse_collection",
    "parse_field",
    "specs_from_json",
    "valid_unicode",
]

FIELD_TYPES = (
    "text",
    "richtext",
    "number",
    "boolean",
    "date",
    "select",
    "email",
    "url",
    "phone",
    "multiselect",
    "decimal",
    "person",
    "link",
)
# The types whose values `unique` can compare (collab/records/uniqueness.py says how).
UNIQUE_TYPES = (*TEXT_LIKE, "number", "decimal")
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
# A multi-valued field's items are listed under `key#n` (persistence/record_values.py): room for `#99`.
MAX_LIST_KEY_CHARS = 60
MAX_TEXT_CHARS = 100_000
MAX_OPTIONS = 200


@dataclass(frozen=True)
class FieldSpec:
    """One field of a collection, as stored in `collections.fields` (only what differs from the defaults
    is stored, so collections defined before these options read back unchanged)."""

    key: str
    label: str
    type: str
    options: tuple[str, ...] = ()  # select, multiselect
    scale: int | None = None  # decimal: digits after the point (None: the default, 2)
    target: str | None = None  # link: the name of the collection it links to
    many: bool = False  # link: more than one record
    required: bool = False
    unique: bool = False
    archived: bool = False

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"key": self.key, "label": self.label, "type": self.type}
        if self.type in ("select", "multiselect"):
            data["options"] = list(self.options)
        if self.type == "decimal":
            data["scale"] = decimals.DEFAULT_SCALE if self.scale is None else self.scale
        if self.type == "link":
            data["target"] = self.target
            data["many"] = self.many
        for flag in ("required", "unique", "archived"):
            if getattr(self, flag):
                data[flag] = True
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
    if not valid_label(label):
        errors["label"] = "a non-empty string of at most 200 characters"
    specs = parse_fields(payload.get("fields", []), errors)
    if errors:
        raise SchemaError(errors)
    assert isinstance(name, str) and isinstance(label, str)
    return name, label, specs


def valid_label(label: Any) -> bool:
    return isinstance(label, str) and bool(label.strip()) and len(label) <= 200 and valid_unicode(label)


def parse_fields(raw_fields: Any, errors: dict[str, str]) -> list[FieldSpec]:
    """The field definitions of a list, each problem added to `errors` as `fields[i]`."""
    specs: list[FieldSpec] = []
    if not isinstance(raw_fields, list) or len(raw_fields) > 200:
        errors["fields"] = "a list of at most 200 field definitions"
        return specs
    seen: set[str] = set()
    for index, raw in enumerate(raw_fields):
        where = f"fields[{index}]"
        try:
            spec = parse_field(raw)
        except ValueError as exc:
            errors[where] = str(exc)
            continue
        if spec.key in seen:
            errors[where] = f"key {spec.key!r} appears twice"
            continue
        seen.add(spec.key)
        specs.append(spec)
    return specs


def parse_field(raw: Any) -> FieldSpec:
    """One field definition; `ValueError` with what is wrong (the first problem found)."""
    if not isinstance(raw, dict):
        raise ValueError("expected an object")
    key, kind = raw.get("key"), raw.get("type")
    field_label = raw.get("label", key)
    if not isinstance(key, str) or not _KEY.match(key):
        raise ValueError("key: lower-case letters, digits and '_', starting with a letter")
    if kind not in FIELD_TYPES:
        raise ValueError(f"type must be one of {', '.join(FIELD_TYPES)}")
    if not isinstance(field_label, str) or not field_label.strip() or not valid_unicode(field_label):
        raise ValueError("label must be a non-empty string")
    flags = {}
    for flag in ("required", "unique", "archived", "many"):
        value = raw.get(flag, False)
        if not isinstance(value, bool):
            raise ValueError(f"{flag} must be true or false")
        flags[flag] = value
    if flags["unique"] and kind not in UNIQUE_TYPES:
        raise ValueError(f"unique fits only fields of type {', '.join(UNIQUE_TYPES)}")
    options: tuple[str, ...] = ()
    if kind in ("select", "multiselect"):
        raw_options = raw.get("options", [])
        if (
            not isinstance(raw_options, list)
            or not raw_options
            or len(raw_options) > MAX_OPTIONS
            or not all(isinstance(o, str) and o and valid_unicode(o) for o in raw_options)
            or len(set(raw_options)) != len(raw_options)
        ):
            raise ValueError(f"a {kind} field needs a list of 1 to {MAX_OPTIONS} distinct, non-empty options")
        options = tuple(raw_options)
    scale = None
    if kind == "decimal":
        scale = raw.get("scale", decimals.DEFAULT_SCALE)
        if isinstance(scale, bool) or not isinstance(scale, int) or not 0 <= scale <= decimals.MAX_SCALE:
            raise ValueError(f"scale: a whole number from 0 to {decimals.MAX_SCALE}")
    target = None
    if kind == "link":
        target = raw.get("target")
        if not isinstance(target, str) or not _NAME.match(target):
            raise ValueError("a link field needs a target: the name of a collection")
    if kind in ("multiselect", "link") and len(key) > MAX_LIST_KEY_CHARS:
        raise ValueError(f"the key of a {kind} field has at most {MAX_LIST_KEY_CHARS} characters")
    return FieldSpec(
        key,
        field_label,
        kind,
        options,
        scale,
        target,
        flags["many"] if kind == "link" else False,
        flags["required"],
        flags["unique"],
        flags["archived"],
    )


def specs_from_json(fields: list[dict[str, Any]]) -> list[FieldSpec]:
    return [
        FieldSpec(
            f["key"],
            f["label"],
            f["type"],
            tuple(f.get("options", ())),
            f.get("scale"),
            f.get("target"),
            bool(f.get("many", False)),
            bool(f.get("required", False)),
            bool(f.get("unique", False)),
            bool(f.get("archived", False)),
        )
        for f in fields
    ]


def check_values(specs: list[FieldSpec], values: Any) -> dict[str, Any]:
    """Values for a create or an edit: every key known, every value of its field's type (None clears), in
    the form it is stored in (a decimal's canonical string). Required fields are checked by
    `check_required`, archived ones by `check_not_archived`: a live correction checks single values."""
    if not isinstance(values, dict):
        raise SchemaError({"fields": "expected an object of field values"})
    by_key = {spec.key: spec for spec in specs}
    errors: dict[str, str] = {}
    checked: dict[str, Any] = {}
    for key, value in values.items():
        spec = by_key.get(key)
        if spec is None:
            errors[key] = "no such field in this collection"
            continue
        found = None if value is None else _problem(spec, value)
        if found:
            errors[key] = found
        else:
            checked[key] = None if value is None else normalized(spec, value)
    if errors:
        raise SchemaError(errors)
    return checked


def check_write(specs: list[FieldSpec], values: Any, *, creating: bool) -> dict[str, Any]:
    """An HTTP write's values: `check_values`, `check_required` and `check_not_archived` at once, every
    problem of the three named in one `SchemaError`."""
    errors: dict[str, str] = {}
    checked: dict[str, Any] = {}
    try:
        checked = check_values(specs, values)
    except SchemaError as exc:
        errors.update(exc.errors)
    given = values if isinstance(values, dict) else {}
    for check in (
        lambda: check_required(specs, given, creating=creating),
        lambda: check_not_archived(specs, {k: v for k, v in given.items() if v is not None or not creating}),
    ):
        try:
            check()
        except SchemaError as exc:
            errors.update({key: message for key, message in exc.errors.items() if key not in errors})
    if errors:
        raise SchemaError(errors)
    return checked


def check_required(specs: list[FieldSpec], values: dict[str, Any], *, creating: bool) -> None:
    """`SchemaError` naming each required field a write leaves empty: a create that does not give it, an
    edit that sets it to null, "" or []. Archived fields are hidden from forms, so never required."""
    errors = {
        spec.key: "required"
        for spec in specs
        if spec.required
        and not spec.archived
        and (spec.key in values or creating)
        and is_empty(values.get(spec.key))
    }
    if errors:
        raise SchemaError(errors)


def check_not_archived(specs: list[FieldSpec], values: dict[str, Any]) -> None:
    """An archived field's data is kept as it is: no HTTP write may change it."""
    archived = {spec.key for spec in specs if spec.archived}
    errors = {key: "archived" for key in values if key in archived}
    if errors:
        raise SchemaError(errors)


def _problem(spec: FieldSpec, value: Any) -> str | None:
    if isinstance(value, str) and not valid_unicode(value):  # before any use of it: it breaks them all
        return "text that is not valid Unicode (a lone surrogate)"
    if isinstance(value, list) and any(isinstance(item, str) and not valid_unicode(item) for item in value):
        return "text that is not valid Unicode (a lone surrogate)"
    return problem(spec, value, MAX_TEXT_CHARS)
