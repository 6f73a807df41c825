"""Group commit of ballots (``ballots.submit``, what the live channel's ``vote.cast`` uses): ballots
handed in together are written in one transaction by whichever of their submitters leads, each
acknowledged with its own receipt or refusal; exactly one counted ballot per voter key however they
race, on SQLite (a WAL file, as in production) and PostgreSQL. Real threads, real commits.

To make batches happen for certain (not by timing), a test can hold the round's lock from a
connection of its own: the first submitter, leading, waits for it, the others queue up behind, and
once released they are written together in the next batch."""
from __future__ import annotations

import threading
from collections import Counter
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select, text

from tests.voting.support import add_delegates, make_round, voting_world
from workspace.db import db
from workspace.problems import Problem
from workspace.voting import ballots, box, results, rounds
from workspace.voting.models import (
    OpenBallot,
    Participation,
    PooledBallot,
    SecretBallot,
    VoteOperation,
    VoteRound,
)

pytestmark = pytest.mark.real_db
WAIT = 60  # seconds, an upper bound: every wait below ends as soon as its condition holds


def submit_together(app, submissions: list[ballots.Submission], first_alone: bool = False
                    ) -> tuple[list[threading.Thread], list]:
    """Each submission from its own thread (its own request context and session), all released at
    once; the outcome of each: the receipt, a refusal's code, or the exception. ``first_alone``:
    the first one is handed in before the others (so it leads, and waits for whatever holds the round)."""
    outcomes: list = [None] * len(submissions)
    barrier = threading.Barrier(len(submissions) - (1 if first_alone else 0))

    def worker(i: int, submission: ballots.Submission) -> None:
        with app.test_request_context():
            if not (first_alone and i == 0):
                barrier.wait()
            try:
                outcomes[i] = ballots.submit(db.session, submission)
            except Problem as problem:
                outcomes[i] = problem.code
            except Exception as exc:  # noqa: BLE001 — reported by the test
                outcomes[i] = exc

    threads = [threading.Thread(target=worker, args=(i, s)) for i, s in enumerate(submissions)]
    if first_alone:
        batches = ballots.stats(app)["batches"]
        threads[0].start()
        assert ballots.wait_until_batches(app, batches + 1, WAIT), "the first submission did not start a batch"
    for t in threads[1 if first_alone else 0:]:
        t.start()
    return threads, outcomes


def join(threads) -> None:
    for t in threads:
        t.join(WAIT)
    assert not any(t.is_alive() for t in threads), "a submission hung"


@contextmanager
def round_held(app, round_id: int):
    """Hold the round as a writer would, from a connection of the test's own (SQLite: the database's
    write lock; PostgreSQL: the round's row lock), until the block ends."""
    engine = app.extensions["tavoli_db"]["engine"]
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("SELECT 1")  # the connection's begin is BEGIN IMMEDIATE: the write lock
        else:
            conn.execute(text("SELECT id FROM vote_round WHERE id = :r FOR UPDATE"), {"r": round_id})
        try:
            yield
        finally:
            conn.rollback()


def _setup(app, extra: int = 0, **round_kw):
    with app.app_context():
        session = db.session
        vw = voting_world(session)
        more = add_delegates(session, vw, "ets", extra, "ETS in gruppo") if extra else []
        vote = make_round(session, vw, **round_kw)
        return vw, vote.id, [p.id for p in more]


def _counts(app, round_id: int) -> dict:
    with app.app_context():
        session = db.session

        def n(model):
            return session.scalar(select(func.count()).select_from(model).where(model.round_id == round_id))

        return {"open": n(OpenBallot), "pooled": n(PooledBallot), "box": n(SecretBallot),
                "participation": n(Participation), "operations": n(VoteOperation),
                "revision": session.get(VoteRound, round_id).revision}


def _points(vw, n: int) -> dict:
    return {"points": {str(vw.bisogni[n % 4]): 10}}


