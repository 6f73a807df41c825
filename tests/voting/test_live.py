"""Votes over Socket.IO (/live): the vote.* operations with their events and Italian error acks,
vote.cast without a numbered event per ballot, and the coalesced ``vote.live`` turnout pushes.

No test sleeps for a push: a test waits for the message it expects (with a deadline), or sends what
is pending at once with ``realtime.flush_pushes`` to check what was (not) pushed. No push outlives its
test, nor reaches it from an earlier one: every test starts and ends with the app's pushes flushed."""
from __future__ import annotations

import time
import uuid

import pytest

from tests.voting.support import add_delegates, cast, make_round, pts
from workspace import realtime
from workspace.db import db
from workspace.extensions import socketio
from workspace.realtime import NAMESPACE
from workspace.voting import ballots, live
from workspace.voting.models import OpenBallot, PooledBallot, SecretBallot, VoteRound

#: How long a test waits for a push it expects before failing (pushes take PUSH_INTERVAL).
DEADLINE = 10.0


@pytest.fixture(autouse=True)
def no_push_crosses_tests(app):
    """Send what an earlier test left pending before this one connects anyone, and what this one
    leaves before the next."""
    realtime.flush_pushes(app)
    yield
    realtime.flush_pushes(app)


def op_id() -> str:
    return "op-" + uuid.uuid4().hex


def call(client, name: str, **data):
    return client.emit(name, data, namespace=NAMESPACE, callback=True)


def joined(connect, user, tavolo_id):
    client = connect(user)
    reply = call(client, "join", tavolo_id=tavolo_id)
    assert reply["ok"], reply
    client.get_received(NAMESPACE)
    return client, reply


def received(client, name: str) -> list:
    return [m["args"][0] for m in client.get_received(NAMESPACE) if m["name"] == name]


def gather(client, until) -> list:
    """The messages (``{"name", "args"}``) the client receives, gathered until ``until(messages)``
    holds; fails after DEADLINE seconds."""
    got: list = []
    deadline = time.monotonic() + DEADLINE
    while not until(got):
        assert time.monotonic() < deadline, f"not received as expected within {DEADLINE} s: {got}"
        socketio.sleep(0.01)
        got += client.get_received(NAMESPACE)
    return got


def wait_for(client, name: str, until=bool) -> list:
    """The ``name`` messages' payloads, gathered until ``until(payloads)`` holds (by default: one
    arrived); the client's other messages are dropped."""
    def payloads(got: list) -> list:
        return [m["args"][0] for m in got if m["name"] == name]

    return payloads(gather(client, lambda got: until(payloads(got))))


def new_round(app, vw, **kw) -> int:
    with app.app_context():
        return make_round(db.session, vw, **kw).id


# --------------------------------------------------------------------------------------- operations


def test_open_cast_close_over_the_socket(app, vw, connect):
    round_id = new_round(app, vw, open_it=False)
    facilitator, _ = joined(connect, vw.facilitator, vw.tavolo.id)
    voter, _ = joined(connect, vw.delegate, vw.tavolo.id)

    ack = call(facilitator, "vote.open", op_id=op_id(), tavolo_id=vw.tavolo.id, round_id=round_id)
    assert ack["ok"] and ack["result"]["turnout"] == {"voted": 0, "eligible": 3, "percent": 0.0}, ack
    opened = received(voter, "event")
    assert [(e["kind"], e["seq"]) for e in opened] == [("vote.opened", ack["seq"])]
    assert opened[0]["payload"]["items"][0]["title"] == "Solitudine degli anziani"
    facilitator.get_received(NAMESPACE)

    ack = call(voter, "vote.cast", op_id=op_id(), tavolo_id=vw.tavolo.id, round_id=round_id, ballot=pts(vw, 7, 3))
    assert ack == {"ok": True, "result": {"round_id": round_id, "voter": "person", "secret": False, "replaced": False,
                                          "duplicate": False,
                                          "turnout": {"voted": 1, "eligible": 3, "percent": 33.3}}}
    got = gather(facilitator, lambda got: any(m["name"] == live.LIVE_MESSAGE for m in got))
    assert realtime.flush_pushes(app) == 0  # nothing else was waiting
    got += facilitator.get_received(NAMESPACE)
    assert not [m for m in got if m["name"] == "event"], "a ballot must not produce a numbered event"
    pushes = [m["args"][0] for m in got if m["name"] == live.LIVE_MESSAGE]
    assert pushes == [{"tavolo_id": vw.tavolo.id, "round_id": round_id, "revision": 1, "status": "open",
                       "turnout": {"voted": 1, "eligible": 3, "percent": 33.3}}]

    status = call(voter, "vote.status", tavolo_id=vw.tavolo.id, round_id=round_id)
    assert status["ok"] and status["result"]["voted"] is True and status["result"]["ballot"] == pts(vw, 7, 3)

    ack = call(facilitator, "vote.close", op_id=op_id(), tavolo_id=vw.tavolo.id, round_id=round_id)
    assert ack["ok"] and ack["result"]["ranking"][0]["bisogno_id"] == vw.bisogni[0], ack
    closed = [e for e in received(voter, "event") if e["kind"] == "vote.closed"]
    assert closed and closed[0]["payload"]["result"]["tally"]["scores"][str(vw.bisogni[0])] == 7
    assert closed[0]["payload"]["ballots"][0]["person"] == vw.delegate.name

    late = call(voter, "vote.cast", op_id=op_id(), tavolo_id=vw.tavolo.id, round_id=round_id, ballot=pts(vw, 1))
    assert late["error"] == "vote_closed" and "la scheda non è stata registrata" in late["message"], late


