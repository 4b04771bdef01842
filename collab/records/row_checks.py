"""The checks of an imported row that need the database, as an HTTP create makes them: persons and links
that exist in the tenant (`references.check_references`), unique values nobody holds
(`unique_claims.check_free`), and, within the file, a unique value only once (the first row keeps it).

Only fields the import fills are checked, and only rows that passed the schema: a file without person,
link or unique columns costs no query.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from collab.errors import DuplicateValue, SchemaError
from collab.records.references import check_references
from collab.records.schema import FieldSpec
from collab.records.unique_claims import check_free
from collab.records.uniqueness import key_of, unique_specs


class RowChecks:
    def __init__(
        self, tenant_id: str, collection_id: str, specs: list[FieldSpec], filled: Iterable[str]
    ) -> None:
        keys = set(filled)
        self._tenant_id = tenant_id
        self._collection_id = collection_id
        self._specs = specs
        self._references = [s for s in specs if s.key in keys and s.type in ("person", "link")]
        self._unique = [s for s in unique_specs(specs) if s.key in keys]
        self._seen: dict[tuple[str, str], int] = {}  # (field, key) -> the row that has it

    @property
    def needed(self) -> bool:
        return bool(self._references or self._unique)

    async def problems(self, session: AsyncSession, row: int, values: Mapping[str, Any]) -> dict[str, str]:
        """What is wrong with row `row` (1-based) whose values passed the schema: field key -> message."""
        problems: dict[str, str] = {}
        if self._references:
            try:
                await check_references(session, self._tenant_id, self._references, values)
            except SchemaError as error:
                problems.update(error.errors)
        for spec in self._unique:
            key = key_of(spec, values.get(spec.key))
            if key is None:
                continue
            first = self._seen.setdefault((spec.key, key), row)
            if first != row:
                problems.setdefault(spec.key, f"must be unique: row {first} has the same value")
        if self._unique and not problems:
            try:
                await check_free(session, None, self._tenant_id, self._collection_id, self._specs, values)
            except DuplicateValue as duplicate:
                problems[duplicate.field] = f"must be unique: already used by «{duplicate.record_title}»"
        return problems
