"""The `tavoli` command as an operator runs it: migrate, load reference data and demo, refuse to
serve an un-migrated database."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from workspace.accounts.models import User
from workspace.reference.models import Ambito, Macroarea

TAVOLI = str(Path(sys.executable).with_name("tavoli"))


def run(args: list[str], tmp_path: Path, **env) -> subprocess.CompletedProcess:
    environ = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "TAVOLI_INSTANCE": str(tmp_path / "instance"),
        **env,
    }
    environ.pop("REDIS_URL", None)
    return subprocess.run([TAVOLI, *args], capture_output=True, text=True, env=environ, timeout=120)


@pytest.fixture
def counts(tmp_path):
    def _counts():
        engine = create_engine(f"sqlite:///{tmp_path / 'cli.db'}")
        with engine.connect() as conn:
            result = {
                "macroaree": conn.scalar(select(func.count()).select_from(Macroarea)),
                "ambiti": conn.scalar(select(func.count()).select_from(Ambito)),
                "users": conn.scalar(select(func.count()).select_from(User)),
            }
        engine.dispose()
        return result

    return _counts


def test_serve_refuses_unmigrated_database(tmp_path):
    result = run(["serve", "--port", "5999"], tmp_path)
    assert result.returncode == 1
    assert "tavoli db upgrade" in result.stderr
    assert "Il database non è aggiornato" in result.stderr


def test_upgrade_reference_and_demo_are_idempotent(tmp_path, counts):
    assert run(["db", "upgrade"], tmp_path).returncode == 0
    assert run(["db", "check"], tmp_path).returncode == 0

    first = run(["reference", "load"], tmp_path)
    assert first.returncode == 0, first.stderr
    after_first = counts()
    assert after_first["macroaree"] == 12 and after_first["ambiti"] == 91

    second = run(["reference", "load"], tmp_path)
    assert second.returncode == 0, second.stderr
    assert counts() == after_first
    assert "nessuna modifica" in second.stdout.lower()

    demo = run(["demo", "load", "--if-empty"], tmp_path)
    assert demo.returncode == 0, demo.stderr
    assert "Demo caricata." in demo.stdout
    assert "rup@pavia.example.org" in demo.stdout
    users = counts()["users"]
    assert users > 10
    again = run(["demo", "load", "--if-empty"], tmp_path)
    assert "Demo già presente" in again.stdout
    assert counts()["users"] == users
