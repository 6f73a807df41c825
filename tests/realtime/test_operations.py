"""Every client operation registered on /live: a happy path where another member receives the
event with the acknowledged seq and the right payload, then bad inputs (malformed payloads, missing
op_id, wrong types, unknown fields, unknown ids, ids of another tavolo, forbidden roles), each
answered with an Italian error ack, writing nothing and broadcasting nothing."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.realtime.support import (
    attached,
    call,
    connected,
    db_session,
    events,
    footprint,
    join,
    new_op_id,
    op,
)
from tests.tavoli.support import second_tavolo
from tests.world import add_bisogno
from workspace.needs import service as needs
from workspace.needs.models import Annotation, Bisogno
from workspace.tavoli import service as tavoli
from workspace.tavoli.models import Presence, Seduta

MALFORMED = "Il messaggio non ha la forma prevista."
UNEXPECTED = "Campo non previsto nel messaggio."


def missing(name: str) -> str:
    return f"Manca un campo obbligatorio: {name}."


def wrong(name: str) -> str:
    return f"Valore non valido per il campo «{name}»."


@dataclass
class Case:
    """One operation: who performs it, the state it needs, the payload, what must follow."""

    actor: str
    live: bool
    payload: Callable[[dict], dict]  # ids -> payload fields (tavolo_id and op_id are added)
    kind: str
    check: Callable[[dict, dict, Any], None]  # (ids, event payload, session)
    forbidden: str = "observer"
    # field -> (bad value, expected message) for type errors specific to the operation
    wrong_types: dict[str, Any] = field(default_factory=dict)
    # ids that must exist; each replaced by an unknown one and by one of the other tavolo
    id_fields: dict[str, tuple[str, str | None]] = field(default_factory=dict)


def _prepare(app, world, live: bool) -> dict:
    """Two bisogni (delegate's, delegate2's), an annotation by delegate, optionally a live seduta;
    and a second tavolo with its own seduta, bisogno and annotation. Returns the ids."""
    with db_session(app) as session:
        w = attached(world, session)
        first = add_bisogno(session, w, w.delegate, title="Solitudine degli anziani")
        second = add_bisogno(session, w, w.delegate2, title="Isolamento sociale")
        annotation, _ = needs.add_annotation(session, w.delegate, first, "dato", "Il 30% degli over 75 vive solo.")
        session.commit()
        other, other_seduta, other_bisogno, other_annotation = second_tavolo(session, w)
        if live:
            tavoli.start_seduta(session, w.facilitator, session.get(Seduta, w.seduta.id))
            session.commit()
        seduta = session.get(Seduta, w.seduta.id)
        return {
            "tavolo": w.tavolo.id, "seduta": seduta.id, "items": [i.id for i in seduta.agenda],
            "bisogno": first.id, "bisogno2": second.id, "annotation": annotation.id,
            "other_tavolo": other.id, "other_seduta": other_seduta.id, "other_bisogno": other_bisogno.id,
            "other_annotation": other_annotation.id, "other_item": other_seduta.agenda[0].id,
            "delegate2": w.delegate2.id, "delegate": w.delegate.id,
        }


def _check_started(ids, payload, session):
    assert payload["status"] == "in_corso" and payload["current_item_id"] == ids["items"][0]
    assert session.get(Seduta, ids["seduta"]).status == "in_corso"
    assert payload["quorum"]["organisations_total"] == 2


def _check_closed(ids, payload, session):
    assert payload["status"] == "chiusa" and session.get(Seduta, ids["seduta"]).closed_at is not None


def _check_agenda(ids, payload, session):
    assert payload == {"seduta_id": ids["seduta"], "current_item_id": ids["items"][2]}
    assert session.get(Seduta, ids["seduta"]).current_item_id == ids["items"][2]


def _check_timer(ids, payload, session):
    assert payload["label"] == "Giro di tavolo" and payload["ends_at"]
    assert session.get(Seduta, ids["seduta"]).timer_ends_at.isoformat() == payload["ends_at"]


def _check_mark(ids, payload, session):
    assert (payload["user_id"], payload["present"], payload["presence"]["source"]) == (ids["delegate2"], True,
                                                                                      "manual")
    assert payload["quorum"]["organisations_present"] == 1
    assert session.query(Presence).filter_by(user_id=ids["delegate2"], left_at=None).count() == 1


def _check_created(ids, payload, session):
    row = session.get(Bisogno, payload["id"])
    assert (row.title, payload["title"], payload["macroarea"], payload["version"]) == (
        "Casa per anziani", "Casa per anziani", "E", 1)
    assert payload["description_html"] == "<p><em>Urgente</em></p>"


def _check_updated(ids, payload, session):
    assert (payload["id"], payload["title"], payload["version"]) == (ids["bisogno"], "Titolo riformulato", 2)
    assert session.get(Bisogno, ids["bisogno"]).title == "Titolo riformulato"


def _check_status(ids, payload, session):
    assert (payload["id"], payload["status"]) == (ids["bisogno"], "in_discussione")
    assert session.get(Bisogno, ids["bisogno"]).status == "in_discussione"


def _check_merge(ids, payload, session):
    assert (payload["id"], payload["status"], payload["into"], payload["merged_into"]) == (
        ids["bisogno"], "accorpato", ids["bisogno2"], ids["bisogno2"])
    assert session.get(Bisogno, ids["bisogno"]).merged_into_id == ids["bisogno2"]


def _check_spotlight(ids, payload, session):
    assert payload == {"seduta_id": ids["seduta"], "bisogno_id": ids["bisogno2"]}
    assert session.get(Seduta, ids["seduta"]).spotlight_bisogno_id == ids["bisogno2"]


def _check_annotation(ids, payload, session):
    assert (payload["bisogno_id"], payload["kind"], payload["body"], payload["parent_id"]) == (
        ids["bisogno"], "risorsa", "Offriamo **due** volontari.", ids["annotation"])
    assert payload["body_html"] == "<p>Offriamo <strong>due</strong> volontari.</p>"
    assert session.get(Annotation, payload["id"]).author.name == "Dario Delegato"


def _check_deleted(ids, payload, session):
    assert (payload["id"], payload["deleted"], payload["body"]) == (ids["annotation"], True, None)
    assert session.get(Annotation, ids["annotation"]).deleted_at is not None


def _check_supported(ids, payload, session):
    assert (payload["id"], payload["supports"]) == (ids["annotation"], ["Cooperativa Beta (prova)"])


SEDUTA_IDS = {"seduta_id": ("seduta", "other_seduta")}
CASES: dict[str, Case] = {
    "seduta.start": Case("facilitator", False, lambda i: {"seduta_id": i["seduta"]}, "seduta.started",
                         _check_started, "delegate", {"seduta_id": "uno"}, SEDUTA_IDS),
    "seduta.close": Case("facilitator", True, lambda i: {"seduta_id": i["seduta"]}, "seduta.closed",
                         _check_closed, "delegate2", {"seduta_id": 0}, SEDUTA_IDS),
    "agenda.move": Case("facilitator", True, lambda i: {"seduta_id": i["seduta"], "item_id": i["items"][2]},
                        "agenda.moved", _check_agenda, "observer", {"item_id": [1]},
                        {**SEDUTA_IDS, "item_id": ("items", "other_item")}),
    "timer.set": Case("admin", True, lambda i: {"seduta_id": i["seduta"], "seconds": 90, "label": "Giro di tavolo"},
                      "timer.set", _check_timer, "delegate", {"seconds": "90"}, SEDUTA_IDS),
    "presence.mark": Case("facilitator", True, lambda i: {"seduta_id": i["seduta"], "user_id": i["delegate2"],
                                                          "present": True},
                          "presence.marked", _check_mark, "observer", {"present": "sì"},
                          {**SEDUTA_IDS, "user_id": ("delegate2", None)}),
    "bisogno.create": Case("delegate", False, lambda i: {"title": "Casa per anziani", "macroarea": "E",
                                                         "description": "*Urgente*"},
                           "bisogno.created", _check_created, "observer", {"title": 5}),
    "bisogno.update": Case("colleague", False, lambda i: {"bisogno_id": i["bisogno"], "expected_version": 1,
                                                          "title": "Titolo riformulato"},
                           "bisogno.updated", _check_updated, "delegate2", {"expected_version": "1"},
                           {"bisogno_id": ("bisogno", "other_bisogno")}),
    "bisogno.status": Case("facilitator", False, lambda i: {"bisogno_id": i["bisogno"], "status": "in_discussione"},
                           "bisogno.status", _check_status, "delegate", {"status": "approvato"},
                           {"bisogno_id": ("bisogno", "other_bisogno")}),
    "bisogno.merge": Case("facilitator", False, lambda i: {"bisogno_id": i["bisogno"], "into_id": i["bisogno2"]},
                          "bisogno.merged", _check_merge, "delegate", {"into_id": "2"},
                          {"bisogno_id": ("bisogno", "other_bisogno"), "into_id": ("bisogno2", "other_bisogno")}),
    "spotlight.set": Case("facilitator", True, lambda i: {"seduta_id": i["seduta"], "bisogno_id": i["bisogno2"]},
                          "spotlight.set", _check_spotlight, "delegate", {"bisogno_id": "2"},
                          {**SEDUTA_IDS, "bisogno_id": ("bisogno2", "other_bisogno")}),
    "annotation.create": Case("delegate2", False, lambda i: {"bisogno_id": i["bisogno"], "kind": "risorsa",
                                                             "body": "Offriamo **due** volontari.",
                                                             "parent_id": i["annotation"]},
                              "annotation.created", _check_annotation, "observer", {"kind": "opinione"},
                              {"bisogno_id": ("bisogno", "other_bisogno"),
                               "parent_id": ("annotation", "other_annotation")}),
    "annotation.delete": Case("delegate", False, lambda i: {"annotation_id": i["annotation"]},
                              "annotation.deleted", _check_deleted, "delegate2", {"reason": ["no"]},
                              {"annotation_id": ("annotation", "other_annotation")}),
    "annotation.support": Case("delegate2", False, lambda i: {"annotation_id": i["annotation"], "support": True},
                               "annotation.supported", _check_supported, "outsider", {"support": 1},
                               {"annotation_id": ("annotation", "other_annotation")}),
}


def _setup(app, world, connect, case):
    ids = _prepare(app, world, case.live)
    actor = connect(getattr(world, case.actor))
    member = connect(world.observer)
    join(actor, ids["tavolo"])
    join(member, ids["tavolo"])
    events(actor), events(member)
    return ids, actor, member


@pytest.mark.parametrize("name", list(CASES))
def test_operation_reaches_the_other_members(app, world, connect, name):
    case = CASES[name]
    ids, actor, member = _setup(app, world, connect, case)
    before = footprint(app, ids["tavolo"])
    ack = op(actor, name, ids["tavolo"], **case.payload(ids))
    assert ack.get("ok") is True and "error" not in ack, ack
    assert ack["seq"] == before["last_seq"] + 1 and "duplicate" not in ack
    got = events(member)
    assert len(got) == 1, got
    event = got[0]
    assert (event["tavolo_id"], event["seq"], event["kind"]) == (ids["tavolo"], ack["seq"], case.kind)
    actor_id = getattr(world, case.actor).id
    assert event["actor_id"] == actor_id and event["at"]
    assert [e["seq"] for e in events(actor)] == [ack["seq"]]  # the author gets it too
    with db_session(app) as session:
        case.check(ids, event["payload"], session)
    assert footprint(app, ids["tavolo"])["events"] == before["events"] + 1


def _bad_inputs(name: str, case: Case, ids: dict) -> list[tuple[str, Any, str | None]]:
    """(label, what to emit, expected message or None for 'any Italian message')."""
    good = {"tavolo_id": ids["tavolo"], **case.payload(ids)}
    bad: list[tuple[str, Any, str | None]] = [
        ("list", [good], MALFORMED),
        ("string", "op", MALFORMED),
        ("number", 42, MALFORMED),
        ("null", None, MALFORMED),
        ("no op_id", dict(good), missing("op_id")),
        ("short op_id", {**good, "op_id": "abc"}, wrong("op_id")),
        ("op_id with spaces", {**good, "op_id": "uno due tre"}, wrong("op_id")),
        ("op_id as number", {**good, "op_id": 12345678}, wrong("op_id")),
        ("no tavolo_id", {k: v for k, v in good.items() if k != "tavolo_id"} | {"op_id": new_op_id()},
         missing("tavolo_id")),
        ("tavolo_id as text", {**good, "tavolo_id": str(ids["tavolo"]), "op_id": new_op_id()}, wrong("tavolo_id")),
        ("tavolo_id as bool", {**good, "tavolo_id": True, "op_id": new_op_id()}, wrong("tavolo_id")),
        ("unknown field", {**good, "colore": "rosso", "op_id": new_op_id()}, UNEXPECTED),
        ("unknown tavolo", {**good, "tavolo_id": 987_654, "op_id": new_op_id()}, None),
    ]
    for field_name, value in case.wrong_types.items():
        bad.append((f"wrong type {field_name}", {**good, field_name: value, "op_id": new_op_id()},
                    wrong(field_name)))
    for field_name in [k for k in case.payload(ids) if k not in ("label",)]:
        required = {k: v for k, v in good.items() if k != field_name}
        if name == "annotation.create" and field_name == "parent_id":
            continue  # optional
        if name == "timer.set" and field_name == "label":
            continue
        if name == "bisogno.update" and field_name in ("expected_version", "title"):
            continue
        if name == "bisogno.create" and field_name != "title":
            continue
        bad.append((f"missing {field_name}", required | {"op_id": new_op_id()}, missing(field_name)))
    for field_name, (_mine, theirs) in case.id_fields.items():
        bad.append((f"unknown {field_name}", {**good, field_name: 987_654, "op_id": new_op_id()}, None))
        bad.append((f"huge {field_name}", {**good, field_name: 2**70, "op_id": new_op_id()}, wrong(field_name)))
        bad.append((f"float {field_name}", {**good, field_name: 1.5, "op_id": new_op_id()}, wrong(field_name)))
        bad.append((f"negative {field_name}", {**good, field_name: -3, "op_id": new_op_id()}, wrong(field_name)))
        if theirs is not None:
            bad.append((f"{field_name} of another tavolo", {**good, field_name: ids[theirs], "op_id": new_op_id()},
                        None))
    return bad


NOT_FOUND_MESSAGES = {"Tavolo inesistente.", "Seduta inesistente.", "Bisogno inesistente.",
                      "Annotazione inesistente."}
# Unknown ids, or ids of another tavolo, end in one of these refusals (never acted upon).
UNKNOWN_ID_REFUSALS = {("not_found", m) for m in NOT_FOUND_MESSAGES} | {
    ("invalid", "Punto all'ordine del giorno inesistente in questa seduta."),
    ("invalid", "La persona indicata non fa parte del tavolo."),
    ("invalid", "Si può rispondere solo a un'annotazione dello stesso bisogno."),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_inputs_are_refused_and_write_nothing(app, world, connect, name):
    case = CASES[name]
    ids, actor, member = _setup(app, world, connect, case)
    before = footprint(app, ids["tavolo"])
    other_before = footprint(app, ids["other_tavolo"])
    for label, payload, expected in _bad_inputs(name, case, ids):
        if label.startswith("no op_id"):
            payload = {k: v for k, v in payload.items() if k != "op_id"}
        ack = call(actor, name, payload)
        assert isinstance(ack, dict) and set(ack) == {"error", "message"}, (label, ack)
        if expected is not None:
            assert ack["message"] == expected, (label, ack)
            assert ack["error"] == ("not_found" if expected in NOT_FOUND_MESSAGES else "invalid"), (label, ack)
        else:
            assert (ack["error"], ack["message"]) in UNKNOWN_ID_REFUSALS, (label, ack)
        assert connected(actor) and connected(member), label
        assert events(member) == [] and events(actor) == [], label
        assert footprint(app, ids["tavolo"]) == before, label
    assert footprint(app, ids["other_tavolo"]) == other_before
    # ids of another tavolo are "not found" here, not acted upon there
    for field_name, (_mine, theirs) in case.id_fields.items():
        if theirs is None:
            continue
        ack = op(actor, name, ids["tavolo"], **{**case.payload(ids), field_name: ids[theirs]})
        assert (ack.get("error"), ack.get("message")) in UNKNOWN_ID_REFUSALS, (field_name, ack)
    # the server still serves this connection: the good operation goes through
    ack = op(actor, name, ids["tavolo"], **case.payload(ids))
    assert ack.get("ok"), ack
    assert [e["seq"] for e in events(member)] == [ack["seq"]]


@pytest.mark.parametrize("name", list(CASES))
def test_forbidden_role_is_refused(app, world, connect, name):
    case = CASES[name]
    ids = _prepare(app, world, case.live)
    intruder = connect(getattr(world, case.forbidden))
    member = connect(world.delegate2 if case.forbidden != "delegate2" else world.delegate)
    if case.forbidden != "outsider":
        join(intruder, ids["tavolo"])
    join(member, ids["tavolo"])
    events(member)
    before = footprint(app, ids["tavolo"])
    ack = op(intruder, name, ids["tavolo"], **case.payload(ids))
    # Outsiders are stopped at the door (not a member); members by the rule of the action.
    expected = ("Non fai parte",) if case.forbidden == "outsider" else ("Solo i", "Può ")
    assert ack["error"] == "forbidden" and ack["message"].startswith(expected), ack
    assert footprint(app, ids["tavolo"]) == before and events(member) == []
    assert connected(intruder)


def test_operation_on_another_tavolo_without_a_role_there(app, world, connect):
    ids = _prepare(app, world, False)
    client = connect(world.delegate2)  # delegate2 has no role at the other tavolo
    join(client, ids["tavolo"])
    before = footprint(app, ids["other_tavolo"])
    ack = op(client, "bisogno.create", ids["other_tavolo"], title="Di nascosto", macroarea="A")
    assert ack == {"error": "forbidden", "message": "Non fai parte di questo tavolo."}
    ack = op(client, "annotation.create", ids["other_tavolo"], bisogno_id=ids["other_bisogno"], kind="dato",
             body="Di nascosto")
    assert ack["error"] == "forbidden"
    assert footprint(app, ids["other_tavolo"]) == before


def test_duplicate_op_id_is_acknowledged_and_applied_once(app, world, connect):
    ids, actor, member = _setup(app, world, connect, CASES["annotation.create"])
    op_id = new_op_id()
    payload = CASES["annotation.create"].payload(ids)
    first = op(actor, "annotation.create", ids["tavolo"], op_id=op_id, **payload)
    again = op(actor, "annotation.create", ids["tavolo"], op_id=op_id, **payload)
    assert first["ok"] and "duplicate" not in first
    assert again == {"ok": True, "seq": first["seq"], "result": first["result"], "duplicate": True}
    assert [e["seq"] for e in events(member)] == [first["seq"]]
    with db_session(app) as session:
        assert session.query(Annotation).filter_by(body="Offriamo **due** volontari.").count() == 1
    # the same op_id from another connection of another person on this tavolo is still one operation
    other = connect(world.delegate)
    third = op(other, "annotation.create", ids["tavolo"], op_id=op_id, **payload)
    assert third["duplicate"] is True and third["seq"] == first["seq"]
    assert events(member) == []


def test_service_refusal_comes_back_as_an_italian_ack(app, world, connect):
    ids, actor, member = _setup(app, world, connect, CASES["bisogno.update"])
    ack = op(actor, "bisogno.update", ids["tavolo"], bisogno_id=ids["bisogno"], expected_version=1, title="Uno")
    assert ack["ok"]
    stale = op(actor, "bisogno.update", ids["tavolo"], bisogno_id=ids["bisogno"], expected_version=1, title="Due")
    assert stale["error"] == "conflict" and "modificato nel frattempo" in stale["message"]
    long = op(actor, "bisogno.update", ids["tavolo"], bisogno_id=ids["bisogno"], description="x" * 20_001)
    assert long["error"] == "too_long" and "20.000" in long["message"]
    app.config["TEXT_LIMIT"] = 10
    short = op(actor, "annotation.create", ids["tavolo"], bisogno_id=ids["bisogno"], kind="dato", body="x" * 11)
    assert short == {"error": "too_long",
                     "message": "Il campo «Testo» supera il limite di 10 caratteri (ne contiene 11)."}
    assert [e["seq"] for e in events(member)] == [ack["seq"]]
    with db_session(app) as session:
        row = session.get(Bisogno, ids["bisogno"])
        assert (row.title, row.version) == ("Uno", 2)


def test_every_registered_event_is_covered(app):
    """A new event of the live layer, tavoli or needs must come with its row in CASES (or a
    connection test). Other modules' events (e.g. voting) are covered by their own suites."""
    from workspace import realtime
    from workspace.extensions import socketio

    ours = {"workspace.realtime", "workspace.tavoli.live", "workspace.needs.live"}
    mine = {event for event, fn in realtime.handlers(app).items() if fn.__module__ in ours}
    # ``page`` (a read) is covered by tests/realtime/test_snapshot_paging.py.
    assert mine == set(CASES) | {"connect", "disconnect", "join", "resync", "leave", "page"}
    assert mine <= set(socketio.server.handlers[realtime.NAMESPACE])
