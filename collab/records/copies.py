"""What a duplicate of a record starts with: the values of the original that a new record may take.

A copy must never be refused for being a copy: a field marked `unique` is left empty (the original holds
that value), and a value that no longer fits its field (the schema changed since it was written) is left
out rather than failing the whole copy. Rich text is copied as its text (`read_fields` gives strings).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from collab.errors import SchemaError
from collab.records.schema import FieldSpec, check_values


def copyable_values(specs: list[FieldSpec], values: Mapping[str, Any]) -> dict[str, Any]:
    """The values of `values` a new record of this collection takes, by field of `specs`."""
    copied: dict[str, Any] = {}
    for spec in specs:
        value = values.get(spec.key)
        if value is None or getattr(spec, "unique", False):
            continue
        try:
            copied.update(check_values([spec], {spec.key: value}))
        except SchemaError:
            continue
    return copied
