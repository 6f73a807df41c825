"""The client outbox at protocol level: an operation is sent, the connection drops before the
acknowledgement is processed, the client reconnects and sends the same op_id again. The retry is
acknowledged and the operation exists exactly once, with exactly one event."""
from __future__ import annotations

from sqlalchemy import func, select

from tests.realtime.support import attached, db_session, events, join, new_op_id, op
from tests.world import add_bisogno
from workspace import record
from workspace.needs.models import Annotation
from workspace.realtime import NAMESPACE


def _setup(app, world):
    with db_session(app) as session:
        return add_bisogno(session, attached(world, session)).id


def _counts(app, tavolo_id, body):
    with db_session(app) as session:
        annotations = session.scalar(select(func.count()).select_from(Annotation).where(Annotation.body == body))
        created = session.scalar(select(func.count()).select_from(record.TavoloEvent).where(
            record.TavoloEvent.tavolo_id == tavolo_id, record.TavoloEvent.kind == "annotation.created"))
        return annotations, created


def test_retry_after_a_lost_ack_applies_once(app, world, connect):
    bisogno_id = _setup(app, world)
    t = world.tavolo.id
    watcher = connect(world.observer)
    join(watcher, t)
    events(watcher)

    outbox = {"op_id": new_op_id(), "tavolo_id": t, "bisogno_id": bisogno_id, "kind": "esperienza",
              "body": "Lo sportello riceve 30 anziani a settimana."}
    first = connect(world.delegate)
    join(first, t)
    # sent without waiting for the ack, then the connection drops: the ack is never processed
    first.emit("annotation.create", dict(outbox), namespace=NAMESPACE)
    first.disconnect(namespace=NAMESPACE)

    second = connect(world.delegate)  # the page reloads, the outbox is still in local storage
    join(second, t)
    retry = second.emit("annotation.create", dict(outbox), namespace=NAMESPACE, callback=True)
    assert retry["ok"] is True and retry["duplicate"] is True
    assert _counts(app, t, outbox["body"]) == (1, 1)
    created = [e for e in events(watcher) if e["kind"] == "annotation.created"]
    assert len(created) == 1 and created[0]["seq"] == retry["seq"]
    assert created[0]["payload"]["id"] == retry["result"]["id"]
    # retrying once more (the second ack was lost too) changes nothing either
    again = op(second, "annotation.create", t, **{k: v for k, v in outbox.items() if k != "tavolo_id"})
    assert again == retry
    assert _counts(app, t, outbox["body"]) == (1, 1)


def test_retry_when_the_first_send_never_arrived_applies_it(app, world, connect):
    """The other half of the outbox contract: if the first delivery was lost on the way in, the
    retry is the first application (no duplicate flag) and still exactly one."""
    bisogno_id = _setup(app, world)
    t = world.tavolo.id
    outbox = {"op_id": new_op_id(), "tavolo_id": t, "bisogno_id": bisogno_id, "kind": "dato", "body": "Dato perso"}
    first = connect(world.delegate)
    first.disconnect(namespace=NAMESPACE)  # dropped before the send left the device
    second = connect(world.delegate)
    join(second, t)
    ack = second.emit("annotation.create", dict(outbox), namespace=NAMESPACE, callback=True)
    assert ack["ok"] and "duplicate" not in ack
    again = second.emit("annotation.create", dict(outbox), namespace=NAMESPACE, callback=True)
    assert again["duplicate"] is True and again["seq"] == ack["seq"]
    assert _counts(app, t, "Dato perso") == (1, 1)


def test_refused_operation_is_not_remembered_as_applied(app, world, connect):
    """An op_id whose operation was refused is not recorded: after fixing the cause (here the
    text limit) the client may retry the same op_id and it is applied."""
    bisogno_id = _setup(app, world)
    t = world.tavolo.id
    client = connect(world.delegate)
    join(client, t)
    op_id = new_op_id()
    app.config["TEXT_LIMIT"] = 5
    refused = op(client, "annotation.create", t, op_id=op_id, bisogno_id=bisogno_id, kind="dato", body="Troppo lungo")
    assert refused["error"] == "too_long"
    app.config["TEXT_LIMIT"] = 100
    ack = op(client, "annotation.create", t, op_id=op_id, bisogno_id=bisogno_id, kind="dato", body="Troppo lungo")
    assert ack["ok"] and "duplicate" not in ack
    assert _counts(app, t, "Troppo lungo") == (1, 1)
