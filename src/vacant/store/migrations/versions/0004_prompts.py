"""Prompts: decoded audio files, rendered text-to-speech, announcement options, call outcomes.

Every new column is nullable or has a server default: files and announcements made before
this revision have no decoded or rendered prompt (``vacant.store.prompts`` makes it on demand).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("announcement_files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pcm", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("pcm_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("duration", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("peak_dbfs", sa.Float(), nullable=True))
    with op.batch_alter_table("announcements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("repeat", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(
            sa.Column("early_media", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("early_status", sa.Integer(), server_default="404", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "redirect_without_answer", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
        batch_op.add_column(
            sa.Column("sit", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("tts_pcm", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("tts_sha256", sa.String(length=64), nullable=True))
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prompt_seconds", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("transfer_target", sa.String(length=256), nullable=True))
        batch_op.add_column(sa.Column("outcome", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("outcome")
        batch_op.drop_column("transfer_target")
        batch_op.drop_column("prompt_seconds")
    with op.batch_alter_table("announcements", schema=None) as batch_op:
        batch_op.drop_column("tts_sha256")
        batch_op.drop_column("tts_pcm")
        batch_op.drop_column("sit")
        batch_op.drop_column("redirect_without_answer")
        batch_op.drop_column("early_status")
        batch_op.drop_column("early_media")
        batch_op.drop_column("repeat")
    with op.batch_alter_table("announcement_files", schema=None) as batch_op:
        batch_op.drop_column("peak_dbfs")
        batch_op.drop_column("duration")
        batch_op.drop_column("pcm_sha256")
        batch_op.drop_column("pcm")
