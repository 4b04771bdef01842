"""csv import (placeholder: filled by the work that owns it; a no-op until then).

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

revision = "0015"
down_revision: str | None = "0014"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
