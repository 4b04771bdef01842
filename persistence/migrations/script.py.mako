"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}

Must work on SQLite and PostgreSQL: use `op.batch_alter_table` for ALTERs, and name every constraint.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}
revision = ${repr(up_revision)}
down_revision: str | None = ${repr(down_revision)}
branch_labels: str | None = ${repr(branch_labels)}
depends_on: str | None = ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
