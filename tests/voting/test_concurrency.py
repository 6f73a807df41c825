"""Exactly one counted ballot per voter under concurrent submissions, double clicks and retries,
on SQLite (a WAL file database, as in production) and PostgreSQL: many threads, each with its own
session and transaction, submit at the same moment."""
from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from tests.voting.support import make_round, voting_world
from workspace.db import db
from workspace.problems import Problem
from workspace.voting import ballots, results, rounds
from workspace.voting.models import (
    OpenBallot,
    Participation,
    PooledBallot,
    SecretBallot,
    VoteOperation,
    VoteRound,
)

THREADS = 20
# Each thread has its own connection and transaction: the commits must be real.
pytestmark = pytest.mark.real_db


def run_together(app, jobs) -> list:
    """Run each job(session) in its own thread and app context, all released at once; each
    outcome is the committed job's return value, a refused Problem's code, or the exception."""
    barrier = threading.Barrier(len(jobs))
    outcomes: list = [None] * len(jobs)

    def worker(i, job):
        with app.app_context():
            session = db.session
            barrier.wait()
            try:
                outcomes[i] = job(session)
                session.commit()
            except Problem as problem:
                session.rollback()
                outcomes[i] = problem.code
            except Exception as exc:  # noqa: BLE001 — reported by the test
                session.rollback()
                outcomes[i] = exc

    threads = [threading.Thread(target=worker, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a submission hung"
    return outcomes


def _setup(app, **round_kw):
    with app.app_context():
        session = db.session
        vw = voting_world(session)
        vote = make_round(session, vw, **round_kw)
        ids = {"round": vote.id, "delegate": vw.delegate.id, "colleague": vw.colleague.id,
               "delegate2": vw.delegate2.id, "facilitator": vw.facilitator.id, "bisogni": vw.bisogni}
        return vw, ids


def _submit(user_id, round_id, content, op_id=None):
    from workspace.accounts.models import User

    def job(session):
        return ballots.cast_ballot(session, session.get(User, user_id), session.get(VoteRound, round_id), content,
                                   op_id=op_id)

    return job


def _counts(app, round_id):
    with app.app_context():
        session = db.session

        def n(model):
            return session.scalar(select(func.count()).select_from(model).where(model.round_id == round_id))

        # Secret ballots wait in the pool until the round closes, then sit in the box.
        counts = {"open": n(OpenBallot), "secret": n(PooledBallot) + n(SecretBallot), "participation": n(Participation),
                  "operations": n(VoteOperation), "revision": session.get(VoteRound, round_id).revision}
        return counts


def _ballot(ids, n):
    b = ids["bisogni"]
    return {"points": {str(b[n % 4]): 10}}


def test_secret_round_many_submissions_of_one_voter_exactly_one_counts(app):
    vw, ids = _setup(app, secret=True)
    jobs = [_submit(ids["delegate"], ids["round"], _ballot(ids, n)) for n in range(THREADS)]
    outcomes = run_together(app, jobs)
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    accepted = [o for o in outcomes if isinstance(o, dict)]
    assert len(accepted) == 1, outcomes
    assert Counter(o for o in outcomes if isinstance(o, str)) == {"already_voted": THREADS - 1}
    assert _counts(app, ids["round"]) == {"open": 0, "secret": 1, "participation": 1, "operations": 0,
                                          "revision": 1}


def test_open_round_parallel_submissions_end_with_one_ballot_the_last_committed(app):
    vw, ids = _setup(app)
    jobs = [_submit(ids["delegate"], ids["round"], _ballot(ids, n)) for n in range(THREADS)]
    outcomes = run_together(app, jobs)
    assert all(isinstance(o, dict) for o in outcomes), outcomes
    assert sum(1 for o in outcomes if not o["replaced"]) == 1  # exactly one found no earlier ballot
    assert _counts(app, ids["round"]) == {"open": 1, "secret": 0, "participation": 1, "operations": 0,
                                          "revision": THREADS}
    with app.app_context():
        content = db.session.scalar(select(OpenBallot.content).where(OpenBallot.round_id == ids["round"]))
        assert content in [_ballot(ids, n) for n in range(4)]


@pytest.mark.parametrize("secret", [False, True], ids=["open", "secret"])
def test_an_organisations_delegates_racing_each_other_cast_one_ballot(app, secret):
    vw, ids = _setup(app, secret=secret, ballot_unit="organisation")
    people = [ids["delegate"], ids["colleague"]]
    jobs = [_submit(people[n % 2], ids["round"], _ballot(ids, n)) for n in range(THREADS)]
    outcomes = run_together(app, jobs)
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    counts = _counts(app, ids["round"])
    assert counts["participation"] == 1 and counts["open" if not secret else "secret"] == 1
    assert counts["open" if secret else "secret"] == 0
    if secret:
        assert sum(isinstance(o, dict) for o in outcomes) == 1


def test_double_clicks_and_retries_with_one_op_id_are_applied_once(app):
    vw, ids = _setup(app, secret=True)
    jobs = [_submit(ids["delegate"], ids["round"], _ballot(ids, 0), op_id="op-double-click") for _ in range(THREADS)]
    outcomes = run_together(app, jobs)
    assert all(isinstance(o, dict) for o in outcomes), outcomes  # every retry is acknowledged as done
    assert sum(not o["duplicate"] for o in outcomes) == 1
    assert _counts(app, ids["round"]) == {"open": 0, "secret": 1, "participation": 1, "operations": 1,
                                          "revision": 1}


def test_many_voters_at_once_and_a_close_in_the_middle_keep_ballots_and_participation_equal(app):
    from tests.voting.support import add_delegates
    from workspace.accounts.models import User

    with app.app_context():
        session = db.session
        vw = voting_world(session)
        extra = add_delegates(session, vw, "ets", THREADS - 3, "ETS corsa")
        vote = make_round(session, vw, secret=True, breakdown=True)
        voters = [vw.delegate.id, vw.colleague.id, vw.delegate2.id, *[p.id for p in extra]]
        round_id, facilitator, bisogni = vote.id, vw.facilitator.id, vw.bisogni
    ids = {"bisogni": bisogni}
    jobs = [_submit(v, round_id, _ballot(ids, n)) for n, v in enumerate(voters)]

    def close(session):
        return rounds.close_round(session, session.get(User, facilitator), session.get(VoteRound, round_id)).seq

    jobs.insert(THREADS // 2, close)
    outcomes = run_together(app, jobs)
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    accepted = sum(isinstance(o, dict) for o in outcomes)
    refused = [o for o in outcomes if isinstance(o, str)]
    assert set(refused) <= {"vote_closed"} and accepted + len(refused) == THREADS
    counts = _counts(app, round_id)
    assert counts["secret"] == counts["participation"] == accepted
    with app.app_context():
        session = db.session
        vote = session.get(VoteRound, round_id)
        assert vote.status == "closed" and vote.result["ballots"] == accepted
        assert results.recount(session, vote)["match"] is True
