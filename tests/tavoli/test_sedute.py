"""The live seduta through the service: start and close, agenda, timer, presence (automatic and
marked), the quorum by organisations, and the numbered record every write leaves."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.helpers import refused
from tests.tavoli.support import second_tavolo, start_live
from tests.world import add_bisogno
from workspace import record
from workspace.db import utcnow
from workspace.needs import service as needs
from workspace.tavoli import service as tavoli
from workspace.tavoli.models import Presence


def test_start_and_close(session, world):
    event = tavoli.start_seduta(session, world.facilitator, world.seduta)
    session.commit()
    seduta = world.seduta
    assert (seduta.status, seduta.current_item_id) == ("in_corso", seduta.agenda[0].id)
    assert event.payload["status"] == "in_corso" and event.payload["started_at"]
    assert tavoli.live_seduta(session, world.tavolo.id) is seduta
    refused(session, lambda: tavoli.start_seduta(session, world.facilitator, seduta),
            "conflict", 409, "non è convocata", "in_corso")
    tavoli.presence_join(session, world.delegate, seduta)
    tavoli.set_timer(session, world.facilitator, seduta, 60, "Giro di tavolo")
    session.commit()
    event = tavoli.close_seduta(session, world.admin, seduta)
    session.commit()
    assert (seduta.status, seduta.timer_ends_at, seduta.timer_label) == ("chiusa", None, None)
    assert event.payload["closed_at"] and event.payload["timer"] == {"ends_at": None, "label": None}
    # closing ends every open presence
    assert all(p.left_at == seduta.closed_at for p in seduta.presences) and seduta.presences
    refused(session, lambda: tavoli.close_seduta(session, world.facilitator, seduta),
            "conflict", 409, "non è in corso")
    refused(session, lambda: tavoli.start_seduta(session, world.facilitator, seduta),
            "conflict", 409, "non è convocata", "chiusa")


def test_only_one_live_seduta_per_tavolo(session, world):
    start_live(session, world)
    other = tavoli.create_seduta(session, world.facilitator, world.tavolo, utcnow() + timedelta(days=1), "Sala",
                                 "remoto", [])
    session.commit()
    refused(session, lambda: tavoli.start_seduta(session, world.facilitator, other),
            "conflict", 409, "già una seduta in corso")


def test_convened_seduta_has_numbered_agenda(session, world):
    later = tavoli.create_seduta(session, world.facilitator, world.tavolo, utcnow() + timedelta(days=7),
                                 "  Sala Giunta ", "remoto", ["Bisogni", "  ", "Priorità"])
    session.commit()
    assert (later.number, later.place) == (2, "Sala Giunta")
    assert [(i.position, i.title) for i in later.agenda] == [(1, "Bisogni"), (2, "Priorità")]
    refused(session, lambda: tavoli.create_seduta(session, world.facilitator, world.tavolo, utcnow(), "Sala", "telepatia", []),
            "invalid", 422, "Modalità non valida")


def test_agenda_moves_only_within_the_live_seduta(session, world):
    refused(session, lambda: tavoli.move_agenda(session, world.facilitator, world.seduta, world.seduta.agenda[1].id),
            "conflict", 409, "non è in corso")
    seduta = start_live(session, world)
    event = tavoli.move_agenda(session, world.facilitator, seduta, seduta.agenda[2].id)
    session.commit()
    assert event.payload == {"seduta_id": seduta.id, "current_item_id": seduta.agenda[2].id}
    _, other_seduta, _, _ = second_tavolo(session, world)
    refused(session, lambda: tavoli.move_agenda(session, world.facilitator, seduta, other_seduta.agenda[0].id),
            "invalid", 422, "ordine del giorno inesistente")


def test_timer(session, world):
    seduta = start_live(session, world)
    before = utcnow()
    event = tavoli.set_timer(session, world.facilitator, seduta, 300, "  Interventi  ")
    session.commit()
    assert seduta.timer_label == "Interventi"
    assert timedelta(seconds=299) <= seduta.timer_ends_at - before <= timedelta(seconds=302)
    assert event.payload == {"seduta_id": seduta.id, "ends_at": seduta.timer_ends_at.isoformat(),
                             "label": "Interventi"}
    for bad in (-1, 4 * 3600 + 1):
        refused(session, lambda bad=bad: tavoli.set_timer(session, world.facilitator, seduta, bad),
                "invalid", 422, "Durata del timer non valida")
    event = tavoli.set_timer(session, world.facilitator, seduta, 0)
    session.commit()
    assert event.payload["ends_at"] is None and seduta.timer_ends_at is None


# --- presence and quorum ---------------------------------------------------------------------------


def test_automatic_presence_only_during_a_live_seduta(session, world):
    refused(session, lambda: tavoli.presence_join(session, world.delegate, world.seduta),
            "conflict", 409, "non è in corso")
    seduta = start_live(session, world)
    event = tavoli.presence_join(session, world.delegate, seduta, "presenza")
    session.commit()
    assert event.kind == "presence.joined"
    assert (event.payload["user_id"], event.payload["organisation"], event.payload["role"],
            event.payload["mode"], event.payload["source"]) == (world.delegate.id, world.ets.name, "delegate",
                                                                "presenza", "auto")
    # a second tab does not open a second presence, nor write an event
    last = record.last_seq(session, world.tavolo.id)
    assert tavoli.presence_join(session, world.delegate, seduta) is None
    assert record.last_seq(session, world.tavolo.id) == last
    refused(session, lambda: tavoli.presence_join(session, world.delegate2, seduta, "ologramma"),
            "invalid", 422, "Modalità di presenza")
    left = tavoli.presence_leave(session, world.delegate, seduta)
    session.commit()
    assert left.kind == "presence.left" and left.payload["left_at"]
    assert tavoli.presence_leave(session, world.delegate, seduta) is None


def test_quorum_counts_organisations_not_people(session, world):
    world.tavolo.quorum_percent = 75  # 2 member organisations: both are needed
    seduta = start_live(session, world)
    q = tavoli.quorum(session, seduta)
    assert q == {"organisations_present": 0, "organisations_total": 2, "people_present": 0,
                 "threshold_percent": 75, "reached": False}
    tavoli.presence_join(session, world.delegate, seduta)
    event = tavoli.presence_join(session, world.colleague, seduta)
    tavoli.presence_join(session, world.facilitator, seduta)
    tavoli.presence_join(session, world.observer, seduta)
    session.commit()
    # two delegates of the same ETS: two people, one organisation
    assert event.payload["quorum"] == {"organisations_present": 1, "organisations_total": 2, "people_present": 2,
                                       "threshold_percent": 75, "reached": False}
    # facilitator and observer speak for no member organisation
    assert tavoli.quorum(session, seduta) == {"organisations_present": 1, "organisations_total": 2,
                                              "people_present": 4, "threshold_percent": 75, "reached": False}
    event = tavoli.presence_join(session, world.delegate2, seduta)
    session.commit()
    assert event.payload["quorum"]["organisations_present"] == 2 and event.payload["quorum"]["reached"]
    # one delegate of the ETS leaves: the organisation is still present through the colleague
    event = tavoli.presence_leave(session, world.delegate, seduta)
    session.commit()
    assert event.payload["quorum"]["organisations_present"] == 2 and event.payload["quorum"]["people_present"] == 4
    assert event.payload["quorum"]["reached"]
    event = tavoli.presence_leave(session, world.colleague, seduta)
    session.commit()
    assert event.payload["quorum"]["organisations_present"] == 1 and not event.payload["quorum"]["reached"]


def test_facilitator_marks_presence(session, world):
    seduta = start_live(session, world)
    event = tavoli.mark_presence(session, world.facilitator, seduta, world.delegate2.id, True, "presenza")
    session.commit()
    p = event.payload
    assert (p["user_id"], p["present"], p["presence"]["source"], p["quorum"]["organisations_present"]) == (
        world.delegate2.id, True, "manual", 1)
    row = session.scalar(select(Presence).where(Presence.user_id == world.delegate2.id))
    assert (row.marked_by_id, row.organisation_id, row.role) == (world.facilitator.id, world.ets2.id, "delegate")
    # a manual presence survives the person's page closing
    assert tavoli.presence_leave(session, world.delegate2, seduta) is None
    # an automatic presence becomes manual when confirmed, without a second stretch
    tavoli.presence_join(session, world.delegate, seduta, "remoto")
    event = tavoli.mark_presence(session, world.facilitator, seduta, world.delegate.id, True, "presenza")
    session.commit()
    assert event.payload["presence"]["source"] == "manual"
    assert len([p for p in tavoli.register(session, seduta) if p.user_id == world.delegate.id]) == 1
    event = tavoli.mark_presence(session, world.facilitator, seduta, world.delegate2.id, False)
    session.commit()
    assert event.payload["presence"]["left_at"] and event.payload["quorum"]["organisations_present"] == 1
    for who in (world.outsider.id, world.admin.id, 999_999):
        refused(session, lambda who=who: tavoli.mark_presence(session, world.facilitator, seduta, who, True),
                "invalid", 422, "non fa parte del tavolo")
    refused(session, lambda: tavoli.mark_presence(session, world.facilitator, seduta, world.delegate.id, True, "mista"),
            "invalid", 422, "Modalità di presenza")


def test_snapshot_of_the_live_seduta(session, world):
    assert tavoli.tavolo_snapshot(session, world.tavolo)["seduta"] is None
    seduta = start_live(session, world)
    tavoli.presence_join(session, world.delegate, seduta)
    tavoli.presence_join(session, world.delegate2, seduta)
    tavoli.presence_leave(session, world.delegate2, seduta)
    session.commit()
    snap = tavoli.tavolo_snapshot(session, world.tavolo)
    assert snap["tavolo"]["macroaree"] == ["E"] and snap["seduta"]["status"] == "in_corso"
    assert [p["user_id"] for p in snap["presences"]] == [world.delegate.id]
    assert snap["quorum"]["organisations_present"] == 1


# --- the record ---------------------------------------------------------------------------------------


# The events of tests/world.py's set-up: the tavolo, the facilitator, Alfa with its two delegates,
# Beta with its delegate, the observer, the convened seduta.
WORLD_EVENTS = ["tavolo.created", "role.set", "member.added", "role.set", "role.set", "member.added", "role.set",
                "role.set", "seduta.convened"]


def test_sequence_numbers_have_no_gaps_and_refusals_append_nothing(session, world):
    """Every accepted write appends exactly one event; refused ones none; numbers run 1..N."""
    tavolo_id = world.tavolo.id
    assert [e.kind for e in record.events_between(session, tavolo_id)] == WORLD_EVENTS
    steps = [
        lambda: tavoli.start_seduta(session, world.facilitator, world.seduta),
        lambda: tavoli.presence_join(session, world.delegate, world.seduta),
        lambda: needs.create_bisogno(session, world.delegate, world.tavolo, {"title": "Casa", "macroarea": "E"})[1],
        lambda: tavoli.move_agenda(session, world.facilitator, world.seduta, world.seduta.agenda[1].id),
        lambda: tavoli.set_timer(session, world.facilitator, world.seduta, 120),
        lambda: tavoli.mark_presence(session, world.facilitator, world.seduta, world.observer.id, True),
        lambda: tavoli.close_seduta(session, world.facilitator, world.seduta),
    ]
    refusals = [
        lambda: tavoli.start_seduta(session, world.delegate, world.seduta),
        lambda: tavoli.set_timer(session, world.facilitator, world.seduta, -5),
        lambda: needs.create_bisogno(session, world.observer, world.tavolo, {"title": "No"}),
    ]
    for i, step in enumerate(steps):
        before = record.last_seq(session, tavolo_id)
        event = step()
        session.commit()
        assert event.seq == before + 1 == record.last_seq(session, tavolo_id)
        if i < len(refusals):
            from workspace.problems import Problem

            with pytest.raises(Problem):
                refusals[i]()
            session.rollback()
            assert record.last_seq(session, tavolo_id) == before + 1
    events = record.events_between(session, tavolo_id)
    assert [e.seq for e in events] == list(range(1, len(WORLD_EVENTS) + len(steps) + 1))
    assert [e.kind for e in events] == WORLD_EVENTS + ["seduta.started", "presence.joined", "bisogno.created",
                                                       "agenda.moved", "timer.set", "presence.marked", "seduta.closed"]
    assert all(e.actor_id for e in events)


def test_each_tavolo_has_its_own_numbering(session, world):
    other, other_seduta, _, _ = second_tavolo(session, world)
    add_bisogno(session, world)
    mine = [e.seq for e in record.events_between(session, world.tavolo.id)]
    theirs = [e.kind for e in record.events_between(session, other.id)]
    assert mine == list(range(1, len(WORLD_EVENTS) + 2))
    assert theirs == ["tavolo.created", "role.set", "member.added", "role.set", "seduta.convened",
                      "bisogno.created", "annotation.created"]
    assert [e.seq for e in record.events_between(session, other.id)] == list(range(1, len(theirs) + 1))


def test_rolled_back_write_is_neither_recorded_nor_broadcast(session, world):
    sent = []
    record.set_emitter(lambda tavolo_id, message: sent.append((tavolo_id, message["seq"], message["kind"])))
    try:
        base = record.last_seq(session, world.tavolo.id)
        tavoli.start_seduta(session, world.facilitator, world.seduta)
        session.rollback()
        assert sent == [] and record.last_seq(session, world.tavolo.id) == base
        tavoli.start_seduta(session, world.facilitator, world.seduta)
        assert sent == []  # not before commit
        session.commit()
        assert sent == [(world.tavolo.id, base + 1, "seduta.started")]
    finally:
        from workspace.realtime import emit_event, emit_events

        record.set_emitter(emit_event, emit_events)


def test_replay_and_too_far_behind(session, world):
    base = record.last_seq(session, world.tavolo.id)
    for n in range(6):
        add_bisogno(session, world, title=f"Bisogno {n}")
    last = base + 6
    rep = record.replay(session, world.tavolo.id, last - 3)
    assert (rep.too_far_behind, rep.last_seq, [e["seq"] for e in rep.events]) == (
        False, last, [last - 2, last - 1, last])
    assert record.replay(session, world.tavolo.id, last).events == []
    assert record.replay(session, world.tavolo.id, last - 6, limit=3).too_far_behind
    assert record.replay(session, world.tavolo.id, last + 1).too_far_behind  # ahead of the server
