"""Editing a collection's schema (admins): what may change, and what never does.

The new list of fields is given whole, in its new order. Keys never change and no field is removed (it is
archived instead: hidden, its data kept), so every value stored under a key keeps its meaning. New keys are
added; labels, order, select options, `required` and `archived` may change. A field's type, a link's
target and a decimal's scale cannot (stored values would no longer read as they were written).
`unique` may be turned on for a field whose stored values are all different (`newly_unique`: the caller
indexes them, collab/records/unique_claims.py `index_field`) and off at any time. Values no longer among a
select's options stay stored and are shown as they are.
"""

from __future__ import annotations

from typing import Any

from collab.errors import SchemaError
from collab.records.field_types import scale_of
from collab.records.schema import FieldSpec, parse_fields, valid_label


def parse_change(current: list[FieldSpec], payload: Any) -> tuple[str | None, list[FieldSpec]]:
    """The new label (None: unchanged) and fields of `PATCH /api/collections/{name}`; `SchemaError`
    listing every problem."""
    if not isinstance(payload, dict):
        raise SchemaError({"body": "expected a JSON object"})
    errors: dict[str, str] = {}
    label = payload.get("label")
    if label is not None and not valid_label(label):
        errors["label"] = "a non-empty string of at most 200 characters"
    if "fields" not in payload:
        errors["fields"] = "the whole list of fields, in the new order"
    specs = parse_fields(payload.get("fields", []), errors)
    given = {spec.key for spec in specs}
    missing = [spec.key for spec in current if spec.key not in given]
    if missing and "fields" not in errors:
        errors["fields"] = f"fields cannot be removed; archive them ({', '.join(missing)})"
    before = {spec.key: spec for spec in current}
    for index, spec in enumerate(specs):
        old = before.get(spec.key)
        if old is None:
            continue
        problem = _changed(old, spec)
        if problem is not None:
            errors[f"fields[{index}]"] = problem
    if errors:
        raise SchemaError(errors)
    return label, specs


def _changed(old: FieldSpec, new: FieldSpec) -> str | None:
    """Why `new` cannot replace `old` (same key), or None."""
    if new.type != old.type:
        return f"the type of {old.key!r} cannot change (it is {old.type})"
    if new.type == "link" and new.target != old.target:
        return f"the target of {old.key!r} cannot change (it is {old.target})"
    if new.type == "decimal" and scale_of(new) != scale_of(old):
        return f"the scale of {old.key!r} cannot change (it is {old.scale})"
    return None


def added(current: list[FieldSpec], specs: list[FieldSpec]) -> list[FieldSpec]:
    keys = {spec.key for spec in current}
    return [spec for spec in specs if spec.key not in keys]


def newly_unique(current: list[FieldSpec], specs: list[FieldSpec]) -> list[FieldSpec]:
    before = {spec.key: spec for spec in current}
    return [spec for spec in specs if spec.unique and spec.key in before and not before[spec.key].unique]


def no_longer_unique(current: list[FieldSpec], specs: list[FieldSpec]) -> list[str]:
    now = {spec.key: spec for spec in specs}
    return [spec.key for spec in current if spec.unique and not now[spec.key].unique]
