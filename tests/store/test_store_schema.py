"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Engine, Integer, MetaData, inspect

from vacant.store.engine import alembic_config
from vacant.store.models import Base


def _diff(engine: Engine, metadata: MetaData) -> list[object]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    assert _diff(engine, Base.metadata) == []


def test_the_comparison_would_see_a_difference(engine: Engine) -> None:
    changed = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["pools"].append_column(Column("extra", Integer))
    assert [d[0] for d in _diff(engine, changed)] == ["add_column"]  # type: ignore[index]


def test_constraints_and_indexes_follow_the_naming_convention(engine: Engine) -> None:
    inspector = inspect(engine)
    # PostgreSQL also reports the index behind the unique constraint.
    indexes = {i["name"] for i in inspector.get_indexes("ranges")} - {"uq_ranges_name"}
    assert indexes == {
        "ix_ranges_family_start_key_end_key",
        "ix_ranges_priority_position",
        "ix_ranges_announcement_id",
    }
    fks = {fk["name"] for fk in inspector.get_foreign_keys("announcements")}
    assert fks == {
        "fk_announcements_pool_pools",
        "fk_announcements_pool_audio_file_announcement_files",
    }


def test_downgrade_to_base_and_upgrade_again(engine: Engine) -> None:
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    assert _diff(engine, Base.metadata) == []
