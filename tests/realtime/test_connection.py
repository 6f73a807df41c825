"""The /live channel itself: who may connect, join / resync / leave, and robustness against
malformed or unknown messages (the sender and everybody else stay connected and served)."""
from __future__ import annotations

import pytest

from tests.realtime.support import attached, call, connected, db_session, events, footprint, join, op
from tests.world import add_bisogno, login_client
from workspace import record
from workspace.extensions import socketio
from workspace.realtime import NAMESPACE
from workspace.tavoli import service as tavoli
from workspace.tavoli.models import Seduta

MALFORMED = "Il messaggio non ha la forma prevista."


# --- connect -------------------------------------------------------------------------------------------


def test_connect_with_login_and_csrf(world, connect):
    assert connected(connect(world.delegate))


def test_connect_refused_without_login(app, world, connect):
    anonymous = app.test_client()
    sio = socketio.test_client(app, namespace=NAMESPACE, flask_test_client=anonymous, auth={"csrf_token": "x"})
    assert not connected(sio)
    bare = socketio.test_client(app, namespace=NAMESPACE)
    assert not connected(bare)
    assert connected(connect(world.delegate))  # the server is still accepting


@pytest.mark.parametrize("csrf", [None, "", "token-sbagliato", 12345])
def test_connect_refused_without_a_valid_csrf_token(world, connect, csrf):
    assert not connected(connect(world.delegate, csrf=csrf))


def test_connect_refused_with_someone_elses_csrf_token(app, world):
    _, token_of_delegate = login_client(app, world.delegate)
    http, _ = login_client(app, world.delegate2)
    sio = socketio.test_client(app, namespace=NAMESPACE, flask_test_client=http, auth={"csrf_token": token_of_delegate})
    assert not connected(sio)


def test_refused_connection_does_not_disturb_the_connected(app, world, connect):
    member = connect(world.delegate2)
    join(member, world.tavolo.id)
    events(member)
    assert not connected(connect(world.delegate, csrf="falso"))
    writer = connect(world.delegate)
    ack = op(writer, "bisogno.create", world.tavolo.id, title="Dopo il rifiuto", macroarea="E")
    assert ack["ok"] and [e["seq"] for e in events(member)] == [ack["seq"]]


# --- join / resync / leave ---------------------------------------------------------------------------------


def test_join_gives_a_snapshot_then_events(app, world, connect):
    with db_session(app) as session:
        base = record.last_seq(session, world.tavolo.id)
        add_bisogno(session, attached(world, session))
    client = connect(world.observer)
    reply = join(client, world.tavolo.id)
    assert reply["mode"] == "snapshot" and reply["last_seq"] == base + 1
    snap = reply["snapshot"]
    assert snap["tavolo"]["id"] == world.tavolo.id and snap["seduta"] is None and snap["quorum"] is None
    assert [b["title"] for b in snap["bisogni"]] == ["Solitudine degli anziani soli nei quartieri periferici"]
    assert snap["annotations"] == []


def test_join_with_last_seq_replays_the_missing_events(app, world, connect):
    with db_session(app) as session:
        base = record.last_seq(session, world.tavolo.id)
        w = attached(world, session)
        for n in range(3):
            add_bisogno(session, w, title=f"Bisogno {n}")
    client = connect(world.delegate)
    reply = join(client, world.tavolo.id, last_seq=base + 1)
    assert reply["mode"] == "replay" and reply["last_seq"] == base + 3
    assert [(e["seq"], e["kind"], e["payload"]["title"]) for e in reply["events"]] == [
        (base + 2, "bisogno.created", "Bisogno 1"), (base + 3, "bisogno.created", "Bisogno 2")]
    assert join(client, world.tavolo.id, last_seq=base + 3)["events"] == []
    # a client that claims to be ahead of the server (restored database) starts over
    assert join(client, world.tavolo.id, last_seq=base + 40)["mode"] == "snapshot"


@pytest.mark.parametrize("event", ["join", "resync"])
@pytest.mark.parametrize("payload,message", [
    (None, MALFORMED),
    ([1], MALFORMED),
    ("1", MALFORMED),
    ({}, "Manca un campo obbligatorio: tavolo_id."),
    ({"tavolo_id": "1"}, "Valore non valido per il campo «tavolo_id»."),
    ({"tavolo_id": 0}, "Valore non valido per il campo «tavolo_id»."),
    ({"tavolo_id": 2**70}, "Valore non valido per il campo «tavolo_id»."),
    ({"tavolo_id": 1, "last_seq": -1}, "Valore non valido per il campo «last_seq»."),
    ({"tavolo_id": 1, "mode": "ologramma"}, "Valore non valido per il campo «mode»."),
    ({"tavolo_id": 1, "stanza": "x"}, "Campo non previsto nel messaggio."),
    ({"tavolo_id": 987_654}, "Tavolo inesistente."),
])
def test_bad_join_refused(world, connect, event, payload, message):
    client = connect(world.delegate)
    assert call(client, event, payload) == {"error": message and ("not_found" if "inesistente" in message
                                                                  else "invalid"), "message": message}
    assert connected(client)


