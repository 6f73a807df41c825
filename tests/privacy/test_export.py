""""I miei dati": the person's data as a JSON download, and nothing about anybody else."""
from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from tests.world import add_bisogno, login_client
from workspace import signals
from workspace.accounts import links as account_links
from workspace.accounts.models import AccessToken, LoginSession, User
from workspace.db import utcnow
from workspace.needs import service as needs
from workspace.needs.models import Bisogno
from workspace.privacy import service as privacy
from workspace.tavoli import service as tavoli
from workspace.tavoli.models import Seduta


def populate(in_app, world) -> dict:
    """The delegate (Delia) and others contribute; Delia is present at a live seduta."""
    with in_app() as s:
        delia = s.get(User, world.delegate.id)
        carlo = s.get(User, world.colleague.id)
        dario = s.get(User, world.delegate2.id)
        fabio = s.get(User, world.facilitator.id)
        mine = add_bisogno(s, world, delia, title="Trasporto sociale per anziani nelle frazioni")
        theirs = add_bisogno(s, world, dario, title="Povertà educativa nei quartieri")
        bisogno = s.get(Bisogno, mine.id)
        my_note, _ = needs.add_annotation(s, delia, bisogno, "esperienza", "Nel 2024 abbiamo accompagnato 80 anziani.")
        their_note, _ = needs.add_annotation(s, carlo, bisogno, "dato", "Dato ISTAT sulle frazioni: 1.200 over 75.")
        s.commit()
        needs.toggle_support(s, dario, s.get(type(my_note), my_note.id), True)  # Dario supports Delia's note
        s.commit()
        seduta = s.get(Seduta, world.seduta.id)
        tavoli.start_seduta(s, fabio, seduta)
        tavoli.presence_join(s, delia, seduta)
        tavoli.presence_join(s, dario, seduta)
        s.commit()
        account_links.request_login_link(s, delia.email)
        s.commit()
        return {"mine": mine.id, "theirs": theirs.id, "my_note": my_note.id, "their_note": their_note.id}


def download(app, world, user=None):
    client, _token = login_client(app, user or world.delegate)
    return client.get("/privacy/dati")


def test_export_is_a_json_attachment_with_the_persons_data(app, world, in_app):
    ids = populate(in_app, world)
    response = download(app, world)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and ".json" in disposition
    assert response.headers["Cache-Control"] == "no-store"
    data = json.loads(response.get_data(as_text=True))

    assert data["format"] == privacy.EXPORT_FORMAT
    assert data["account"]["email"] == "del@prova.example.org"
    assert data["account"]["name"] == "Delia Delegata"
    assert data["account"]["has_password"] is True
    assert [m["organisation"]["name"] for m in data["memberships"]] == ["Associazione Alfa (prova)"]
    assert [(r["role"], r["organisation"]["name"]) for r in data["tavolo_roles"]] == [
        ("delegate", "Associazione Alfa (prova)")]
    assert [b["id"] for b in data["bisogni"]] == [ids["mine"]]
    assert data["bisogni"][0]["title"] == "Trasporto sociale per anziani nelle frazioni"
    assert data["bisogni"][0]["organisation"]["id"] == world.ets.id
    assert [c["bisogno_id"] for c in data["bisogno_changes"]] == [ids["mine"]]
    assert [a["id"] for a in data["annotations"]] == [ids["my_note"]]
    assert data["annotations"][0]["body"] == "Nel 2024 abbiamo accompagnato 80 anziani."
    assert len(data["presences"]) == 1
    assert data["presences"][0]["seduta_id"] == world.seduta.id
    assert data["presences"][0]["organisation"]["name"] == "Associazione Alfa (prova)"
    kinds = [e["kind"] for e in data["events"]]
    assert "bisogno.created" in kinds and "annotation.created" in kinds and "presence.joined" in kinds
    assert all(set(e) == {"tavolo_id", "tavolo", "seq", "kind", "object_id", "at"} for e in data["events"])
    assert [t["kind"] for t in data["access_tokens"]] == ["login_link"]
    assert data["logins"] and all(set(lg) == {"created_at", "ended_at", "remember"} for lg in data["logins"])
    assert data["privacy_notice"] == {"version_read": None, "read_at": None, "current_version": "1"}


def test_export_holds_no_hashes_and_no_one_else(app, world, in_app):
    populate(in_app, world)
    body = download(app, world).get_data(as_text=True)
    with in_app() as s:
        delia = s.get(User, world.delegate.id)
        secrets = [delia.password_hash, delia.login_id,
                   *s.scalars(select(AccessToken.token_hash)), *s.scalars(select(LoginSession.key_hash))]
    for secret in secrets:
        assert secret and secret not in body
    assert "password_hash" not in body and "token_hash" not in body and "login_id" not in body
    assert "key_hash" not in body
    # Other people: names, addresses, their contributions.
    for other in ("Dario Delegato", "del2@prova.example.org", "Carlo Collega", "col@prova.example.org",
                  "Fabio Facilitatore", "fac@prova.example.org", "Povertà educativa",
                  "Dato ISTAT sulle frazioni"):
        assert other not in body, other


def test_each_person_gets_their_own(app, world, in_app):
    ids = populate(in_app, world)
    data = json.loads(download(app, world, world.delegate2).get_data(as_text=True))
    assert data["account"]["email"] == "del2@prova.example.org"
    assert [b["id"] for b in data["bisogni"]] == [ids["theirs"]]
    assert data["annotations"] == []
    assert [s["annotation_id"] for s in data["supports"]] == [ids["my_note"]]
    assert data["access_tokens"] == []


def test_export_records_the_notice_reading(app, world, in_app):
    with in_app() as s:
        when = utcnow() - timedelta(days=3)
        privacy.accept_notice(s, s.get(User, world.delegate.id), "1", now=when)
        s.commit()
    data = json.loads(download(app, world).get_data(as_text=True))
    assert data["privacy_notice"]["version_read"] == "1"
    assert data["privacy_notice"]["read_at"] == when.isoformat()


def test_export_needs_login(client):
    response = client.get("/privacy/dati")
    assert response.status_code == 302 and "/accedi" in response.headers["Location"]


def test_receivers_of_personal_data_requested_add_their_part(app, world, in_app):
    def receiver(session, *, user, **_):
        return {"extra_part": [{"user": user.id}]}

    with signals.personal_data_requested.connected_to(receiver):
        data = json.loads(download(app, world).get_data(as_text=True))
    assert data["extra_part"] == [{"user": world.delegate.id}]
