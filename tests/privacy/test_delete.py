"""Account deletion: the person is pseudonymised everywhere, their organisation's records stay."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from tests.helpers import csrf_token_from, login, mail_files
from tests.world import PASSWORD, add_bisogno, login_client
from workspace import signals
from workspace.accounts import links as account_links
from workspace.accounts.models import AccessToken, Membership, User
from workspace.needs import payloads
from workspace.needs import service as needs
from workspace.needs.models import Annotation, Bisogno, BisognoVersion
from workspace.privacy import service as privacy
from workspace.record import TavoloEvent
from workspace.tavoli import service as tavoli
from workspace.tavoli.models import Presence, Seduta, TavoloRole

NAME, EMAIL = "Delia Delegata", "del@prova.example.org"


@pytest.fixture
def contributions(in_app, world) -> dict:
    """Delia contributes for her ETS, is present at a live seduta, and is mentioned by a colleague."""
    with in_app() as s:
        delia = s.get(User, world.delegate.id)
        carlo = s.get(User, world.colleague.id)
        fabio = s.get(User, world.facilitator.id)
        bisogno = add_bisogno(s, world, delia, title="Trasporto sociale per anziani nelle frazioni")
        bisogno = s.get(Bisogno, bisogno.id)
        needs.update_bisogno(s, fabio, bisogno, {"target_population": "Over 75 delle frazioni"})
        note, _ = needs.add_annotation(s, delia, bisogno, "risorsa", "Mettiamo a disposizione due pulmini.")
        mention, _ = needs.add_annotation(
            s, carlo, bisogno, "esperienza", f"Come ha ricordato {NAME} ({EMAIL}), i pulmini servono al mattino.")
        s.commit()
        seduta = s.get(Seduta, world.seduta.id)
        tavoli.start_seduta(s, fabio, seduta)
        tavoli.presence_join(s, delia, seduta)
        tavoli.mark_presence(s, fabio, seduta, delia.id, True)
        s.commit()
        account_links.request_login_link(s, EMAIL)
        s.commit()
        return {"bisogno": bisogno.id, "note": note.id, "mention": mention.id}


def delete_page(client):
    response = client.get("/privacy/elimina")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def request_deletion(client, typed: str):
    html = delete_page(client)
    return client.post("/privacy/elimina", data={"csrf_token": csrf_token_from(html), "email": typed})


def everything_as_text(s) -> str:
    parts = [json.dumps(e.payload, ensure_ascii=False) for e in s.scalars(select(TavoloEvent))]
    parts += [json.dumps(v.data, ensure_ascii=False) for v in s.scalars(select(BisognoVersion))]
    parts += [f"{b.title} {b.description} {b.target_population}" for b in s.scalars(select(Bisogno))]
    parts += [a.body for a in s.scalars(select(Annotation))]
    parts += [f"{u.name} {u.email}" for u in s.scalars(select(User))]
    parts += [f"{t.email} {t.name}" for t in s.scalars(select(AccessToken))]
    return "\n".join(parts)


def test_deletion_pseudonymises_the_person_and_keeps_the_records(app, world, contributions, in_app):
    with in_app() as s:
        assert NAME in everything_as_text(s) and EMAIL in everything_as_text(s)
        versions_before = s.scalar(select(func.count()).select_from(BisognoVersion))
        events_before = s.scalar(select(func.count()).select_from(TavoloEvent))
        old_login_id = s.get(User, world.delegate.id).login_id
    client, _token = login_client(app, world.delegate)
    other_device, _ = login_client(app, world.delegate)

    response = request_deletion(client, "  DEL@prova.example.org ")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "Il tuo account è stato eliminato" in client.get("/").get_data(as_text=True)

    uid = world.delegate.id
    pseudonym = f"Persona eliminata #{uid}"
    with in_app() as s:
        user = s.get(User, uid)
        assert user.name == pseudonym
        assert user.email == f"persona-eliminata-{uid}@eliminata.invalid"
        assert user.password_hash is None and not user.active and not user.is_admin
        assert user.login_id != old_login_id and user.pseudonymised_at is not None
        assert user.last_login_at is None

        # The name and the address are gone from every stored copy.
        text = everything_as_text(s)
        assert NAME not in text and EMAIL not in text
        assert s.scalar(select(func.count()).select_from(User).where(User.email == EMAIL)) == 0

        # The organisation's records are intact and attributed as before.
        bisogno = s.get(Bisogno, contributions["bisogno"])
        assert bisogno.author_id == uid and bisogno.organisation_id == world.ets.id
        assert bisogno.title == "Trasporto sociale per anziani nelle frazioni"
        note = s.get(Annotation, contributions["note"])
        assert note.author_id == uid and note.organisation_id == world.ets.id
        assert note.body == "Mettiamo a disposizione due pulmini." and note.deleted_at is None
        mention = s.get(Annotation, contributions["mention"])
        assert mention.author_id == world.colleague.id
        assert mention.body == (f"Come ha ricordato {pseudonym} (persona-eliminata-{uid}@eliminata.invalid), "
                                "i pulmini servono al mattino.")
        assert s.scalar(select(func.count()).select_from(BisognoVersion)) == versions_before
        assert s.scalar(select(func.count()).select_from(TavoloEvent)) == events_before
        presences = list(s.scalars(select(Presence).where(Presence.user_id == uid)))
        assert presences and all(p.organisation_id == world.ets.id for p in presences)

        # What others are shown: the pseudonym, the same organisation.
        shown = payloads.bisogno_member(bisogno)
        assert shown["author"] == pseudonym and shown["organisation"] == "Associazione Alfa (prova)"
        assert payloads.annotation_member(note)["author"] == pseudonym
        created = s.scalar(select(TavoloEvent).where(TavoloEvent.kind == "bisogno.created"))
        assert created.payload["author"] == pseudonym and created.actor_id == uid
        joined = s.scalar(select(TavoloEvent).where(TavoloEvent.kind == "presence.joined"))
        assert joined.payload["name"] == pseudonym
        marked = s.scalar(select(TavoloEvent).where(TavoloEvent.kind == "presence.marked"))
        assert marked.payload["presence"]["name"] == pseudonym

        # No more access: memberships, roles and links are gone.
        assert s.scalar(select(func.count()).select_from(Membership).where(Membership.user_id == uid)) == 0
        assert s.scalar(select(func.count()).select_from(TavoloRole).where(TavoloRole.user_id == uid)) == 0
        assert s.scalar(select(func.count()).select_from(AccessToken).where(AccessToken.user_id == uid)) == 0

    # Logged out here and on the other device; the password no longer opens anything.
    assert client.get("/profilo").status_code == 302
    assert other_device.get("/profilo").status_code == 302
    fresh = app.test_client()
    assert login(fresh, EMAIL, PASSWORD).status_code == 401
    # The e-mails written for the deleted address are gone too (mail-to-file mode).
    assert not any(EMAIL in path.read_text(errors="replace") for path in mail_files(app))


def test_the_bisogno_page_shows_the_pseudonym(app, world, contributions):
    client, _token = login_client(app, world.delegate)
    request_deletion(client, EMAIL)
    viewer, _ = login_client(app, world.delegate2)
    page = viewer.get(f"/tavoli/{world.tavolo.id}/bisogni/{contributions['bisogno']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"Persona eliminata #{world.delegate.id}" in html
    assert NAME not in html and "Associazione Alfa (prova)" in html


def test_wrong_confirmation_is_refused_and_changes_nothing(app, world, contributions, in_app):
    client, _token = login_client(app, world.delegate)
    response = request_deletion(client, "del2@prova.example.org")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "non è quello del tuo account" in html and 'aria-invalid="true"' in html
    empty = request_deletion(client, "")
    assert empty.status_code == 422
    with in_app() as s:
        user = s.get(User, world.delegate.id)
        assert user.name == NAME and user.email == EMAIL and user.active and user.password_hash
        assert user.pseudonymised_at is None and len(user.memberships) == 1
        assert NAME in everything_as_text(s)
    assert client.get("/profilo").status_code == 200


def test_deletion_needs_csrf(app, world, contributions, in_app):
    client, _token = login_client(app, world.delegate)
    response = client.post("/privacy/elimina", data={"email": EMAIL})
    assert response.status_code == 400
    with in_app() as s:
        assert s.get(User, world.delegate.id).active
        assert NAME in everything_as_text(s)


def test_deletion_needs_login(client):
    response = client.get("/privacy/elimina")
    assert response.status_code == 302 and "/accedi" in response.headers["Location"]


def test_the_last_administrator_cannot_delete_themselves(app, world, in_app):
    client, _token = login_client(app, world.admin)
    response = request_deletion(client, world.admin.email)
    assert response.status_code == 409
    assert "tavoli admin invite" in response.get_data(as_text=True)
    with in_app() as s:
        assert s.get(User, world.admin.id).active
    # With a second administrator, it works.
    with in_app() as s:
        s.get(User, world.facilitator.id).is_admin = True
        s.commit()
    assert request_deletion(client, world.admin.email).status_code == 302


def test_a_single_word_name_is_replaced_only_where_it_is_the_whole_value():
    """"Amministratrice" as a name must not rewrite the word inside someone else's text."""
    scrubber = privacy.Scrubber(7, "Amministratrice", "a@b.example", "Persona eliminata #7", "x@eliminata.invalid")
    assert scrubber.text("Amministratrice") == "Persona eliminata #7"
    assert scrubber.text("L'Amministratrice ha convocato") == "L'Amministratrice ha convocato"
    assert scrubber.text("scrivere ad A@B.example") == "scrivere ad x@eliminata.invalid"
    assert scrubber.json({"user_id": 7, "name": "Vecchio Nome", "quorum": {"people": 3}}) == {
        "user_id": 7, "name": "Persona eliminata #7", "quorum": {"people": 3}}


