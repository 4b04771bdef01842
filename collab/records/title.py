"""A record's title as people know it: its first text field's value, from the stored summary."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def title_of(summary: Mapping[str, Any] | None, specs: Iterable[Mapping[str, Any]] | None) -> str | None:
    """The value of the collection's first text field (`specs`: the collection's field JSON), or None."""
    key = next((spec.get("key") for spec in specs or () if spec.get("type") == "text"), None)
    title = (summary or {}).get(key) if isinstance(key, str) else None
    return title if isinstance(title, str) and title.strip() else None