def test_declare_interest_and_tie_break_over_the_socket(app, vw, connect):
    round_id = new_round(app, vw, method="approval", settings={})
    facilitator, _ = joined(connect, vw.facilitator, vw.tavolo.id)
    voter, _ = joined(connect, vw.delegate, vw.tavolo.id)
    ack = call(voter, "vote.declare_interest", op_id=op_id(), tavolo_id=vw.tavolo.id, round_id=round_id,
               bisogno_id=vw.bisogni[3], note="Siamo gestori del servizio")
    assert ack["ok"], ack
    declared = received(facilitator, "event")
    assert declared[0]["kind"] == "vote.interest_declared" and declared[0]["payload"]["note"] == \
        "Siamo gestori del servizio"
    refused = call(voter, "vote.cast", op_id=op_id(), tavolo_id=vw.tavolo.id, round_id=round_id,
                   ballot={"approve": [str(vw.bisogni[3])]})
    assert refused["error"] == "conflict_of_interest" and "Demenze e Alzheimer" in refused["message"]
    assert call(voter, "vote.cast", op_id=op_id(), tavolo_id=vw.tavolo.id, round_id=round_id,
                ballot={"approve": [vw.bisogni[0], vw.bisogni[1]]})["ok"]
    assert call(facilitator, "vote.close", op_id=op_id(), tavolo_id=vw.tavolo.id, round_id=round_id)["ok"]
    ack = call(facilitator, "vote.tie_break", op_id=op_id(), tavolo_id=vw.tavolo.id, round_id=round_id,
               seed="numero estratto 17")
    assert ack["ok"] and ack["result"]["seed"] == "numero estratto 17"
    assert [r["place"] for r in ack["result"]["ranking"]] == [1, 2, 3, 4]
    again = call(facilitator, "vote.tie_break", op_id=op_id(), tavolo_id=vw.tavolo.id, round_id=round_id)
    assert again == {"error": "conflict", "message": "Lo spareggio di questa votazione è già stato fatto."}


