"""Presence over the live channel: automatic on join during a live seduta, left_at on disconnect
(not while another connection of the same person is still on the tavolo), manual marking by the
facilitator, and the quorum indicator in the payloads."""
from __future__ import annotations

from sqlalchemy import select

from tests.realtime.support import attached, call, connected, db_session, events, footprint, join, op
from workspace import record
from workspace.realtime import NAMESPACE
from workspace.tavoli import service as tavoli
from workspace.tavoli.models import Presence, Seduta


def _start(app, world):
    with db_session(app) as session:
        tavoli.start_seduta(session, attached(world, session).facilitator, session.get(Seduta, world.seduta.id))
        session.commit()


def _presences(app, user_id):
    with db_session(app) as session:
        return [(p.mode, p.source, p.left_at is not None)
                for p in session.scalars(select(Presence).where(Presence.user_id == user_id).order_by(Presence.id))]


def _kinds(evts):
    return [e["kind"] for e in evts]


def test_no_presence_without_a_live_seduta(app, world, connect):
    client = connect(world.delegate)
    before = footprint(app, world.tavolo.id)
    join(client, world.tavolo.id)
    assert footprint(app, world.tavolo.id) == before and _presences(app, world.delegate.id) == []


def test_join_during_a_live_seduta_marks_presence(app, world, connect):
    _start(app, world)
    watcher = connect(world.facilitator)
    join(watcher, world.tavolo.id)
    events(watcher)
    client = connect(world.delegate)
    reply = join(client, world.tavolo.id, mode="presenza")
    got = events(watcher)
    assert _kinds(got) == ["presence.joined"]
    payload = got[0]["payload"]
    assert (payload["user_id"], payload["mode"], payload["source"], payload["organisation"], payload["left_at"]) == (
        world.delegate.id, "presenza", "auto", world.ets.name, None)
    assert payload["quorum"] == {"organisations_present": 1, "organisations_total": 2, "people_present": 2,
                                 "threshold_percent": 50, "reached": True}
    # the joiner's own snapshot already counts it
    assert [p["user_id"] for p in reply["snapshot"]["presences"]] == [world.facilitator.id, world.delegate.id]
    assert reply["snapshot"]["quorum"] == payload["quorum"]
    assert _presences(app, world.delegate.id) == [("presenza", "auto", False)]


def test_join_without_presence(app, world, connect):
    _start(app, world)
    client = connect(world.delegate)
    join(client, world.tavolo.id, presence=False)
    assert _presences(app, world.delegate.id) == []


def test_second_connection_keeps_presence_until_the_last_one_leaves(app, world, connect):
    _start(app, world)
    watcher = connect(world.facilitator)
    join(watcher, world.tavolo.id)
    phone = connect(world.delegate)
    laptop = connect(world.delegate)
    join(phone, world.tavolo.id)
    join(laptop, world.tavolo.id)
    events(watcher)
    assert _presences(app, world.delegate.id) == [("remoto", "auto", False)]  # one stretch, two devices
    phone.disconnect(namespace=NAMESPACE)
    assert events(watcher) == [] and _presences(app, world.delegate.id) == [("remoto", "auto", False)]
    laptop.disconnect(namespace=NAMESPACE)
    got = events(watcher)
    assert _kinds(got) == ["presence.left"]
    assert got[0]["payload"]["user_id"] == world.delegate.id and got[0]["payload"]["left_at"]
    assert got[0]["payload"]["quorum"]["organisations_present"] == 0
    assert _presences(app, world.delegate.id) == [("remoto", "auto", True)]
    assert connected(watcher)


def test_colleague_keeps_the_organisation_present(app, world, connect):
    _start(app, world)
    watcher = connect(world.facilitator)
    join(watcher, world.tavolo.id)
    delegate, colleague = connect(world.delegate), connect(world.colleague)
    join(delegate, world.tavolo.id)
    join(colleague, world.tavolo.id)
    quorum = events(watcher)[-1]["payload"]["quorum"]
    assert (quorum["organisations_present"], quorum["people_present"]) == (1, 3)
    delegate.disconnect(namespace=NAMESPACE)
    quorum = events(watcher)[-1]["payload"]["quorum"]
    assert (quorum["organisations_present"], quorum["people_present"]) == (1, 2)


