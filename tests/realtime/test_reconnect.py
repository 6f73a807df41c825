"""Reconnect: a client that drops and comes back with its last_seq ends in exactly the state of a
client that never dropped and of a fresh snapshot; a client too far behind gets a snapshot; a
client that sees a gap in the numbers resyncs. The client side is tests/realtime/client_state.py."""
from __future__ import annotations

import pytest

from tests.realtime.client_state import ClientState
from tests.realtime.support import attached, call, db_session, events, fresh_snapshot, join, op
from workspace import realtime, record
from workspace.realtime import NAMESPACE
from workspace.tavoli import service as tavoli
from workspace.tavoli.models import Seduta


class Member:
    """A connected client and the state it keeps."""

    def __init__(self, connect, user, tavolo_id: int):
        self.user, self.tavolo_id, self._connect = user, tavolo_id, connect
        self.state = ClientState()
        self.client = None

    def open(self, **join_extra) -> dict:
        self.client = self._connect(self.user)
        extra = dict(join_extra)
        if self.state.last_seq is not None:
            extra["last_seq"] = self.state.last_seq
        reply = join(self.client, self.tavolo_id, **extra)
        self.state.apply_reply(reply)
        self.pump()
        return reply

    def pump(self) -> list[str]:
        outcomes = [self.state.receive(e) for e in events(self.client) if e["tavolo_id"] == self.tavolo_id]
        assert not self.state.needs_resync, self.state.held
        return outcomes

    def drop(self) -> None:
        self.client.disconnect(namespace=NAMESPACE)


def _ok(ack) -> dict:
    assert isinstance(ack, dict) and ack.get("ok"), ack
    return ack


def _twenty_events(fac, del2, col, tavolo_id: int, seduta_id: int, agenda: list[int], col_user_id: int) -> None:
    """Twenty changes by three people: bisogni, annotations, status changes, supports and more."""
    t = tavolo_id
    b1 = _ok(op(del2, "bisogno.create", t, title="Trasporti per le visite", macroarea="E"))["result"]["id"]
    b2 = _ok(op(col, "bisogno.create", t, title="Caregiver esausti", macroarea="E",
                description="Servono **sollievi**."))["result"]["id"]
    b3 = _ok(op(fac, "bisogno.create", t, title="Solitudine", macroarea="E"))["result"]["id"]
    a1 = _ok(op(del2, "annotation.create", t, bisogno_id=b1, kind="dato", body="120 richieste/anno"))["result"]["id"]
    a2 = _ok(op(col, "annotation.create", t, bisogno_id=b1, kind="risorsa", body="Due pulmini"))["result"]["id"]
    _ok(op(fac, "annotation.create", t, bisogno_id=b2, kind="proposta", body="Centro sollievo", parent_id=None))
    _ok(op(col, "annotation.support", t, annotation_id=a1, support=True))
    _ok(op(del2, "annotation.support", t, annotation_id=a2, support=True))
    _ok(op(fac, "bisogno.status", t, bisogno_id=b1, status="in_discussione"))
    _ok(op(fac, "spotlight.set", t, seduta_id=seduta_id, bisogno_id=b1))
    _ok(op(fac, "agenda.move", t, seduta_id=seduta_id, item_id=agenda[1]))
    _ok(op(col, "bisogno.update", t, bisogno_id=b2, expected_version=1, title="Caregiver familiari esausti"))
    _ok(op(fac, "bisogno.merge", t, bisogno_id=b3, into_id=b2))
    a4 = _ok(op(del2, "annotation.create", t, bisogno_id=b2, kind="esperienza", body="Da noi 40 famiglie",
                parent_id=None))["result"]["id"]
    _ok(op(col, "annotation.support", t, annotation_id=a4, support=True))
    _ok(op(col, "annotation.delete", t, annotation_id=a2))
    _ok(op(fac, "timer.set", t, seduta_id=seduta_id, seconds=180, label="Interventi"))
    _ok(op(fac, "presence.mark", t, seduta_id=seduta_id, user_id=col_user_id, present=True, mode="presenza"))
    _ok(op(del2, "bisogno.status", t, bisogno_id=b1, status="ritirato"))
    _ok(op(col, "annotation.support", t, annotation_id=a1, support=False))


def _live(app, world) -> tuple[int, list[int]]:
    with db_session(app) as session:
        seduta = session.get(Seduta, world.seduta.id)
        tavoli.start_seduta(session, attached(world, session).facilitator, seduta)
        session.commit()
        return seduta.id, [i.id for i in seduta.agenda]


def _snapshot_state(app, tavolo_id) -> dict:
    fresh = ClientState()
    snap = fresh_snapshot(app, tavolo_id)
    fresh.apply_snapshot(snap["snapshot"], snap["last_seq"])
    return fresh.state()