def test_bad_vote_messages_get_italian_acks_and_write_nothing(app, vw, connect):
    round_id = new_round(app, vw, secret=True)
    voter, _ = joined(connect, vw.delegate, vw.tavolo.id)
    observer, _ = joined(connect, vw.observer, vw.tavolo.id)
    realtime.flush_pushes(app)
    received(observer, live.LIVE_MESSAGE)  # only what the bad messages might cause is checked below
    base = {"tavolo_id": vw.tavolo.id, "round_id": round_id}
    cases = [
        (voter, {**base, "op_id": op_id()}, "invalid", "Manca un campo obbligatorio: ballot."),
        (voter, {**base, "ballot": pts(vw, 1)}, "invalid", "Manca un campo obbligatorio: op_id."),
        (voter, {**base, "op_id": op_id(), "ballot": [1]}, "invalid", "Valore non valido per il campo «ballot»."),
        (voter, {**base, "op_id": op_id(), "ballot": pts(vw, 1), "extra": 1}, "invalid",
         "Campo non previsto nel messaggio."),
        (voter, {**base, "op_id": op_id(), "round_id": 999_999, "ballot": pts(vw, 1)}, "not_found",
         "Votazione inesistente."),
        (voter, {**base, "op_id": op_id(), "tavolo_id": vw.tavolo.id + 1000, "ballot": pts(vw, 1)}, "not_found",
         "Votazione inesistente."),
        (voter, {**base, "op_id": op_id(), "ballot": pts(vw, 9, 9)}, "invalid_ballot",
         "Scheda non valida: troppi punti: 18 in totale (al massimo 10)."),
        (voter, {**base, "op_id": op_id(), "ballot": {"points": {"12345": 1}}}, "invalid_ballot",
         "Scheda non valida: candidato sconosciuto «12345»."),
        (observer, {**base, "op_id": op_id(), "ballot": pts(vw, 1)}, "forbidden",
         "Non sei fra gli aventi diritto al voto in questa votazione."),
    ]
    for client, data, code, message in cases:
        assert client.emit("vote.cast", data, namespace=NAMESPACE, callback=True) == {"error": code,
                                                                                        "message": message}, data
    assert voter.emit("vote.cast", "not a dict", namespace=NAMESPACE, callback=True)["error"] == "invalid"
    assert call(voter, "vote.open", op_id=op_id(), **base) == {"error": "forbidden",
                                                               "message": "Solo i facilitatori del tavolo possono farlo."}
    with app.app_context():
        assert db.session.query(PooledBallot).count() == db.session.query(SecretBallot).count() == 0
        assert db.session.get(VoteRound, round_id).revision == 0
    assert realtime.flush_pushes(app) == 0
    assert received(observer, live.LIVE_MESSAGE) == []


def test_a_retried_cast_is_acknowledged_as_duplicate(app, vw, connect):
    round_id = new_round(app, vw, secret=True)
    voter, _ = joined(connect, vw.delegate, vw.tavolo.id)
    data = {"op_id": op_id(), "tavolo_id": vw.tavolo.id, "round_id": round_id, "ballot": pts(vw, 10)}
    first = voter.emit("vote.cast", data, namespace=NAMESPACE, callback=True)
    second = voter.emit("vote.cast", data, namespace=NAMESPACE, callback=True)
    assert first["ok"] and "duplicate" not in first
    assert second["ok"] and second["duplicate"] is True and second["result"]["duplicate"] is True
    other = voter.emit("vote.cast", {**data, "op_id": op_id()}, namespace=NAMESPACE, callback=True)
    assert other == {"error": "already_voted", "message": "Hai già votato: nel voto segreto la scheda non si può "
                                                          "sostituire."}
    with app.app_context():  # in the pool until the round closes
        assert (db.session.query(PooledBallot).count(), db.session.query(SecretBallot).count()) == (1, 0)


# --------------------------------------------------------------------------------------- live pushes


def test_turnout_pushes_are_coalesced(app, vw, connect):
    with app.app_context():
        session = db.session
        people = add_delegates(session, vw, "ets", 27, "ETS folla")
        vote = make_round(session, vw)
        round_id, voter_ids = vote.id, [vw.delegate.id, vw.colleague.id, vw.delegate2.id, *[p.id for p in people]]
    watcher, _ = joined(connect, vw.observer, vw.tavolo.id)
    from workspace.accounts.models import User

    started = time.monotonic()
    with app.app_context():
        session = db.session
        for n, user_id in enumerate(voter_ids):
            cast(session, session.get(User, user_id), session.get(VoteRound, round_id), pts(vw, n % 10 + 1))
    elapsed = time.monotonic() - started
    pushes = wait_for(watcher, live.LIVE_MESSAGE, lambda got: any(p["revision"] == 30 for p in got))
    assert pushes[-1]["turnout"] == {"voted": 30, "eligible": 30, "percent": 100.0}
    assert pushes[-1]["revision"] == 30
    # At most one push per interval (plus the trailing one), never one per ballot.
    assert len(pushes) <= elapsed / live.PUSH_INTERVAL + 2, (len(pushes), elapsed)
    assert len(pushes) < 30
    assert [p["revision"] for p in pushes] == sorted(p["revision"] for p in pushes)
    assert all("tally" not in p for p in pushes)