def test_leave_event_ends_presence(app, world, connect):
    _start(app, world)
    watcher = connect(world.facilitator)
    join(watcher, world.tavolo.id)
    client = connect(world.delegate2)
    join(client, world.tavolo.id)
    events(watcher)
    assert call(client, "leave", {"tavolo_id": world.tavolo.id}) == {"ok": True}
    assert _kinds(events(watcher)) == ["presence.left"]
    assert _presences(app, world.delegate2.id) == [("remoto", "auto", True)]
    # rejoining opens a new stretch of attendance
    join(client, world.tavolo.id)
    assert _kinds(events(watcher)) == ["presence.joined"]
    assert _presences(app, world.delegate2.id) == [("remoto", "auto", True), ("remoto", "auto", False)]


def test_facilitator_marks_someone_without_a_device(app, world, connect):
    _start(app, world)
    facilitator = connect(world.facilitator)
    join(facilitator, world.tavolo.id)
    watcher = connect(world.observer)
    join(watcher, world.tavolo.id)
    events(watcher)
    ack = op(facilitator, "presence.mark", world.tavolo.id, seduta_id=world.seduta.id, user_id=world.delegate2.id,
             present=True, mode="presenza")
    assert ack["ok"] and ack["result"]["quorum"]["organisations_present"] == 1
    got = events(watcher)
    assert _kinds(got) == ["presence.marked"] and got[0]["seq"] == ack["seq"]
    assert got[0]["payload"]["presence"]["source"] == "manual"
    # the person then opens the page and closes it again: the manual mark stands
    device = connect(world.delegate2)
    join(device, world.tavolo.id)
    device.disconnect(namespace=NAMESPACE)
    assert events(watcher) == [] and _presences(app, world.delegate2.id) == [("presenza", "manual", False)]
    ack = op(facilitator, "presence.mark", world.tavolo.id, seduta_id=world.seduta.id, user_id=world.delegate2.id,
             present=False)
    assert ack["ok"] and ack["result"]["quorum"]["organisations_present"] == 0
    assert _presences(app, world.delegate2.id) == [("presenza", "manual", True)]


def test_closing_the_seduta_ends_presences_and_later_disconnects_write_nothing(app, world, connect):
    _start(app, world)
    facilitator = connect(world.facilitator)
    join(facilitator, world.tavolo.id)
    client = connect(world.delegate)
    join(client, world.tavolo.id)
    ack = op(facilitator, "seduta.close", world.tavolo.id, seduta_id=world.seduta.id)
    assert ack["ok"]
    assert _presences(app, world.delegate.id) == [("remoto", "auto", True)]
    before = footprint(app, world.tavolo.id)
    client.disconnect(namespace=NAMESPACE)
    assert footprint(app, world.tavolo.id) == before


def test_a_join_storm_records_presences_in_one_batch_and_a_refusal_undoes_only_its_own(app, world, connect):
    """Joins arriving together are written by one of them in one transaction (group commit): every
    presence and its numbered event are there, each joiner gets its own outcome, and one refused
    (not of this tavolo) leaves the others recorded."""
    from workspace import realtime
    from workspace.problems import Problem

    _start(app, world)
    watcher = connect(world.facilitator)
    join(watcher, world.tavolo.id)
    events(watcher)
    before = footprint(app, world.tavolo.id)
    with app.test_request_context(), db_session(app) as session:
        people = attached(world, session)
        batch = [realtime._Arrival(people.delegate, world.tavolo.id, "presenza"),
                 realtime._Arrival(people.outsider, world.tavolo.id, "remoto"),
                 realtime._Arrival(people.colleague, world.tavolo.id, "remoto")]
        realtime._write_arrivals(session, batch)
    assert batch[0].error is None and batch[2].error is None
    assert isinstance(batch[1].error, Problem) and batch[1].error.status == 403
    assert _presences(app, world.delegate.id) == [("presenza", "auto", False)]
    assert _presences(app, world.colleague.id) == [("remoto", "auto", False)]
    assert _presences(app, world.outsider.id) == []
    # One message for the batch (not one per presence: a storm's fan-out stays O(n) messages).
    received = [m for m in watcher.get_received(NAMESPACE) if m["name"] in ("event", "events")]
    assert [m["name"] for m in received] == ["events"]
    assert received[0]["args"][0]["tavolo_id"] == world.tavolo.id
    got = received[0]["args"][0]["events"]
    assert [(e["kind"], e["payload"]["user_id"]) for e in got] == [
        ("presence.joined", world.delegate.id), ("presence.joined", world.colleague.id)]
    assert got[1]["seq"] == got[0]["seq"] + 1
    assert got[1]["payload"]["quorum"]["people_present"] == 3
    after = footprint(app, world.tavolo.id)
    assert after != before


