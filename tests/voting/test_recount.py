"""``tavoli votes recount ROUND_ID``: recompute a stored round from its ballots and report any
difference from the stored result (exit 1), as an auditor runs it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select, update

from tests.voting.test_service import cast, make_round, pts, voting_world
from workspace.db import db
from workspace.voting import rounds
from workspace.voting.cli import votes
from workspace.voting.models import OpenBallot, SecretBallot, VoteRound

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def vw(app):
    with app.app_context():
        return voting_world(db.session)


def closed_round(app, vw, method="dot", settings=None, ballots=None, **kw) -> int:
    from workspace.accounts.models import User

    with app.app_context():
        session = db.session
        vote = make_round(session, vw, method=method, settings=settings or {}, **kw)
        people = [session.get(User, u.id) for u in (vw.delegate, vw.colleague, vw.delegate2)]
        for person, ballot in zip(people, ballots or (pts(vw, 6, 4), pts(vw, 0, 10), pts(vw, 3, 3, 4)), strict=True):
            cast(session, person, vote, ballot)
        rounds.close_round(session, session.get(User, vw.facilitator.id), vote)
        session.commit()
        return vote.id


def recount(app, round_id):
    with app.app_context():
        return CliRunner().invoke(votes, ["recount", str(round_id)])


def test_an_untouched_round_recounts_to_its_stored_result(app, vw):
    round_id = closed_round(app, vw)
    out = recount(app, round_id)
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    assert report == {"round_id": round_id, "method": "dot", "stored_version": "dot/1", "version": "dot/1",
                      "ballots": 3, "match": True, "differences": []}


def test_a_tampered_open_ballot_is_reported(app, vw):
    round_id = closed_round(app, vw)
    with app.app_context():
        ballot = db.session.scalars(select(OpenBallot).where(OpenBallot.round_id == round_id)).first()
        ballot.content = {"points": {str(vw.bisogni[3]): 10}}
        db.session.commit()
    out = recount(app, round_id)
    assert out.exit_code == 1
    report = json.loads(out.stdout)
    assert report["match"] is False
    fields = {d["field"] for d in report["differences"]}
    assert f"tally.scores.{vw.bisogni[3]}" in fields and "tally.ranking" in fields
    score = next(d for d in report["differences"] if d["field"] == f"tally.scores.{vw.bisogni[3]}")
    assert (score["stored"], score["recomputed"]) == (0, 10)
    assert "differisce dal risultato memorizzato" in out.stderr


def test_a_removed_secret_ballot_is_reported_against_participation(app, vw):
    round_id = closed_round(app, vw, secret=True)
    with app.app_context():
        victim = db.session.scalars(select(SecretBallot.id).where(SecretBallot.round_id == round_id)).first()
        db.session.execute(delete(SecretBallot).where(SecretBallot.id == victim))
        db.session.commit()
    report = json.loads(recount(app, round_id).stdout)
    fields = {d["field"]: d for d in report["differences"]}
    assert fields["ballots"]["stored"] == 3 and fields["ballots"]["recomputed"] == 2
    assert fields["ballots_vs_participation"] == {"field": "ballots_vs_participation", "stored": 3, "recomputed": 2}


def test_a_result_stored_by_another_method_version_is_reported(app, vw):
    round_id = closed_round(app, vw)
    with app.app_context():
        vote = db.session.get(VoteRound, round_id)
        vote.result = {**vote.result, "version": "dot/0"}
        db.session.commit()
    out = recount(app, round_id)
    report = json.loads(out.stdout)
    assert out.exit_code == 1 and report["stored_version"] == "dot/0" and report["version"] == "dot/1"
    assert {"field": "version", "stored": "dot/0", "recomputed": "dot/1"} in report["differences"]


def test_tie_breaks_are_recounted_too(app, vw):
    from workspace.accounts.models import User

    b = [str(x) for x in vw.bisogni]
    round_id = closed_round(app, vw, method="approval", ballots=({"approve": b[:2]}, {"approve": b[:2]},
                                                                 {"approve": b[2:]}))
    with app.app_context():
        session = db.session
        rounds.tie_break(session, session.get(User, vw.facilitator.id), session.get(VoteRound, round_id), "seme")
        session.commit()
    assert recount(app, round_id).exit_code == 0
    with app.app_context():
        vote = db.session.get(VoteRound, round_id)
        vote.tie_break = {**vote.tie_break, "ranking": list(reversed(vote.tie_break["ranking"]))}
        db.session.commit()
    report = json.loads(recount(app, round_id).stdout)
    assert [d["field"] for d in report["differences"]] == ["tie_break.ranking"]


def test_schulze_rounds_recount_with_their_matrices(app, vw):
    b = [str(x) for x in vw.bisogni]
    round_id = closed_round(app, vw, method="schulze", ballots=({"ranking": b}, {"ranking": b[::-1]},
                                                                {"ranking": [b[1], b[0]]}))
    assert recount(app, round_id).exit_code == 0
    with app.app_context():
        db.session.execute(update(OpenBallot).where(OpenBallot.round_id == round_id)
                           .values(content={"ranking": [b[3]]}))
        db.session.commit()
    report = json.loads(recount(app, round_id).stdout)
    assert any(d["field"].startswith("tally.extra.pairwise") for d in report["differences"])


def test_rounds_that_cannot_be_recounted_exit_2_with_an_italian_message(app, vw):
    with app.app_context():
        open_id = make_round(db.session, vw).id
    out = recount(app, open_id)
    assert out.exit_code == 2 and "non è chiusa" in out.stderr and out.stdout == ""
    out = recount(app, 999_999)
    assert out.exit_code == 2 and "Votazione inesistente." in out.stderr


def test_recount_runs_as_a_command_against_the_configured_database(app, vw, tmp_path):
    round_id = closed_round(app, vw)
    env = {**os.environ, "DATABASE_URL": app.config["DATABASE_URL"], "TAVOLI_INSTANCE": str(tmp_path),
           "SECRET_KEY": "test-secret-key", "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run([sys.executable, "-m", "workspace.voting.cli", "recount", str(round_id)],
                          capture_output=True, text=True, encoding="utf-8", cwd=ROOT, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["match"] is True
