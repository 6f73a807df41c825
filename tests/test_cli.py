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


def test_admin_invite_creates_a_working_single_use_link(tmp_path):
    assert run(["db", "upgrade"], tmp_path).returncode == 0
    assert run(["reference", "load"], tmp_path).returncode == 0
    result = run(["admin", "invite", "--email", "Prima.Admin@Comune.example.org", "--name", "Prima Admin"],
                 tmp_path, TAVOLI_AMBITO="50008")
    assert result.returncode == 0, result.stderr
    link = result.stdout.strip().splitlines()[-1].strip()
    assert link.startswith("http://127.0.0.1:5000/invito/")
    mails = list((tmp_path / "instance" / "mail").glob("*.eml"))
    assert len(mails) == 1 and link in mails[0].read_text()

    again = run(["admin", "invite", "--email", "not-an-email", "--name", "X"], tmp_path)
    assert again.returncode == 2
    assert "Errore:" in again.stderr and "e-mail" in again.stderr.lower()


def test_votes_tally_is_part_of_the_main_command(tmp_path):
    ballots = tmp_path / "schede.json"
    ballots.write_text('{"candidates": ["a", "b"], "ballots": [{"approve": ["b"]}, {"approve": ["a", "b"]}]}')
    result = run(["votes", "tally", "--method", "approval", str(ballots)], tmp_path)
    assert result.returncode == 0, result.stderr
    import json

    assert json.loads(result.stdout)["ranking"] == [["b"], ["a"]]
