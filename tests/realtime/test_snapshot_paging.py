"""The first-join snapshot is bounded (the latest bisogni and annotations, the spotlight's bisogno),
the rest is paged with ``page``; a client that pages while events arrive ends in exactly the full
state; a snapshot is built once per seq and shared by the clients joining at that point."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.realtime.client_state import ClientState
from tests.realtime.support import attached, call, db_session, events, join, op
from tests.world import bisogno_data
from workspace import realtime, record
from workspace.needs import service as needs
from workspace.needs.models import Annotation, Bisogno
from workspace.needs.payloads import annotation_member, bisogno_member
from workspace.tavoli import service as tavoli

BISOGNI, ANNOTATIONS = 12, 20


@pytest.fixture
def small_limits(monkeypatch):
    monkeypatch.setattr(needs, "SNAPSHOT_BISOGNI", 5)
    monkeypatch.setattr(needs, "SNAPSHOT_ANNOTATIONS", 7)


def _fill(app, world) -> tuple[list[int], list[int]]:
    """12 bisogni, 20 annotations spread over them (oldest bisogni first)."""
    with db_session(app) as session:
        w = attached(world, session)
        bisogni = [needs.create_bisogno(session, w.delegate, w.tavolo, bisogno_data(title=f"Bisogno {n}"))[0]
                   for n in range(BISOGNI)]
        notes = [needs.add_annotation(session, w.delegate2, bisogni[n % 4], "dato", f"Nota {n}")[0]
                 for n in range(ANNOTATIONS)]
        session.commit()
        return [b.id for b in bisogni], [a.id for a in notes]


def _full(app, tavolo_id: int) -> tuple[dict, dict]:
    with db_session(app) as session:
        bisogni = session.query(Bisogno).filter_by(tavolo_id=tavolo_id).all()
        notes = session.query(Annotation).join(Bisogno).filter(Bisogno.tavolo_id == tavolo_id).all()
        return ({b.id: bisogno_member(b) for b in bisogni}, {a.id: annotation_member(a) for a in notes})


def _page_all(client, state: ClientState, tavolo_id: int, of: str, limit: int = 4) -> list[int]:
    """Every page of ``of``; the ids in the order they came."""
    seen, before = [], None
    while True:
        data = {"tavolo_id": tavolo_id, "of": of, "limit": limit}
        if before is not None:
            data["before_id"] = before
        ack = call(client, "page", data)
        assert ack.get("ok"), ack
        result = ack["result"]
        assert len(result["items"]) <= limit
        seen += [item["id"] for item in result["items"]]
        state.apply_page(of, result)
        before = result["next_before_id"]
        if before is None:
            return seen


def test_the_first_join_is_bounded_and_pages_give_the_rest(app, world, connect, small_limits):
    bisogni, notes = _fill(app, world)
    client = connect(world.observer)
    reply = join(client, world.tavolo.id)
    snap = reply["snapshot"]
    assert [b["id"] for b in snap["bisogni"]] == bisogni[-5:]  # the latest five, oldest first
    assert sorted(a["id"] for a in snap["annotations"]) == sorted(notes[-7:])
    assert snap["paged"] == {"bisogni": {"total": BISOGNI, "included": 5},
                             "annotations": {"total": ANNOTATIONS, "included": 7}}
    state = ClientState()
    state.apply_reply(reply)
    paged = _page_all(client, state, world.tavolo.id, "bisogni")
    assert paged == sorted(bisogni, reverse=True)  # newest first, no repeats, nothing skipped
    assert _page_all(client, state, world.tavolo.id, "annotations", limit=6) == sorted(notes, reverse=True)
    full_bisogni, full_notes = _full(app, world.tavolo.id)
    assert state.bisogni == full_bisogni and state.annotations == full_notes


def test_the_spotlight_bisogno_and_its_annotations_are_in_the_snapshot(app, world, connect, small_limits):
    bisogni, notes = _fill(app, world)
    with db_session(app) as session:
        w = attached(world, session)
        tavoli.start_seduta(session, w.facilitator, w.seduta)
        needs.spotlight(session, w.facilitator, w.seduta, bisogni[0])
        session.commit()
    snap = join(connect(world.observer), world.tavolo.id, presence=False)["snapshot"]
    ids = [b["id"] for b in snap["bisogni"]]
    assert bisogni[0] in ids and ids == sorted(ids) and len(ids) == 6
    first_notes = [n for k, n in enumerate(notes) if k % 4 == 0]  # the annotations of bisogni[0]
    assert set(first_notes) <= {a["id"] for a in snap["annotations"]}
    assert snap["seduta"]["spotlight_bisogno_id"] == bisogni[0]


def test_paging_while_others_write_ends_in_the_full_state(app, world, connect, small_limits):
    bisogni, notes = _fill(app, world)
    reader, writer = connect(world.observer), connect(world.delegate)
    state = ClientState()
    state.apply_reply(join(reader, world.tavolo.id))
    events(reader)
    # Changes to what the snapshot left out, made before the pages are read: the events win.
    assert op(writer, "bisogno.update", world.tavolo.id, bisogno_id=bisogni[0], title="Cambiato dopo")["ok"]
    assert op(writer, "annotation.support", world.tavolo.id, annotation_id=notes[0], support=True)["ok"]
    assert op(writer, "annotation.create", world.tavolo.id, bisogno_id=bisogni[1], kind="proposta",
              body="Nuova durante il paging")["ok"]
    for event in events(reader):
        state.receive(event)
    assert state.bisogni[bisogni[0]]["title"] == "Cambiato dopo"
    _page_all(reader, state, world.tavolo.id, "bisogni")
    _page_all(reader, state, world.tavolo.id, "annotations")
    full_bisogni, full_notes = _full(app, world.tavolo.id)
    assert state.bisogni == full_bisogni and state.annotations == full_notes
    assert not state.needs_resync


def test_page_refusals(app, world, connect):
    outsider = connect(world.outsider)
    ack = call(outsider, "page", {"tavolo_id": world.tavolo.id, "of": "bisogni"})
    assert ack["error"] == "forbidden", ack
    member = connect(world.observer)
    assert call(member, "page", {"tavolo_id": world.tavolo.id, "of": "voti"})["error"] == "invalid"
    assert call(member, "page", {"tavolo_id": world.tavolo.id, "of": "bisogni", "limit": 201})["error"] == "invalid"
    assert call(member, "page", {"tavolo_id": 999999, "of": "bisogni"})["error"] == "not_found"


def _count_builds(monkeypatch, part: str = "content_snapshot") -> list[int]:
    """The tavoli ``realtime.<part>`` is built for from now on, one entry per build."""
    built: list[int] = []
    original = getattr(realtime, part)

    def counting(session, tavolo_id, *args):
        built.append(tavolo_id)
        return original(session, tavolo_id, *args)

    monkeypatch.setattr(realtime, part, counting)
    return built


def test_a_snapshot_is_built_once_per_seq_and_shared(app, world, connect, monkeypatch):
    _fill(app, world)
    built = _count_builds(monkeypatch)
    clients = [connect(u) for u in (world.observer, world.delegate2, world.colleague)]
    replies = [join(c, world.tavolo.id, presence=False) for c in clients]
    assert len(built) == 1
    assert replies[0]["snapshot"] == replies[1]["snapshot"] == replies[2]["snapshot"]
    assert replies[0]["events"] == []
    assert op(clients[1], "bisogno.create", world.tavolo.id, title="Un altro", macroarea="E")["ok"]
    after = join(connect(world.delegate), world.tavolo.id, presence=False)
    # A contribution since: the content built a moment ago is reused, with the contribution to apply.
    assert len(built) == 1 and after["last_seq"] == replies[0]["last_seq"] + 1
    assert [(e["seq"], e["kind"], e["payload"]["title"]) for e in after["events"]] == \
        [(after["last_seq"], "bisogno.created", "Un altro")]
    assert "Un altro" in [b["title"] for b in state_of(after).bisogni.values()]
    with db_session(app) as session:
        assert record.last_seq(session, world.tavolo.id) == after["last_seq"]


def state_of(reply: dict) -> ClientState:
    state = ClientState()
    state.apply_reply(reply)
    return state


def assert_same_state(reply: dict, scratch: dict) -> None:
    """What a client holds after ``reply`` equals what it would hold from a snapshot built from
    scratch at the same seq; it may hold more of what the reply's events touched (an object outside
    the bounded snapshot that a contribution changed: as any client that received that event)."""
    got, want = state_of(reply), ClientState()
    want.apply_snapshot(scratch, reply["last_seq"])
    touched = {e["payload"]["id"] for e in reply["events"]}
    for name in ("tavolo", "seduta", "presences", "quorum"):
        assert getattr(got, name) == getattr(want, name), name
    for name in ("bisogni", "annotations"):
        mine, theirs = getattr(got, name), getattr(want, name)
        assert {k: mine[k] for k in theirs} == theirs, name
        assert set(mine) - set(theirs) <= touched, name


def test_joins_that_record_presence_share_the_content_and_get_fresh_presences(app, world, connect, monkeypatch):
    _fill(app, world)
    with db_session(app) as session:
        w = attached(world, session)
        tavoli.start_seduta(session, w.facilitator, w.seduta)
        session.commit()
    built = _count_builds(monkeypatch)
    people = (world.observer, world.delegate2, world.colleague)
    replies = [join(connect(u), world.tavolo.id) for u in people]
    # Each join recorded a presence (a new seq), but the content was built once.
    assert [r["last_seq"] for r in replies] == [replies[0]["last_seq"] + n for n in range(3)]
    assert len(built) == 1
    assert replies[0]["snapshot"]["bisogni"] == replies[2]["snapshot"]["bisogni"]
    assert [len(r["snapshot"]["presences"]) for r in replies] == [1, 2, 3]
    assert replies[2]["snapshot"]["quorum"] == fresh_quorum(app, world)
    assert all(r["events"] == [] for r in replies)  # presences are in the fresh parts, never repeated
    # A change of content is seen by the next join: applied on the content already built.
    assert op(connect(world.delegate), "bisogno.create", world.tavolo.id, title="Dopo le presenze",
              macroarea="E")["ok"]
    later = join(connect(world.facilitator), world.tavolo.id)
    assert len(built) == 1 and "Dopo le presenze" in [b["title"] for b in state_of(later).bisogni.values()]
    assert [e["kind"] for e in later["events"]] == ["bisogno.created"]


def test_the_content_is_built_again_when_old_or_when_more_than_contributions_followed(app, world, connect,
                                                                                      monkeypatch):
    """Reused only while fresh (``SNAPSHOT_TTL``), with at most ``CATCH_UP_LIMIT`` contributions to
    apply, and while nothing but contributions and presences followed it (a spotlight moved, a
    seduta started: built again)."""
    bisogni, _notes = _fill(app, world)
    built = _count_builds(monkeypatch)
    writer = connect(world.delegate)
    assert join(writer, world.tavolo.id, presence=False)["events"] == []
    assert len(built) == 1

    monkeypatch.setattr(realtime, "CATCH_UP_LIMIT", 1)
    for title in ("Primo", "Secondo"):
        assert op(writer, "bisogno.create", world.tavolo.id, title=title, macroarea="E")["ok"]
    over = join(connect(world.observer), world.tavolo.id, presence=False)
    assert len(built) == 2 and over["events"] == []  # two to apply, one allowed: built again
    assert {"Primo", "Secondo"} <= {b["title"] for b in over["snapshot"]["bisogni"]}

    with db_session(app) as session:
        w = attached(world, session)
        tavoli.start_seduta(session, w.facilitator, w.seduta)  # not a contribution
        session.commit()
    started = join(connect(world.colleague), world.tavolo.id, presence=False)
    assert len(built) == 3 and started["events"] == [] and started["snapshot"]["seduta"] is not None

    monkeypatch.setattr(realtime, "SNAPSHOT_TTL", 0.0)  # every build is already old
    assert op(writer, "annotation.create", world.tavolo.id, bisogno_id=bisogni[0], kind="dato", body="Tardi")["ok"]
    late = join(connect(world.delegate2), world.tavolo.id, presence=False)
    assert len(built) == 4 and late["events"] == []
    assert "Tardi" in [a["body"] for a in late["snapshot"]["annotations"]]


def test_a_rolled_back_event_number_is_not_taken_for_the_base_of_a_catch_up(app, world, connect, monkeypatch):
    """The content is reused only while its event is still the one it was built at (the number
    and the time): after a rollback the same number names another event."""
    _fill(app, world)
    writer = connect(world.delegate)
    first = join(writer, world.tavolo.id, presence=False)
    key = next(k for k in realtime._latest_content if k[2] == world.tavolo.id)
    seq, stamp = realtime._latest_content[key]
    assert seq == first["last_seq"]
    realtime._latest_content[key] = (seq, "2000-01-01T00:00:00+00:00")  # as if that event were another
    built = _count_builds(monkeypatch)
    assert op(writer, "bisogno.create", world.tavolo.id, title="Dopo", macroarea="E")["ok"]
    reply = join(connect(world.observer), world.tavolo.id, presence=False)
    assert len(built) == 1 and reply["events"] == []
    assert "Dopo" in [b["title"] for b in reply["snapshot"]["bisogni"]]


def fresh_quorum(app, world) -> dict:
    with db_session(app) as session:
        return realtime.fresh_snapshot(session, world.tavolo.id)["quorum"]


def test_contributions_leave_the_fresh_parts_in_use_and_presences_renew_them(app, world, connect, monkeypatch):
    """A contribution (``CONTENT_ONLY_KINDS``) changes the content part of the next join's snapshot
    and leaves the fresh part (seduta, presences, quorum) as built; a presence renews it. Each reply
    equals a snapshot built from scratch at its seq."""
    bisogni, _notes = _fill(app, world)
    with db_session(app) as session:
        w = attached(world, session)
        tavoli.start_seduta(session, w.facilitator, w.seduta)
        session.commit()
    original = realtime.fresh_snapshot
    fresh_built = _count_builds(monkeypatch, "fresh_snapshot")

    def scratch() -> dict:
        with db_session(app) as session:
            return {**realtime.content_snapshot(session, world.tavolo.id), **original(session, world.tavolo.id)}

    writer = connect(world.delegate)
    first = join(writer, world.tavolo.id)  # a presence: fresh parts built
    assert len(fresh_built) == 1 and first["snapshot"] == scratch()
    for name, data in (("bisogno.create", {"title": "Durante l'ingresso", "macroarea": "E"}),
                       ("annotation.create", {"bisogno_id": bisogni[0], "kind": "dato", "body": "Un dato"}),
                       ("bisogno.update", {"bisogno_id": bisogni[1], "expected_version": 1, "title": "Titolo nuovo"})):
        assert op(writer, name, world.tavolo.id, **data)["ok"], name
        reply = join(connect(world.observer), world.tavolo.id, presence=False)
        assert reply["events"], name  # the contribution, applied on the content already built
        assert_same_state(reply, scratch())
    assert len(fresh_built) == 1  # three contributions: the fresh parts were not rebuilt
    joined = join(connect(world.colleague), world.tavolo.id)  # a presence: rebuilt
    assert len(fresh_built) == 2
    assert_same_state(joined, scratch())
    assert world.colleague.id in [p["user_id"] for p in joined["snapshot"]["presences"]]


def test_content_only_kinds_are_kinds_the_services_record():
    """A renamed kind would silently leave the fresh parts rebuilt (harmless) or, worse, a kind
    taken for content-only that is not: the list names only kinds the protocol documents."""
    from workspace.config import PROJECT_ROOT

    protocol = (PROJECT_ROOT / "docs" / "live-protocol.md").read_text()
    assert all(f"`{kind}`" in protocol for kind in realtime.CONTENT_ONLY_KINDS)
    assert not [k for k in realtime.CONTENT_ONLY_KINDS if k.split(".")[0] not in ("bisogno", "annotation")]


def test_the_bound_is_the_documented_one(app, world, connect):
    """Without the tests' small limits: a joining client gets the latest 20 bisogni and 40 annotations,
    as docs/live-protocol.md tells client writers, and pages the rest."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "live-protocol.md").read_text()
    documented = re.search(r"the tavolo's \*\*latest (\d+)\*\* bisogni", doc), re.search(
        r"the tavolo's \*\*latest (\d+)\*\* annotations", doc)
    assert all(documented)
    bisogni_bound, annotations_bound = (int(m.group(1)) for m in documented if m)
    with db_session(app) as session:
        w = attached(world, session)
        made = [needs.create_bisogno(session, w.delegate, w.tavolo, bisogno_data(title=f"Bisogno {n}"))[0]
                for n in range(bisogni_bound + 2)]
        notes = [needs.add_annotation(session, w.delegate2, made[n % 3], "dato", f"Nota {n}")[0]
                 for n in range(annotations_bound + 3)]
        session.commit()
        made_ids, note_ids = [b.id for b in made], [a.id for a in notes]
    snap = join(connect(world.observer), world.tavolo.id)["snapshot"]
    assert [b["id"] for b in snap["bisogni"]] == made_ids[-bisogni_bound:]
    assert sorted(a["id"] for a in snap["annotations"]) == sorted(note_ids[-annotations_bound:])
    assert snap["paged"] == {"bisogni": {"total": bisogni_bound + 2, "included": bisogni_bound},
                             "annotations": {"total": annotations_bound + 3, "included": annotations_bound}}
