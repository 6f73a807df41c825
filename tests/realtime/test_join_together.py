"""Joins arriving together (a seduta starting, a server restarting) are handled as a batch: one
permission query, one presence transaction, one reply read — with each joiner's own outcome the same
as alone. And the attendance register comes only to the screens that ask for it (``register``)."""
from __future__ import annotations

import pytest

from tests.realtime.support import attached, call, db_session, events, join, op
from workspace import realtime, record
from workspace.problems import Problem
from workspace.realtime import NAMESPACE
from workspace.tavoli import live as tavoli_live
from workspace.tavoli import service as tavoli
from workspace.tavoli.models import Seduta


def _start(app, world):
    with db_session(app) as session:
        tavoli.start_seduta(session, attached(world, session).facilitator, session.get(Seduta, world.seduta.id))
        session.commit()


def _sid(client) -> str:
    from workspace.extensions import socketio

    return socketio.server.manager.sid_from_eio_sid(client.eio_sid, NAMESPACE)


def test_a_batch_of_joins_admits_enters_records_and_answers_each_as_alone(app, world, connect):
    """Four joins queued behind a leader: the outsider is refused (403) and stays out of the room; the
    others are in the room, present (one batch message), and answered from one read — the same
    snapshot for the two first loads, a replay for the one that gave its last_seq."""
    _start(app, world)
    watcher = connect(world.facilitator)
    join(watcher, world.tavolo.id)
    events(watcher)
    clients = {name: connect(getattr(world, name)) for name in ("delegate", "colleague", "outsider", "delegate2")}
    with db_session(app) as session:
        base = record.last_seq(session, world.tavolo.id)
    with app.test_request_context(), db_session(app) as session:
        people = attached(world, session)
        batch = [realtime._Arrival(people.delegate, world.tavolo.id, "presenza", sid=_sid(clients["delegate"])),
                 realtime._Arrival(people.colleague, world.tavolo.id, "remoto", sid=_sid(clients["colleague"])),
                 realtime._Arrival(people.outsider, world.tavolo.id, "remoto", sid=_sid(clients["outsider"])),
                 realtime._Arrival(people.delegate2, world.tavolo.id, sid=_sid(clients["delegate2"]),
                                   presence=False, last_seq=base, register=True)]
        arrivals = realtime.arrivals(app)
        waiting = arrivals.waiting(*batch)
        arrivals.lead()
    delegate, colleague, outsider, late = batch
    assert all(w.done and w.ready.is_set() for w in waiting) and not arrivals.leading and not arrivals.queue
    assert isinstance(outsider.error, Problem) and outsider.error.status == 403 and outsider.reply is None
    assert delegate.error is None and colleague.error is None and late.error is None
    # Presences: one message for the batch, in order, before the replies were read.
    got = events(watcher)
    assert [(e["kind"], e["payload"]["user_id"]) for e in got] == [
        ("presence.joined", world.delegate.id), ("presence.joined", world.colleague.id)]
    head = got[-1]["seq"]
    # Replies: one snapshot shared by the first loads (no register asked: counts only), a replay for
    # the one that had a last_seq.
    assert delegate.reply is colleague.reply
    assert delegate.reply["mode"] == "snapshot" and delegate.reply["last_seq"] == head
    snapshot = record_json(delegate.reply["snapshot"])
    assert "presences" not in snapshot and snapshot["quorum"]["people_present"] == 3
    assert late.reply["mode"] == "replay" and [e["seq"] for e in late.reply["events"]] == [base + 1, base + 2]
    # Rooms: the admitted receive the tavolo's next event, the refused does not.
    for client in clients.values():
        client.get_received(NAMESPACE)
    assert op(watcher, "bisogno.create", world.tavolo.id, title="Dopo la raffica", macroarea="E")["ok"]
    for name in ("delegate", "colleague", "delegate2"):
        assert [e["kind"] for e in events(clients[name])] == ["bisogno.created"], name
    assert events(clients["outsider"]) == []


def record_json(encoded) -> dict:
    import json

    return json.loads(encoded.text if hasattr(encoded, "text") else json.dumps(encoded))


@pytest.mark.parametrize("who", ["facilitator", "delegate", "observer", "admin", "outsider"])
def test_the_batch_guard_gives_the_verdicts_of_the_guard_one_by_one(app, world, who):
    """``guard_together`` against ``guard``: the same admission, the same refusal (status and message),
    for every kind of person, and for a tavolo that does not exist (404)."""
    with db_session(app) as session:
        user = getattr(attached(world, session), who)
        for tavolo_id in (world.tavolo.id, world.tavolo.id + 999):
            try:
                tavoli_live.guard(session, user, tavolo_id)
                alone = None
            except Problem as problem:
                alone = (problem.status, problem.message)
            (together,) = tavoli_live.guard_together(session, [(user, tavolo_id)])
            assert (None if together is None else (together.status, together.message)) == alone
        session.rollback()


def test_a_join_gets_the_register_only_when_it_asks(app, world, connect):
    """A participant's screen shows counts: its snapshot has the quorum with the number of people and no
    register; the console asks for the register and gets everyone present — both at the same seq."""
    _start(app, world)
    console = connect(world.facilitator)
    with_register = join(console, world.tavolo.id, register=True)
    participant = connect(world.delegate)
    without = join(participant, world.tavolo.id, register=False, mode="presenza")
    console_again = join(connect(world.facilitator), world.tavolo.id, register=True)
    assert without["last_seq"] == console_again["last_seq"] > with_register["last_seq"]
    plain = record_json(without["snapshot"])
    full = record_json(console_again["snapshot"])
    assert "presences" not in plain
    assert [p["user_id"] for p in full["presences"]] == [world.facilitator.id, world.delegate.id]
    assert plain["quorum"] == full["quorum"] and plain["quorum"]["people_present"] == 2
    assert {k: v for k, v in full.items() if k != "presences"} == plain
    # A resync asks the same way.
    assert "presences" not in record_json(call(participant, "resync", {"tavolo_id": world.tavolo.id})["snapshot"])
    assert call(participant, "join", {"tavolo_id": world.tavolo.id, "register": "sì"})["error"] == "invalid"
