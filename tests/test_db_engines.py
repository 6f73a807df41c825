"""Engines ``workspace.db.make_engine`` makes: a file SQLite gets the pool sized for the event loop,
an in-memory one (benchmarks and scripts use ``sqlite://``) the single connection it needs."""
from __future__ import annotations

from sqlalchemy import text

from workspace.db import make_engine


def test_an_in_memory_database_gets_an_engine_that_works():
    for url in ("sqlite://", "sqlite:///:memory:"):
        engine = make_engine(url)
        try:
            with engine.begin() as conn:
                conn.execute(text("create table t (x integer)"))
                conn.execute(text("insert into t values (1)"))
            with engine.connect() as conn:  # same database: the data is still there
                assert conn.execute(text("select x from t")).scalar() == 1
        finally:
            engine.dispose()


def test_a_file_database_gets_the_pool_sized_for_join_storms(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        assert engine.pool.size() == 20
        with engine.connect() as conn:
            assert conn.execute(text("pragma journal_mode")).scalar() == "wal"
    finally:
        engine.dispose()
