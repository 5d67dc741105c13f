"""Initial schema: pools, announcement files, announcements, ranges, assigned numbers,
normalisation rules and the configuration version counter.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pools",
        sa.Column("name", sa.String(length=253), nullable=False),
        sa.Column("backup", sa.String(length=253), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["backup"], ["pools.name"], name=op.f("fk_pools_backup_pools")),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_pools")),
    )
    op.create_table(
        "announcement_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pool", sa.String(length=253), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=256), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["pool"], ["pools.name"], name=op.f("fk_announcement_files_pool_pools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcement_files")),
        sa.UniqueConstraint("pool", "name", name=op.f("uq_announcement_files_pool_name")),
    )
    op.create_table(
        "announcements",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("pool", sa.String(length=253), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("audio_file", sa.String(length=255), nullable=True),
        sa.Column("tts_text", sa.Text(), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("target", sa.String(length=256), nullable=True),
        sa.ForeignKeyConstraint(
            ["pool", "audio_file"],
            ["announcement_files.pool", "announcement_files.name"],
            name=op.f("fk_announcements_pool_audio_file_announcement_files"),
        ),
        sa.ForeignKeyConstraint(["pool"], ["pools.name"], name=op.f("fk_announcements_pool_pools")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcements")),
        sa.UniqueConstraint("pool", "name", name=op.f("uq_announcements_pool_name")),
    )
    op.create_table(
        "ranges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("start_number", sa.String(length=40), nullable=True),
        sa.Column("end_number", sa.String(length=40), nullable=True),
        sa.Column("family", sa.String(length=16), nullable=True),
        sa.Column("start_key", sa.String(length=20), nullable=True),
        sa.Column("end_key", sa.String(length=20), nullable=True),
        sa.Column("pattern", sa.String(length=512), nullable=True),
        sa.Column("announcement_id", sa.String(length=36), nullable=True),
        sa.Column("auto_attendant", sa.String(length=40), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(announcement_id IS NULL) <> (auto_attendant IS NULL)",
            name=op.f("ck_ranges_one_target"),
        ),
        sa.CheckConstraint(
            "(pattern IS NULL AND start_number IS NOT NULL AND end_number IS NOT NULL"
            " AND family IS NOT NULL AND start_key IS NOT NULL AND end_key IS NOT NULL)"
            " OR (pattern IS NOT NULL AND start_number IS NULL AND end_number IS NULL"
            " AND family IS NULL AND start_key IS NULL AND end_key IS NULL)",
            name=op.f("ck_ranges_numbers_or_pattern"),
        ),
        sa.CheckConstraint("priority >= 0", name=op.f("ck_ranges_priority")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ranges")),
        sa.UniqueConstraint("name", name=op.f("uq_ranges_name")),
    )
    with op.batch_alter_table("ranges", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ranges_family_start_key_end_key"),
            ["family", "start_key", "end_key"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_ranges_priority_position"), ["priority", "position"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ranges_announcement_id"), ["announcement_id"], unique=False
        )
    op.create_table(
        "assigned_numbers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("uri", sa.String(length=256), nullable=False),
        sa.Column("owner", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assigned_numbers")),
        sa.UniqueConstraint("number", name=op.f("uq_assigned_numbers_number")),
    )
    op.create_table(
        "normalisation_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("pattern", sa.String(length=512), nullable=False),
        sa.Column("translation", sa.String(length=512), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_normalisation_rules")),
        sa.UniqueConstraint("name", name=op.f("uq_normalisation_rules_name")),
    )
    with op.batch_alter_table("normalisation_rules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_normalisation_rules_position"), ["position"], unique=False
        )
    config_version = op.create_table(
        "config_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_config_version_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_config_version")),
    )
    op.bulk_insert(config_version, [{"id": 1, "version": 0}])


def downgrade() -> None:
    op.drop_table("config_version")
    op.drop_table("normalisation_rules")
    op.drop_table("assigned_numbers")
    op.drop_table("ranges")
    op.drop_table("announcements")
    op.drop_table("announcement_files")
    op.drop_table("pools")
