"""Call records (CDRs): one row per INVITE answered.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("started", sa.DateTime(timezone=True), nullable=False),
        sa.Column("call_id", sa.String(length=256), nullable=False),
        sa.Column("caller", sa.String(length=256), nullable=False),
        sa.Column("dialled", sa.String(length=256), nullable=False),
        sa.Column("normalised", sa.String(length=256), nullable=True),
        sa.Column("decision", sa.String(length=32), nullable=False),
        sa.Column("range_name", sa.String(length=256), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("duration", sa.Float(), nullable=False),
        sa.Column("pool", sa.String(length=253), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calls")),
    )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calls_dialled"), ["dialled"], unique=False)
        batch_op.create_index(batch_op.f("ix_calls_started"), ["started"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calls_started"))
        batch_op.drop_index(batch_op.f("ix_calls_dialled"))
    op.drop_table("calls")
