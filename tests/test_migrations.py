"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL,
and a server refuses to start on a database that was not migrated."""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from workspace import create_app
from workspace.db import Base
from workspace.migrate import DatabaseNotMigrated, head_revision, upgrade


def _diff(url: str) -> list:
    engine = create_engine(url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    engine.dispose()
    return diff


def test_models_and_migrations_agree_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    upgrade(url)
    assert _diff(url) == []


@pytest.mark.postgres
def test_models_and_migrations_agree_on_postgresql(pg_url):
    assert _diff(pg_url) == []


def test_downgrade_to_base_and_back(tmp_path):
    url = f"sqlite:///{tmp_path / 'roundtrip.db'}"
    upgrade(url)
    from alembic import command

    from workspace.migrate import alembic_config

    command.downgrade(alembic_config(url), "base")
    engine = create_engine(url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    upgrade(url)
    assert _diff(url) == []


def test_app_refuses_unmigrated_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    with pytest.raises(DatabaseNotMigrated) as info:
        create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x"})
    message = str(info.value)
    assert "tavoli db upgrade" in message
    assert "nessuna" in message and head_revision() in message