@pytest.mark.parametrize("event", ["join", "resync"])
def test_outsider_cannot_join_nor_listen(world, connect, event):
    outsider = connect(world.outsider)
    assert call(outsider, event, {"tavolo_id": world.tavolo.id}) == {
        "error": "forbidden", "message": "Non fai parte di questo tavolo."}
    writer = connect(world.delegate)
    assert op(writer, "bisogno.create", world.tavolo.id, title="Riservato", macroarea="E")["ok"]
    assert events(outsider) == [] and connected(outsider)


def test_admin_joins_any_tavolo(world, connect):
    assert join(connect(world.admin), world.tavolo.id)["mode"] == "snapshot"


def test_resync_replays_without_marking_presence(app, world, connect):
    with db_session(app) as session:
        base = record.last_seq(session, world.tavolo.id)
        tavoli.start_seduta(session, attached(world, session).facilitator, session.get(Seduta, world.seduta.id))
        session.commit()
    client = connect(world.delegate)
    before = footprint(app, world.tavolo.id)
    reply = call(client, "resync", {"tavolo_id": world.tavolo.id, "last_seq": base})
    assert reply["ok"] and reply["mode"] == "replay" and [e["kind"] for e in reply["events"]] == ["seduta.started"]
    assert footprint(app, world.tavolo.id) == before  # no presence written
    # resync joined the room too: the client receives what follows
    writer = connect(world.facilitator)
    ack = op(writer, "timer.set", world.tavolo.id, seduta_id=world.seduta.id, seconds=60)
    assert [e["seq"] for e in events(client)] == [ack["seq"]]


def test_leave_stops_the_events(world, connect):
    client = connect(world.delegate2)
    join(client, world.tavolo.id)
    assert call(client, "leave", {"tavolo_id": world.tavolo.id}) == {"ok": True}
    writer = connect(world.delegate)
    assert op(writer, "bisogno.create", world.tavolo.id, title="Dopo l'uscita", macroarea="E")["ok"]
    assert events(client) == []


@pytest.mark.parametrize("payload", [None, [], "1", {}, {"tavolo_id": "1"}, {"tavolo_id": True},
                                     {"tavolo_id": 0}, {"tavolo_id": 2**70}])
def test_bad_leave_refused(app, world, connect, payload, caplog):
    with db_session(app) as session:
        tavoli.start_seduta(session, attached(world, session).facilitator, session.get(Seduta, world.seduta.id))
        session.commit()
    client = connect(world.delegate)
    join(client, world.tavolo.id)
    before = footprint(app, world.tavolo.id)
    assert call(client, "leave", payload) == {"error": "invalid", "message": MALFORMED}
    assert connected(client) and footprint(app, world.tavolo.id) == before
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")], caplog.text


# --- robustness ---------------------------------------------------------------------------------------------


def test_unknown_event_is_answered_invalid_and_nobody_is_disconnected(world, connect):
    """An unknown event gets an error ack (issue #12, fault 6: the client must not wait forever)."""
    sender = connect(world.delegate)
    other = connect(world.delegate2)
    join(other, world.tavolo.id)
    for name in ("bisogno.delete", "admin.shutdown", "", "x" * 500):
        assert call(sender, name, {"tavolo_id": world.tavolo.id})["error"] == "invalid"
    assert connected(sender) and connected(other)
    ack = op(sender, "bisogno.create", world.tavolo.id, title="Ancora qui", macroarea="E")
    assert ack["ok"] and [e["seq"] for e in events(other)] == [ack["seq"]]


@pytest.mark.parametrize("event", ["join", "resync", "leave", "bisogno.create", "annotation.support"])
def test_malformed_call_gets_an_error_ack_and_the_server_keeps_serving(world, connect, event):
    """Extra positional arguments, as a buggy or hostile client may send: an error ack, no crash."""
    sender = connect(world.delegate)
    other = connect(world.delegate2)
    join(other, world.tavolo.id)
    events(other)
    for args in (({"tavolo_id": world.tavolo.id}, 2), ({"tavolo_id": world.tavolo.id}, {"x": 1}, [3])):
        ack = call(sender, event, *args)
        assert ack == {"error": "invalid", "message": MALFORMED}, ack
    assert connected(sender) and connected(other) and events(other) == []
    join(sender, world.tavolo.id)
    ack = op(sender, "bisogno.create", world.tavolo.id, title="Ancora qui", macroarea="E")
    assert ack["ok"] and [e["seq"] for e in events(other)] == [ack["seq"]]


def test_binary_and_nested_junk(world, connect):
    sender = connect(world.delegate)
    assert call(sender, "join", b"\x00\xff") == {"error": "invalid", "message": MALFORMED}
    deep: dict = {"tavolo_id": world.tavolo.id}
    node = deep
    for _ in range(50):
        node["x"] = {}
        node = node["x"]
    ack = op(sender, "bisogno.create", world.tavolo.id, title="T", macroarea="E", extra=deep)
    assert ack == {"error": "invalid", "message": "Campo non previsto nel messaggio."}
    assert connected(sender)
