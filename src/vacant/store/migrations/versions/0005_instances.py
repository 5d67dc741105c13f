"""Pools at run time: automatic failover settings, instances, failover state and records.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("pools", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("auto_failover", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("down_after", sa.Float(), server_default="10", nullable=False)
        )
        batch_op.add_column(
            sa.Column("failback_after", sa.Float(), server_default="30", nullable=False)
        )
    op.create_table(
        "instances",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("pool", sa.String(length=253), nullable=False),
        sa.Column("host", sa.String(length=253), nullable=False),
        sa.Column("sip", sa.String(length=1024), nullable=False),
        sa.Column("http", sa.String(length=1024), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("started", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat", sa.DateTime(timezone=True), nullable=False),
        sa.Column("healthy_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instances")),
    )
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_instances_pool"), ["pool"], unique=False)
    op.create_table(
        "pool_states",
        sa.Column("pool", sa.String(length=253), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("covered_by", sa.String(length=253), nullable=True),
        sa.Column("transitions", sa.Integer(), nullable=False),
        sa.CheckConstraint("state IN ('up', 'down')", name=op.f("ck_pool_states_state")),
        sa.ForeignKeyConstraint(
            ["pool"], ["pools.name"], name=op.f("fk_pool_states_pool_pools"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("pool", name=op.f("pk_pool_states")),
    )
    op.create_table(
        "failover_ranges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("primary_pool", sa.String(length=253), nullable=False),
        sa.Column("backup_pool", sa.String(length=253), nullable=False),
        sa.Column("range_name", sa.String(length=256), nullable=False),
        sa.Column("announcement", sa.String(length=256), nullable=False),
        sa.Column("primary_id", sa.String(length=36), nullable=False),
        sa.Column("backup_id", sa.String(length=36), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_failover_ranges")),
        sa.UniqueConstraint(
            "primary_pool", "range_name", name=op.f("uq_failover_ranges_primary_pool_range_name")
        ),
    )
    op.create_table(
        "failover_copies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("primary_pool", sa.String(length=253), nullable=False),
        sa.Column("backup_pool", sa.String(length=253), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('file', 'announcement')", name=op.f("ck_failover_copies_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_failover_copies")),
        sa.UniqueConstraint(
            "primary_pool", "kind", "name", name=op.f("uq_failover_copies_primary_pool_kind_name")
        ),
    )


def downgrade() -> None:
    op.drop_table("failover_copies")
    op.drop_table("failover_ranges")
    op.drop_table("pool_states")
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_instances_pool"))
    op.drop_table("instances")
    with op.batch_alter_table("pools", schema=None) as batch_op:
        batch_op.drop_column("failback_after")
        batch_op.drop_column("down_after")
        batch_op.drop_column("auto_failover")
