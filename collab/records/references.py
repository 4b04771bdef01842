"""Values that name other rows: a `person` field names a user, a `link` field records of its target.

Checked for HTTP writes (create, PATCH, imports) in the caller's session, against the caller's tenant only,
so another tenant's user or record is refused exactly like one that does not exist. A deleted user is no
person anyone can be assigned; a linked record that was deleted may stay in a list (the link shows it as
deleted), so records are looked up whether deleted or not. Live edits are checked for their shape only
(collab/records/correction.py): a room cannot wait for the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from collab.errors import SchemaError
from collab.records.schema import FieldSpec
from persistence.models import Collection, Record, User


async def check_references(
    session: AsyncSession, tenant_id: str, specs: list[FieldSpec], values: Mapping[str, Any]
) -> None:
    """`SchemaError` naming each person or link field whose value names what the tenant does not have."""
    errors: dict[str, str] = {}
    for spec in specs:
        value = values.get(spec.key)
        if value is None or value == []:
            continue
        if spec.type == "person" and not await _user_exists(session, tenant_id, value):
            errors[spec.key] = "no such user"
        elif spec.type == "link":
            missing = await _missing_records(session, tenant_id, spec.target or "", list(value))
            if missing:
                errors[spec.key] = f"no such record in {spec.target}: {', '.join(sorted(missing)[:3])}"
    if errors:
        raise SchemaError(errors)


async def _user_exists(session: AsyncSession, tenant_id: str, user_id: str) -> bool:
    found = await session.scalar(
        select(User.id).where(User.id == user_id, User.tenant_id == tenant_id, User.deleted_at.is_(None))
    )
    return found is not None


async def _missing_records(session: AsyncSession, tenant_id: str, target: str, ids: list[str]) -> set[str]:
    found = await session.scalars(
        select(Record.id)
        .join(Collection, Collection.id == Record.collection_id)
        .where(
            Record.tenant_id == tenant_id,
            Collection.tenant_id == tenant_id,
            Collection.name == target,
            Record.id.in_(ids),
        )
    )
    return set(ids) - set(found)


async def missing_targets(session: AsyncSession, tenant_id: str, specs: list[FieldSpec]) -> dict[str, str]:
    """The link fields whose target collection the tenant does not have, with why (for a definition)."""
    targets = {spec.target for spec in specs if spec.type == "link" and spec.target}
    if not targets:
        return {}
    found = set(
        await session.scalars(
            select(Collection.name).where(Collection.tenant_id == tenant_id, Collection.name.in_(targets))
        )
    )
    return {
        spec.key: f"no collection {spec.target!r} to link to"
        for spec in specs
        if spec.type == "link" and spec.target not in found
    }
