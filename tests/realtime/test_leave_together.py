"""Departures arriving together (a seduta ends, the hall's network drops) are handled as a batch:
one transaction and one message for the presences they end, with each person's outcome the same as
alone — someone still connected from another device stays present, a presence the facilitator
marked stays, the quorum each event carries is the one after that departure."""
from __future__ import annotations

import pytest

from tests.realtime.support import attached, db_session, events, join
from workspace import realtime
from workspace.realtime import NAMESPACE
from workspace.tavoli import service as tavoli
from workspace.tavoli.models import Presence, Seduta


def _start(app, world):
    with db_session(app) as session:
        tavoli.start_seduta(session, attached(world, session).facilitator, session.get(Seduta, world.seduta.id))
        session.commit()


def _gone(client) -> None:
    """What a disconnect does before the presence: the connection is out of every room."""
    from workspace.extensions import socketio

    sid = socketio.server.manager.sid_from_eio_sid(client.eio_sid, NAMESPACE)
    state = realtime._state()
    with state.lock:
        state.rooms_by_sid.pop(sid, None)
        state.sid_user.pop(sid, None)


def _open(app, world) -> set[int]:
    from sqlalchemy import select

    with db_session(app) as session:
        return set(session.scalars(select(Presence.user_id).where(Presence.seduta_id == world.seduta.id,
                                                                  Presence.left_at.is_(None))))


def _present(app, world, connect):
    """The facilitator watches; the delegate and colleague (one organisation), delegate2 (two
    devices) and the observer (then marked present by the facilitator) are in the room, present."""
    _start(app, world)
    watcher = connect(world.facilitator)
    join(watcher, world.tavolo.id)
    clients = {}
    for name in ("delegate", "colleague", "delegate2", "observer"):
        clients[name] = connect(getattr(world, name))
        join(clients[name], world.tavolo.id, register=False)
    clients["delegate2 (telefono)"] = connect(world.delegate2)
    join(clients["delegate2 (telefono)"], world.tavolo.id, register=False)
    with db_session(app) as session:
        people = attached(world, session)
        tavoli.mark_presence(session, people.facilitator, session.get(Seduta, world.seduta.id), people.observer.id, True)
        session.commit()
    events(watcher)
    return watcher, clients


def test_a_batch_of_departures_ends_each_presence_as_alone_in_one_message(app, world, connect):
    watcher, clients = _present(app, world, connect)
    assert _open(app, world) == {world.facilitator.id, world.delegate.id, world.colleague.id, world.delegate2.id,
                                 world.observer.id}
    with app.test_request_context():
        for name in ("delegate", "colleague", "observer", "delegate2 (telefono)"):
            _gone(clients[name])
        with db_session(app) as session:
            people = attached(world, session)
            batch = [realtime._Departure(people.delegate, world.tavolo.id),
                     realtime._Departure(people.colleague, world.tavolo.id),
                     realtime._Departure(people.observer, world.tavolo.id),
                     realtime._Departure(people.delegate2, world.tavolo.id),
                     realtime._Departure(people.delegate, world.tavolo.id)]  # twice in the batch: once
            together = realtime.departures(app)
            waiting = together.waiting(*batch)
            together.lead()
            session.rollback()
    assert all(w.done for w in waiting) and not together.leading and not together.queue
    # Ended: the two who left for good. Still present: delegate2 (the phone is still connected), the
    # observer (marked by the facilitator), the facilitator.
    assert _open(app, world) == {world.facilitator.id, world.delegate2.id, world.observer.id}
    received = watcher.get_received(NAMESPACE)
    batches = [m for m in received if m["name"] in ("event", "events")]
    assert len(batches) == 1 and batches[0]["name"] == "events"
    left = batches[0]["args"][0]["events"]
    assert [(e["kind"], e["payload"]["user_id"]) for e in left] == [
        ("presence.left", world.delegate.id), ("presence.left", world.colleague.id)]
    # The quorum after each departure: the organisation stays present while its colleague is there.
    first, second = (e["payload"]["quorum"] for e in left)
    assert first["people_present"] == 4 and second["people_present"] == 3
    assert first["organisations_present"] == second["organisations_present"] + 1
    with db_session(app) as session:
        assert second == tavoli.quorum(session, session.get(Seduta, world.seduta.id))
        session.rollback()
    assert all(e["payload"]["left_at"] for e in left)


def test_a_failed_batch_records_the_departures_one_by_one(app, world, connect, monkeypatch):
    """The batch's transaction fails (a lock timeout, say): each departure is then recorded on its own,
    and nobody stays present by mistake."""
    watcher, clients = _present(app, world, connect)

    def broken(*_args, **_kwargs):
        raise RuntimeError("database is locked")

    monkeypatch.setattr(tavoli, "presence_leave_many", broken)
    with app.test_request_context():
        for name in ("delegate", "colleague"):
            _gone(clients[name])
        with db_session(app) as session:
            people = attached(world, session)
            together = realtime.departures(app)
            together.waiting(realtime._Departure(people.delegate, world.tavolo.id),
                             realtime._Departure(people.colleague, world.tavolo.id))
            together.lead()
            session.rollback()
    assert world.delegate.id not in _open(app, world) and world.colleague.id not in _open(app, world)
    assert [(e["kind"], e["payload"]["user_id"]) for e in events(watcher)] == [
        ("presence.left", world.delegate.id), ("presence.left", world.colleague.id)]


@pytest.mark.parametrize("how", ["disconnect", "leave"])
def test_a_real_departure_goes_through_the_batch(app, world, connect, how):
    """Closing the connection or sending ``leave``: the presence ends (a batch of one)."""
    watcher, clients = _present(app, world, connect)
    client = clients["delegate"]
    if how == "disconnect":
        client.disconnect(namespace=NAMESPACE)
    else:
        assert client.emit("leave", {"tavolo_id": world.tavolo.id}, namespace=NAMESPACE, callback=True)["ok"]
    assert world.delegate.id not in _open(app, world)
    assert [(e["kind"], e["payload"]["user_id"]) for e in events(watcher)] == [("presence.left", world.delegate.id)]
    assert not realtime.departures(app).leading