def test_dropped_client_replays_to_the_same_state(app, world, connect):
    seduta_id, agenda = _live(app, world)
    t = world.tavolo.id
    facilitator = Member(connect, world.facilitator, t)
    steady = Member(connect, world.delegate2, t)
    dropping = Member(connect, world.delegate, t)
    colleague = Member(connect, world.colleague, t)
    for m in (facilitator, steady, dropping, colleague):
        m.open()
    for m in (facilitator, steady, dropping, colleague):
        m.pump()
    dropped_at = dropping.state.last_seq
    dropping.drop()

    _twenty_events(facilitator.client, steady.client, colleague.client, t, seduta_id, agenda, world.colleague.id)
    for m in (facilitator, steady, colleague):
        m.pump()
    assert steady.state.last_seq - dropped_at >= 21  # 20 operations + the dropped client's presence.left

    reply = dropping.open()
    assert reply["mode"] == "replay"
    replayed = [e["seq"] for e in reply["events"]]
    assert replayed == list(range(dropped_at + 1, reply["last_seq"] + 1))
    # its own presence.joined came in the replay and again through the room: applied once
    assert reply["events"][-1]["kind"] == "presence.joined"
    for m in (facilitator, steady, colleague):
        m.pump()

    expected = _snapshot_state(app, t)
    assert dropping.state.unknown_kinds == [] and steady.state.unknown_kinds == []
    assert dropping.state.state() == steady.state.state() == facilitator.state.state() == expected
    # and the state is the real one, not merely the same on both sides
    assert expected["last_seq"] == record_last_seq(app, t)
    assert {b["status"] for b in expected["bisogni"].values()} == {"ritirato", "proposto", "accorpato"}
    assert sum(a["deleted"] for a in expected["annotations"].values()) == 1
    assert expected["seduta"]["timer"]["label"] == "Interventi"
    assert set(expected["presences"]) == {world.facilitator.id, world.delegate2.id, world.colleague.id,
                                          world.delegate.id}


def record_last_seq(app, tavolo_id) -> int:
    with db_session(app) as session:
        return record.last_seq(session, tavolo_id)


def test_too_far_behind_gets_a_snapshot(app, world, connect, monkeypatch):
    seduta_id, agenda = _live(app, world)
    t = world.tavolo.id
    facilitator, steady, colleague = (Member(connect, u, t) for u in (world.facilitator, world.delegate2,
                                                                         world.colleague))
    dropping = Member(connect, world.delegate, t)
    for m in (facilitator, steady, colleague, dropping):
        m.open()
    for m in (facilitator, steady, colleague, dropping):
        m.pump()
    dropping.drop()
    _twenty_events(facilitator.client, steady.client, colleague.client, t, seduta_id, agenda, world.colleague.id)
    monkeypatch.setattr(record, "REPLAY_LIMIT", 5)
    reply = dropping.open()
    # Not a replay of the missed events: a snapshot (with, at most, the contributions since its
    # content was built, which the state below must include).
    assert reply["mode"] == "snapshot"
    assert {e["kind"] for e in reply["events"]} <= set(realtime.CONTENT_ONLY_KINDS)
    for m in (facilitator, steady, colleague):
        m.pump()
    assert dropping.state.state() == steady.state.state() == _snapshot_state(app, t)
    # a client only a few events behind still gets a replay under the lowered limit
    steady.drop()
    _ok(op(facilitator.client, "timer.set", t, seduta_id=seduta_id, seconds=0))
    assert steady.open()["mode"] == "replay"


def test_gap_is_detected_and_resync_fills_it(app, world, connect):
    t = world.tavolo.id
    writer = connect(world.delegate2)
    member = Member(connect, world.delegate, t)
    member.open()
    acks = [_ok(op(writer, "bisogno.create", t, title=f"Bisogno {n}", macroarea="E")) for n in range(4)]
    delivered = events(member.client)
    assert [e["seq"] for e in delivered] == [a["seq"] for a in acks]
    lost = delivered.pop(1)  # one broadcast never arrives
    outcomes = [member.state.receive(e) for e in delivered]
    assert outcomes == ["applied", "held", "held"] and member.state.needs_resync
    assert member.state.last_seq == lost["seq"] - 1
    reply = call(member.client, "resync", {"tavolo_id": t, "last_seq": member.state.last_seq})
    assert reply["mode"] == "replay" and [e["seq"] for e in reply["events"]] == [a["seq"] for a in acks[1:]]
    member.state.apply_reply(reply)
    assert not member.state.needs_resync and member.state.last_seq == acks[-1]["seq"]
    assert member.state.state() == _snapshot_state(app, t)


@pytest.mark.parametrize("position", ["before", "after"])
def test_event_racing_the_join_reply_is_applied_once(app, world, connect, position):
    """An event committed while a client joins arrives in the reply and through the room;
    the client keeps one copy (seq <= last_seq is ignored)."""
    t = world.tavolo.id
    state = ClientState()
    client = connect(world.delegate)
    reply = join(client, t)
    state.apply_reply(reply)
    writer = connect(world.delegate2)
    ack = _ok(op(writer, "bisogno.create", t, title="In corsa", macroarea="E"))
    racing = events(client)
    replay = call(client, "resync", {"tavolo_id": t, "last_seq": reply["last_seq"]})
    if position == "before":
        state.apply_reply(replay)
        assert [state.receive(e) for e in racing] == ["ignored"]
    else:
        assert [state.receive(e) for e in racing] == ["applied"]
        state.apply_reply(replay)
    assert state.last_seq == ack["seq"] and state.applied.count(ack["seq"]) == 1


def test_seduta_started_while_connected_matches_a_later_snapshot(app, world, connect):
    """Clients watching when the seduta starts hold the same state (quorum indicator included)
    as a client that joins afterwards from a snapshot."""
    t = world.tavolo.id
    facilitator = Member(connect, world.facilitator, t)
    watcher = Member(connect, world.observer, t)
    facilitator.open()
    watcher.open()
    _ok(op(facilitator.client, "seduta.start", t, seduta_id=world.seduta.id))
    watcher.pump()
    facilitator.pump()
    assert watcher.state.quorum == {"organisations_present": 0, "organisations_total": 2, "people_present": 0,
                                    "threshold_percent": 50, "reached": False}
    assert watcher.state.state() == facilitator.state.state() == _snapshot_state(app, t)
    _ok(op(facilitator.client, "seduta.close", t, seduta_id=world.seduta.id))
    watcher.pump()
    assert watcher.state.seduta is None and watcher.state.state() == _snapshot_state(app, t)