def test_receivers_of_person_pseudonymised_run(in_app, world):
    seen = []

    def receiver(session, *, user, scrubber, **_):
        seen.append((user.name, scrubber.replacement))
        return 2

    with signals.person_pseudonymised.connected_to(receiver), in_app() as s:
        report = privacy.delete_account(s, s.get(User, world.delegate.id), EMAIL)
        s.rollback()
    assert seen == [(NAME, f"Persona eliminata #{world.delegate.id}")]
    assert report.details[__name__] == 2
    assert report.other == sum(report.details.values())
    # The areas' own receivers ran too: Delia's tavolo role went.
    assert report.details["workspace.tavoli.privacy"] == 1


def test_a_deletion_whose_commit_fails_keeps_the_account_and_the_session(app, world, contributions, in_app):
    """The logout and the removal of the mails wait for the commit: a failed one leaves all as it was."""
    from sqlalchemy import event
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    client, _token = login_client(app, world.delegate)
    html = delete_page(client)
    mails = [p for p in mail_files(app) if EMAIL in p.read_text(errors="replace")]
    assert mails

    def fail(_session):
        raise OperationalError("COMMIT", {}, Exception("database is locked"))

    event.listen(Session, "before_commit", fail)
    try:
        response = client.post("/privacy/elimina", data={"csrf_token": csrf_token_from(html), "email": EMAIL})
    finally:
        event.remove(Session, "before_commit", fail)
    assert response.status_code == 409
    assert "Il tuo account è stato eliminato" not in client.get("/").get_data(as_text=True)
    assert client.get("/profilo").status_code == 200  # still logged in
    assert all(p.exists() for p in mails)
    with in_app() as s:
        user = s.get(User, world.delegate.id)
        assert user.name == NAME and user.active and user.pseudonymised_at is None
        assert NAME in everything_as_text(s)