def test_ballots_waiting_while_a_batch_is_written_go_together_in_the_next_one(app):
    vw, round_id, extra = _setup(app, extra=17, secret=True)
    voters = [vw.delegate.id, vw.colleague.id, vw.delegate2.id, *extra[:-1]]  # 19 voters
    submissions = [ballots.Submission(uid, round_id, _points(vw, n), f"op-gruppo-{n:04d}", vw.tavolo.id, "it")
                   for n, uid in enumerate(voters)]
    # Among those queued: a bad ballot, someone who may not vote, a ballot for another tavolo.
    submissions += [ballots.Submission(extra[-1], round_id, {"points": {"999999": 10}}, None, vw.tavolo.id),
                    ballots.Submission(vw.outsider.id, round_id, _points(vw, 0), None, vw.tavolo.id),
                    ballots.Submission(vw.delegate2.id, round_id, _points(vw, 0), None, vw.tavolo.id + 1000)]
    before = ballots.stats(app)
    with round_held(app, round_id):
        threads, outcomes = submit_together(app, submissions, first_alone=True)
        assert ballots.wait_until_waiting(app, len(submissions) - 1, WAIT)
    join(threads)
    after = ballots.stats(app)
    # Two batches: the first submitter alone (it was writing), then everyone who queued meanwhile.
    assert (after["batches"] - before["batches"], after["largest"]) == (2, len(submissions) - 1)
    receipts = outcomes[:len(voters)]
    assert all(isinstance(r, dict) and not r["duplicate"] and not r["replaced"] for r in receipts), receipts
    assert outcomes[len(voters):] == ["invalid_ballot", "forbidden", "not_found"]
    assert _counts(app, round_id) == {"open": 0, "pooled": 19, "box": 0, "participation": 19, "operations": 19,
                                      "revision": 19}
    # Every receipt of the batch tells the turnout after it.
    assert {r["turnout"]["voted"] for r in receipts[1:]} == {19}


@pytest.mark.parametrize("secret", [False, True], ids=["open", "secret"])
def test_one_voter_racing_themselves_counts_once(app, secret):
    vw, round_id, _extra = _setup(app, secret=secret)
    submissions = [ballots.Submission(vw.delegate.id, round_id, _points(vw, n), None, vw.tavolo.id)
                   for n in range(20)]
    threads, outcomes = submit_together(app, submissions)
    join(threads)
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    counts = _counts(app, round_id)
    if secret:
        assert sum(isinstance(o, dict) for o in outcomes) == 1
        assert Counter(o for o in outcomes if isinstance(o, str)) == {"already_voted": 19}
        assert counts == {"open": 0, "pooled": 1, "box": 0, "participation": 1, "operations": 0, "revision": 1}
    else:  # every one replaces the one before: the last written counts
        assert all(isinstance(o, dict) for o in outcomes) and sum(not o["replaced"] for o in outcomes) == 1
        assert counts == {"open": 1, "pooled": 0, "box": 0, "participation": 1, "operations": 0, "revision": 20}


@pytest.mark.parametrize("secret", [False, True], ids=["open", "secret"])
def test_two_delegates_of_one_organisation_in_the_same_batch_cast_one_ballot(app, secret):
    vw, round_id, _extra = _setup(app, secret=secret, ballot_unit="organisation")
    people = [vw.delegate.id, vw.colleague.id]  # both of Associazione Alfa
    submissions = [ballots.Submission(vw.delegate2.id, round_id, _points(vw, 3), None, vw.tavolo.id)]
    submissions += [ballots.Submission(people[n % 2], round_id, _points(vw, n), None, vw.tavolo.id) for n in range(10)]
    with round_held(app, round_id):
        threads, outcomes = submit_together(app, submissions, first_alone=True)
        assert ballots.wait_until_waiting(app, 10, WAIT)  # all ten in the next batch, together
    join(threads)
    counts = _counts(app, round_id)
    assert counts["participation"] == 2  # Cooperativa Beta and Associazione Alfa
    if secret:
        alfa = outcomes[1:]
        assert sum(isinstance(o, dict) for o in alfa) == 1
        assert Counter(o for o in alfa if isinstance(o, str)) == {"already_voted": 9}
        assert (counts["pooled"], counts["open"]) == (2, 0)
    else:
        assert all(isinstance(o, dict) for o in outcomes)
        assert (counts["open"], counts["pooled"]) == (2, 0)
        with app.app_context():  # the later delegate's ballot (in the batch's order) replaced the earlier
            content = db.session.scalar(select(OpenBallot.content).where(OpenBallot.round_id == round_id,
                                                                          OpenBallot.voter_key.like("o:%"),
                                                                          OpenBallot.user_id.in_(people)))
        assert content in [_points(vw, n) for n in range(10)]


