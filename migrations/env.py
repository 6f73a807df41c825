"""Alembic environment. Batch mode so SQLite can alter tables; the URL comes from the app config."""
from __future__ import annotations

from alembic import context

import workspace.models  # noqa: F401  (registers every table)
from workspace.config import load_config
from workspace.db import Base, make_engine

config = context.config
url = config.get_main_option("sqlalchemy.url") or load_config()["DATABASE_URL"]
target_metadata = Base.metadata


def run_offline() -> None:
    context.configure(url=url, target_metadata=target_metadata, render_as_batch=True, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = make_engine(url, one_shot=True)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
