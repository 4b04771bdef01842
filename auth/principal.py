"""Who is calling: the vocabulary the other layers import instead of auth's internals."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

PALETTE = (
    "#e6194b",
    "#3cb44b",
    "#4363d8",
    "#f58231",
    "#911eb4",
    "#42a4b4",
    "#f032e6",
    "#808000",
    "#008080",
    "#9a6324",
    "#800000",
    "#000075",
)


class Role(StrEnum):
    ADMIN = "admin"
    EDITOR = "editor"
    VIEWER = "viewer"


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: str
    tenant_id: str
    tenant_slug: str
    email: str
    name: str
    role: Role
    session_id: str

    @property
    def color(self) -> str:
        """A stable colour per user, so a person looks the same in every presence list."""
        digest = hashlib.sha256(self.user_id.encode()).digest()
        return PALETTE[digest[0] % len(PALETTE)]

    def public(self) -> dict[str, str]:
        return {"id": self.user_id, "name": self.name, "email": self.email}