def test_partial_tallies_are_pushed_only_when_the_round_shows_them(app, vw, connect):
    shown = new_round(app, vw, partial_results=True)
    secret = new_round(app, vw, secret=True)
    watcher, _ = joined(connect, vw.observer, vw.tavolo.id)
    voter, _ = joined(connect, vw.delegate, vw.tavolo.id)
    for round_id in (shown, secret):
        assert call(voter, "vote.cast", op_id=op_id(), tavolo_id=vw.tavolo.id, round_id=round_id,
                    ballot=pts(vw, 4, 6))["ok"]
    got = wait_for(watcher, live.LIVE_MESSAGE, lambda got: {p["round_id"] for p in got} == {shown, secret})
    pushes = {p["round_id"]: p for p in got}
    assert pushes[shown]["tally"]["scores"][str(vw.bisogni[1])] == 6
    assert pushes[shown]["tally"]["ranking"][0] == [str(vw.bisogni[1])]
    assert "tally" not in pushes[secret] and pushes[secret]["turnout"]["voted"] == 1


def test_joining_gets_the_open_rounds_in_the_snapshot(app, vw, connect):
    round_id = new_round(app, vw)
    with app.app_context():
        session = db.session
        from workspace.accounts.models import User

        cast(session, session.get(User, vw.delegate.id), session.get(VoteRound, round_id), pts(vw, 10))
    client = connect(vw.delegate2)
    reply = call(client, "join", tavolo_id=vw.tavolo.id)
    assert reply["ok"] and reply["mode"] == "snapshot"
    (entry,) = reply["snapshot"]["votazioni"]
    assert entry["id"] == round_id and entry["status"] == "open" and entry["turnout"]["voted"] == 1
    assert "tally" not in entry


def test_a_cast_through_http_services_is_pushed_too(app, vw, connect):
    """Any committed ballot (socket, HTTP view, test) reaches the room: the push hangs on the commit."""
    round_id = new_round(app, vw)
    watcher, _ = joined(connect, vw.facilitator, vw.tavolo.id)
    with app.app_context():
        session = db.session
        from workspace.accounts.models import User

        vote = session.get(VoteRound, round_id)
        ballots.cast_ballot(session, session.get(User, vw.delegate.id), vote, pts(vw, 10))
        session.rollback()  # not committed: nothing is pushed
        cast(session, session.get(User, vw.delegate2.id), vote, pts(vw, 10))
        assert session.query(OpenBallot).count() == 1
    pushes = wait_for(watcher, live.LIVE_MESSAGE)
    assert realtime.flush_pushes(app) == 0
    pushes += received(watcher, live.LIVE_MESSAGE)
    assert [p["turnout"]["voted"] for p in pushes] == [1]


def test_a_push_goes_out_through_its_own_apps_server(app, vw, connect):
    """The shared ``socketio`` object gets a new server with every app created: a push still waiting
    when its app goes away (an earlier test's) must not land in the rooms of the next app."""
    import socketio as python_socketio

    round_id = new_round(app, vw)
    watcher, _ = joined(connect, vw.facilitator, vw.tavolo.id)
    own = socketio.server
    socketio.server = python_socketio.Server(async_mode="threading")  # as creating another app does
    try:
        with app.app_context():
            session = db.session
            from workspace.accounts.models import User

            cast(session, session.get(User, vw.delegate.id), session.get(VoteRound, round_id), pts(vw, 10))
        pushes = wait_for(watcher, live.LIVE_MESSAGE)
    finally:
        socketio.server = own
    assert [(p["round_id"], p["revision"]) for p in pushes] == [(round_id, 1)]


def test_flushing_sends_the_pending_push_at_once_and_later_ones_still_go_out(app, vw, connect):
    round_id = new_round(app, vw)
    watcher, _ = joined(connect, vw.facilitator, vw.tavolo.id)
    from workspace.accounts.models import User

    with app.app_context():
        session = db.session
        cast(session, session.get(User, vw.delegate.id), session.get(VoteRound, round_id), pts(vw, 10))
    assert realtime.flush_pushes(app) == 1
    assert [p["revision"] for p in received(watcher, live.LIVE_MESSAGE)] == [1]
    assert realtime.flush_pushes(app) == 0
    with app.app_context():
        session = db.session
        cast(session, session.get(User, vw.colleague.id), session.get(VoteRound, round_id), pts(vw, 5))
    assert [p["revision"] for p in wait_for(watcher, live.LIVE_MESSAGE)] == [2]
