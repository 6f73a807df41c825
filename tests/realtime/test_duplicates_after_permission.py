"""A refused role never gets a success answer (issue #12, fault 6): the duplicate check of an
``op_id`` comes after the permission check and matches the same person's same operation; an
unknown event is answered ``{"error": "invalid"}``."""
from __future__ import annotations

from tests.realtime.support import call, join, new_op_id, op
from workspace.tavoli import service as tavoli


def _live(app, world) -> None:
    from workspace.accounts.models import User
    from workspace.db import db
    from workspace.tavoli.models import Seduta

    with app.app_context():
        tavoli.start_seduta(db.session, db.session.get(User, world.facilitator.id),
                            db.session.get(Seduta, world.seduta.id))
        db.session.commit()


def test_observer_reusing_the_facilitators_op_id_is_refused_not_acknowledged(app, world, connect):
    _live(app, world)
    facilitator, observer = connect(world.facilitator), connect(world.observer)
    join(facilitator, world.tavolo.id)
    join(observer, world.tavolo.id)
    op_id = new_op_id()
    first = op(facilitator, "timer.set", world.tavolo.id, op_id, seduta_id=world.seduta.id, seconds=120)
    assert first["ok"] is True

    stolen = op(observer, "seduta.close", world.tavolo.id, op_id, seduta_id=world.seduta.id)
    assert "ok" not in stolen and stolen.get("duplicate") is None, stolen
    assert stolen["error"] == "forbidden"
    assert "facilitatori" in stolen["message"]


def test_same_op_id_for_another_operation_of_the_same_person_is_not_a_duplicate(app, world, connect):
    _live(app, world)
    facilitator = connect(world.facilitator)
    join(facilitator, world.tavolo.id)
    op_id = new_op_id()
    assert op(facilitator, "timer.set", world.tavolo.id, op_id, seduta_id=world.seduta.id, seconds=60)["ok"]
    other = op(facilitator, "seduta.close", world.tavolo.id, op_id, seduta_id=world.seduta.id)
    assert other.get("error") == "conflict" and "già stato usato" in other["message"], other


def test_another_permitted_person_reusing_an_op_id_gets_a_conflict(app, world, connect):
    delegate, colleague = connect(world.delegate), connect(world.colleague)
    join(delegate, world.tavolo.id)
    op_id = new_op_id()
    created = op(delegate, "bisogno.create", world.tavolo.id, op_id, title="Trasporto sociale", macroarea="E")
    assert created["ok"] is True
    again = op(colleague, "bisogno.create", world.tavolo.id, op_id, title="Trasporto sociale", macroarea="E")
    assert again.get("error") == "conflict", again


def test_a_true_retry_is_still_acknowledged_as_a_duplicate(app, world, connect):
    delegate = connect(world.delegate)
    join(delegate, world.tavolo.id)
    op_id = new_op_id()
    first = op(delegate, "bisogno.create", world.tavolo.id, op_id, title="Trasporto sociale", macroarea="E")
    retry = op(delegate, "bisogno.create", world.tavolo.id, op_id, title="Trasporto sociale", macroarea="E")
    assert retry == {"ok": True, "seq": first["seq"], "result": first["result"], "duplicate": True}


def test_unknown_event_is_answered_invalid(app, world, connect):
    client = connect(world.delegate)
    for name in ("seduta.explode", "bisogno.creat", "x" * 300):
        ack = call(client, name, {"tavolo_id": world.tavolo.id})
        assert isinstance(ack, dict) and ack["error"] == "invalid", (name, ack)
        assert "sconosciuto" in ack["message"]
    assert call(client, "ping")["error"] == "invalid"  # no payload at all
    assert client.is_connected("/live")


def test_every_bound_event_has_a_policy_row(app):
    from workspace import policy, realtime

    missing = sorted(set(realtime.handlers(app)) - set(policy.EVENTS))
    assert not missing, "eventi senza riga in workspace/policy.py EVENTS: " + ", ".join(missing)