def test_a_retried_operation_in_the_same_batch_is_applied_once(app):
    vw, round_id, _extra = _setup(app, secret=True)
    same = ballots.Submission(vw.delegate.id, round_id, _points(vw, 0), "op-doppio-clic", vw.tavolo.id)
    submissions = [ballots.Submission(vw.delegate2.id, round_id, _points(vw, 1), None, vw.tavolo.id)] + [same] * 5
    with round_held(app, round_id):
        threads, outcomes = submit_together(app, submissions, first_alone=True)
        assert ballots.wait_until_waiting(app, 5, WAIT)
    join(threads)
    assert all(isinstance(o, dict) for o in outcomes), outcomes
    assert [o["duplicate"] for o in outcomes[1:]].count(False) == 1
    assert _counts(app, round_id) == {"open": 0, "pooled": 2, "box": 0, "participation": 2, "operations": 1,
                                      "revision": 2}


def test_a_batch_whose_transaction_fails_is_written_again_one_by_one(app, monkeypatch):
    vw, round_id, extra = _setup(app, extra=3, secret=True)
    voters = [vw.delegate.id, vw.colleague.id, vw.delegate2.id, *extra]
    doomed = {"points": {str(vw.bisogni[3]): 7, str(vw.bisogni[2]): 3}}
    real_pool = box.pool

    def failing_pool(session, round_id, rows):  # a fault in the storage, for one ballot's rows only
        if any(content == doomed for _group, content in rows):
            raise RuntimeError("disco pieno (guasto simulato)")
        return real_pool(session, round_id, rows)

    monkeypatch.setattr(box, "pool", failing_pool)
    submissions = [ballots.Submission(uid, round_id, doomed if n == 2 else _points(vw, n), None, vw.tavolo.id)
                   for n, uid in enumerate(voters)]
    with round_held(app, round_id):
        threads, outcomes = submit_together(app, submissions, first_alone=True)
        assert ballots.wait_until_waiting(app, len(voters) - 1, WAIT)
    join(threads)
    # The batch with the failing ballot was rolled back whole and written again one by one: only
    # that ballot failed (an internal error, nothing of it stored), the others counted once.
    assert isinstance(outcomes[2], RuntimeError)
    assert all(isinstance(o, dict) for n, o in enumerate(outcomes) if n != 2), outcomes
    counts = _counts(app, round_id)
    assert (counts["pooled"], counts["participation"], counts["revision"]) == (5, 5, 5)
    with app.app_context():
        voted = set(db.session.scalars(select(Participation.voter_key).where(Participation.round_id == round_id)))
    assert f"u:{voters[2]}" not in voted


def test_closing_while_ballots_arrive_counts_exactly_those_acknowledged(app):
    vw, round_id, extra = _setup(app, extra=17, secret=True)
    voters = [vw.delegate.id, vw.colleague.id, vw.delegate2.id, *extra]
    submissions = [ballots.Submission(uid, round_id, _points(vw, n), None, vw.tavolo.id) for n, uid in enumerate(voters)]
    closed = threading.Event()

    def close() -> None:
        from workspace.accounts.models import User

        with app.app_context():
            session = db.session
            rounds.close_round(session, session.get(User, vw.facilitator.id), session.get(VoteRound, round_id))
            session.commit()
            closed.set()

    threads, outcomes = submit_together(app, submissions)
    closer = threading.Thread(target=close)
    closer.start()
    join([*threads, closer])
    assert closed.is_set()
    accepted = sum(isinstance(o, dict) for o in outcomes)
    assert set(o for o in outcomes if not isinstance(o, dict)) <= {"vote_closed"}, outcomes
    counts = _counts(app, round_id)
    # Whatever made it before the closing is in the box (mixed), nothing stays in the pool.
    assert counts["box"] == counts["participation"] == accepted and counts["pooled"] == 0
    with app.app_context():
        vote = db.session.get(VoteRound, round_id)
        assert vote.result["ballots"] == accepted and results.recount(db.session, vote)["match"] is True
    assert box.wait_sealed(app, 300)