def test_joins_queued_behind_a_leader_are_written_by_it(app, world):
    """The first arrival leads; arrivals queued meanwhile are written in its batch and woken done."""
    from workspace import realtime

    _start(app, world)
    with app.test_request_context(), db_session(app) as session:
        people = attached(world, session)
        arrivals = realtime.arrivals(app)
        queued = realtime._Arrival(people.delegate, world.tavolo.id, "remoto")
        leader = realtime._Arrival(people.colleague, world.tavolo.id, "remoto")
        # A leader is on its way: the queued arrival waits for it.
        waiting = arrivals.waiting(leader, queued)
        arrivals.lead()
    assert all(w.done and w.ready.is_set() for w in waiting) and queued.error is None and leader.error is None
    assert not arrivals.queue and not arrivals.leading
    assert _presences(app, world.delegate.id) == [("remoto", "auto", False)]
    assert _presences(app, world.colleague.id) == [("remoto", "auto", False)]


def test_a_batch_of_joins_records_what_the_same_joins_one_by_one_would(app, world):
    """``presence_join_many`` (the storm's batch) against ``presence_join`` person by person: the
    same presences, the same refusals (an outsider, a wrong mode), nothing twice for someone already
    present or in the batch twice, an administrator without a role present as facilitator, and each
    event's quorum as it stood after that presence."""
    from workspace.problems import Problem

    _start(app, world)
    with db_session(app) as session:
        people = attached(world, session)
        seduta = session.get(Seduta, world.seduta.id)
        tavoli.presence_join(session, people.facilitator, seduta, "remoto")  # present before the storm
        session.commit()
        arrivals = [(people.delegate, "presenza"), (people.outsider, "remoto"), (people.colleague, "remoto"),
                    (people.delegate, "remoto"), (people.facilitator, "remoto"), (people.delegate2, "altro"),
                    (people.observer, "remoto"), (people.admin, "remoto"), (people.delegate2, "remoto")]

        def outcome(fn):
            got = []
            for user, mode in arrivals:
                try:
                    with session.begin_nested():
                        ev = fn(user, mode)
                    got.append(None if ev is None else (ev.kind, {k: v for k, v in ev.payload.items()
                                                                  if k not in ("id", "joined_at")}))
                except Problem as problem:
                    got.append((problem.status, problem.message))
            return got

        def drop_ids(events):
            return [(e.kind, {k: v for k, v in e.payload.items() if k not in ("id", "joined_at")}) for e in events]

        base = record.last_seq(session, world.tavolo.id)
        outer = session.begin_nested()
        one_by_one = outcome(lambda user, mode: tavoli.presence_join(session, user, seduta, mode))
        expected_events = [o for o in one_by_one if o is not None and o[0] == "presence.joined"]
        outer.rollback()
        assert record.last_seq(session, world.tavolo.id) == base

        problems = tavoli.presence_join_many(session, seduta, arrivals)
        events_now = record.events_between(session, world.tavolo.id)[-len(expected_events):]
        assert [e.seq for e in events_now] == list(range(base + 1, base + 1 + len(expected_events)))
        assert drop_ids(events_now) == expected_events
        refused = [(p.status, p.message) if p is not None else None for p in problems]
        assert refused == [o if o is not None and o[0] != "presence.joined" else None for o in one_by_one]
        assert [r for r in refused if r] and refused[1][0] == 403 and refused[5][0] == 422
        assert expected_events[-1][1]["quorum"] == tavoli.quorum(session, seduta)
        session.rollback()
