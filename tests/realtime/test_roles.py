"""Role changes reach the live channel: everyone in the tavolo's room receives ``role.set`` /
``role.removed`` / ``member.added``; a person whose role was removed leaves the room at once and is
refused from then on (operations, join, resync), including when the change is made on the
Ufficio di Piano's HTTP page."""
from __future__ import annotations

from sqlalchemy import select

from tests.realtime.support import attached, call, connected, db_session, events, join, op
from tests.world import login_client
from workspace.accounts.models import Organisation
from workspace.tavoli import membership
from workspace.tavoli import service as tavoli
from workspace.tavoli.models import Presence, Seduta

REFUSED = {"error": "forbidden", "message": "Non fai parte di questo tavolo."}


def _kinds(evts):
    return [e["kind"] for e in evts]


def test_a_role_change_reaches_the_room(app, world, connect):
    watcher, person = connect(world.facilitator), connect(world.delegate)
    join(watcher, world.tavolo.id)
    join(person, world.tavolo.id)
    with db_session(app) as session:
        w = attached(world, session)
        membership.set_role(session, w.admin, w.tavolo, w.delegate, "observer")
        session.commit()
    for client in (watcher, person):
        (event,) = events(client)
        assert (event["kind"], event["actor_id"]) == ("role.set", world.admin.id)
        assert {k: event["payload"][k] for k in ("user_id", "name", "role", "previous")} == {
            "user_id": world.delegate.id, "name": "Delia Delegata", "role": "observer", "previous": "delegate"}
    # Still in the room, now without the right to contribute.
    ack = op(person, "bisogno.create", world.tavolo.id, title="Da osservatrice", macroarea="E")
    assert ack["error"] == "forbidden" and "contribuire" in ack["message"]


def test_a_removed_person_leaves_the_room_and_is_refused(app, world, connect):
    """Through the administration page: the HTTP write path evicts like any other."""
    watcher, person = connect(world.facilitator), connect(world.delegate2)
    join(watcher, world.tavolo.id)
    join(person, world.tavolo.id)
    admin, token = login_client(app, world.admin)
    response = admin.post(f"/tavoli/{world.tavolo.id}/membri/ruoli/{world.delegate2.id}/rimuovi",
                          data={"csrf_token": token})
    assert response.status_code == 302
    # The person hears it (their page reloads and is refused), then hears nothing more.
    assert _kinds(events(person)) == ["role.removed"]
    assert _kinds(events(watcher)) == ["role.removed"]
    writer = connect(world.delegate)
    assert op(writer, "bisogno.create", world.tavolo.id, title="Dopo l'uscita di Dario", macroarea="E")["ok"]
    assert _kinds(events(watcher)) == ["bisogno.created"]
    assert events(person) == [] and connected(person)
    assert op(person, "bisogno.create", world.tavolo.id, title="Ancora io", macroarea="E") == REFUSED
    assert call(person, "join", {"tavolo_id": world.tavolo.id}) == REFUSED
    assert call(person, "resync", {"tavolo_id": world.tavolo.id, "last_seq": 1}) == REFUSED


def test_removal_during_a_live_seduta_updates_register_and_quorum(app, world, connect):
    with db_session(app) as session:
        tavoli.start_seduta(session, attached(world, session).facilitator, session.get(Seduta, world.seduta.id))
        session.commit()
    watcher, person = connect(world.facilitator), connect(world.delegate2)
    join(watcher, world.tavolo.id)
    join(person, world.tavolo.id, mode="presenza")
    events(watcher)
    with db_session(app) as session:
        w = attached(world, session)
        membership.remove_role(session, w.admin, w.tavolo, w.delegate2)
        session.commit()
    (event,) = events(watcher)
    assert event["kind"] == "role.removed" and event["payload"]["presence_id"]
    assert event["payload"]["quorum"]["organisations_present"] == 0
    snapshot = join(watcher, world.tavolo.id, presence=False)
    assert snapshot["mode"] == "snapshot"
    assert [p["user_id"] for p in snapshot["snapshot"]["presences"]] == [world.facilitator.id]
    assert snapshot["snapshot"]["quorum"] == event["payload"]["quorum"]
    # Their disconnection later changes nothing more: the presence is already closed.
    person.disconnect(namespace="/live")
    with db_session(app) as session:
        closed = session.scalars(select(Presence).where(Presence.user_id == world.delegate2.id)).all()
        assert len(closed) == 1 and closed[0].left_at is not None


def test_a_new_member_reaches_the_room_with_the_quorum(app, world, connect):
    with db_session(app) as session:
        tavoli.start_seduta(session, attached(world, session).facilitator, session.get(Seduta, world.seduta.id))
        session.commit()
    watcher = connect(world.facilitator)
    join(watcher, world.tavolo.id)
    events(watcher)
    with db_session(app) as session:
        w = attached(world, session)
        org = Organisation(name="Fondazione Delta (prova)", kind="fondazione", ambito_code="50008")
        session.add(org)
        membership.add_member(session, w.admin, w.tavolo, org)
        session.commit()
    (event,) = events(watcher)
    assert event["kind"] == "member.added" and event["payload"]["organisation"] == "Fondazione Delta (prova)"
    assert event["payload"]["quorum"]["organisations_total"] == 3
