"""Call records: drop the index on ``dialled``.

No query reads it: ``calls list --number`` matches the dialled *or* the normalised number, which
SQLite and PostgreSQL answer by walking the ``started`` index newest first. Yet every record the
server writes updated it, at a random place: with 1,000-record batches that is a B-tree page
rewritten (a WAL frame on SQLite) for nearly every record.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calls_dialled"))


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calls_dialled"), ["dialled"], unique=False)
