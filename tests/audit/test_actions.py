"""Administrative actions reach the audit trail through the real pages: logins (and failed ones,
whose requests are rolled back), logout, password change and reset, login links, invitations sent
and accepted, organisations, memberships, admin grants, account deletion and the retention purge.
Entries name people by id; no address and no name is ever inside the hashed details."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, select

from tests.audit.support import assert_chained, entries
from tests.helpers import DEFAULT_PASSWORD, csrf_post, csrf_token_from, last_mail, link_in_mail, login, logout
from workspace.accounts.models import User
from workspace.audit import chain
from workspace.audit.models import AuditEntry


def _new(in_app, since: int) -> list[tuple]:
    with in_app() as s:
        return [(e.action, e.actor_id, e.object_type, e.object_id, e.details) for e in entries(s)[since:]]


def _count(in_app) -> int:
    with in_app() as s:
        return len(entries(s))


def test_logins_failed_logins_and_logout(app, client, person, in_app):
    maria = person("maria@example.it", name="Maria Rossi")
    start = _count(in_app)

    assert login(client, "maria@example.it", "password-sbagliata").status_code == 401
    assert login(client, "nessuno@example.it", "password-sbagliata").status_code == 401
    assert login(client, "MARIA@example.it").status_code == 302
    assert logout(client).status_code == 302
    with in_app() as s:
        s.get(User, maria.id).active = False
        s.commit()
    assert login(client, "maria@example.it").status_code == 403

    assert _new(in_app, start) == [
        ("login.failed", None, "user", maria.id, {"reason": "bad_credentials", "known_account": True}),
        ("login.failed", None, None, None, {"reason": "bad_credentials", "known_account": False}),
        ("login.succeeded", maria.id, "user", maria.id, {"method": "password"}),
        ("logout", maria.id, "user", maria.id, {}),
        ("login.failed", None, "user", maria.id, {"reason": "account_disabled", "known_account": True}),
    ]
    with in_app() as s:
        rows = assert_chained(s)
        assert rows[-3].actor_label == "Maria Rossi"
        assert "@" not in json.dumps([e.details for e in rows])


def test_throttled_attempts_are_not_recorded(app, client, person, in_app):
    from workspace.ratelimit import LoginThrottle, MemoryBackend

    person("bersaglio@example.it")
    # Frozen time: the waits that follow the free failures do not run out during the test.
    app.extensions["tavoli_ratelimit"] = LoginThrottle(MemoryBackend(lambda: 1000.0), 5, 900, ip_limit=100)
    start = _count(in_app)
    limit = app.extensions["tavoli_ratelimit"].free  # the pair's free failures, then it waits
    for _ in range(limit):
        assert login(client, "bersaglio@example.it", "password-sbagliata").status_code == 401
    for _ in range(3):
        assert login(client, "bersaglio@example.it", "password-sbagliata").status_code == 429
    assert [a[0] for a in _new(in_app, start)] == ["login.failed"] * limit


def test_password_change_and_its_failures(app, client, person, in_app):
    maria = person("maria@example.it")
    login(client, "maria@example.it")
    start = _count(in_app)
    wrong = csrf_post(client, "/profilo", {"current_password": "sbagliata-sbagliata",
                                           "new_password": "una-password-nuova",
                                           "new_password_confirm": "una-password-nuova"})
    assert wrong.status_code == 422
    done = csrf_post(client, "/profilo", {"current_password": DEFAULT_PASSWORD, "new_password": "una-password-nuova",
                                          "new_password_confirm": "una-password-nuova"})
    assert done.status_code == 302
    assert _new(in_app, start) == [("password.change_failed", maria.id, "user", maria.id, {}),
                                   ("password.changed", maria.id, "user", maria.id, {})]


def test_password_reset_and_login_link(app, client, person, in_app):
    maria = person("maria@example.it")
    start = _count(in_app)
    csrf_post(client, "/password-dimenticata", {"email": "maria@example.it"})
    path = link_in_mail(last_mail(app, "maria@example.it"), app.config["BASE_URL"])
    assert csrf_post(client, path, {"password": "nuova-password-ok",
                                    "password_confirm": "nuova-password-ok"}).status_code == 302
    logout(client)
    csrf_post(client, "/accesso-con-link", {"email": "maria@example.it"})
    path = link_in_mail(last_mail(app, "maria@example.it"), app.config["BASE_URL"])
    assert csrf_post(client, path, {}).status_code == 302
    assert [a[:2] + (a[4],) for a in _new(in_app, start)] == [
        ("password.reset", maria.id, {}),
        ("login.succeeded", maria.id, {"method": "password_reset"}),
        ("logout", maria.id, {}),
        ("login.succeeded", maria.id, {"method": "link"}),
    ]


def test_organisation_invitation_membership_and_admin_grant(app, client, person, in_app):
    admin = person("admin@example.it", admin=True, name="Ada Amministratrice")
    login(client, "admin@example.it")
    start = _count(in_app)
    page = client.get("/amministrazione/organizzazioni")
    created = client.post("/amministrazione/organizzazioni", data={
        "csrf_token": csrf_token_from(page.get_data(as_text=True)), "name": "Comune di Vigevano",
        "kind": "comune", "ambito_code": "", "codice_fiscale": "", "runts_section": "", "runts_repertorio": "",
        "email": ""})
    assert created.status_code == 302
    org_id = int(created.headers["Location"].rsplit("/", 1)[1])
    invited = csrf_post(client, f"/amministrazione/organizzazioni/{org_id}",
                        {"name": "Nora Nuova", "email": "nora@example.it", "grants_admin": "y"})
    assert invited.status_code == 302
    path = link_in_mail(last_mail(app, "nora@example.it"), app.config["BASE_URL"])
    guest = app.test_client()
    accepted = csrf_post(guest, path, {"name": "Nora Nuova", "join_with_password": "y",
                                       "password": "password-di-nora-1", "password_confirm": "password-di-nora-1"})
    assert accepted.status_code == 302, accepted.get_data(as_text=True)
    with in_app() as s:
        nora = s.scalar(select(User).where(User.email == "nora@example.it"))
        token_id = _new(in_app, start)[1][4]["invitation_id"]
        assert _new(in_app, start) == [
            ("organisation.created", admin.id, "organisation", org_id, {"kind": "comune", "ambito_code": None}),
            ("invitation.sent", admin.id, "organisation", org_id,
             {"invitation_id": token_id, "user_id": None, "grants_admin": True}),
            ("user.created", None, "user", nora.id, {"is_admin": False}),
            ("membership.added", nora.id, "organisation", org_id, {"user_id": nora.id, "role": "delegate"}),
            ("invitation.accepted", nora.id, "organisation", org_id,
             {"invitation_id": token_id, "invited_by": admin.id, "with_password": True}),
            ("admin.granted", nora.id, "user", nora.id, {"invitation_id": token_id, "invited_by": admin.id}),
            ("login.succeeded", nora.id, "user", nora.id, {"method": "invitation"}),
        ]
        rows = assert_chained(s)
        assert rows[-1].actor_label == "Nora Nuova (Comune di Vigevano)"
        assert "nora@example.it" not in json.dumps([e.details for e in rows])


def test_account_deletion_is_recorded_and_the_name_leaves_the_trail(app, world, in_app):
    from tests.world import PASSWORD

    client = app.test_client()
    name, uid = "Delia Delegata", world.delegate.id
    assert login(client, "del@prova.example.org", PASSWORD).status_code == 302
    page = client.get("/privacy/elimina").get_data(as_text=True)
    response = client.post("/privacy/elimina", data={"csrf_token": csrf_token_from(page),
                                                     "email": "del@prova.example.org"})
    assert response.status_code == 302
    with in_app() as s:
        rows = assert_chained(s)  # the chain holds: the label is outside the hashed content
        mine = [e for e in rows if e.actor_id == uid]
        assert [e.action for e in mine] == ["login.succeeded", "account.deleted"]
        assert mine[-1].object_type == "user" and mine[-1].object_id == uid
        assert set(mine[-1].details) == {"rows_rewritten"}
        assert mine[0].actor_label == f"Persona eliminata #{uid} (Associazione Alfa (prova))"
        assert mine[-1].actor_label == f"Persona eliminata #{uid}"
        everything = json.dumps([(e.actor_label, e.details) for e in rows], ensure_ascii=False)
        assert name not in everything and "del@prova.example.org" not in everything
        assert chain.verify(s).ok


def test_the_retention_purge_is_recorded(app, session):
    from workspace.privacy.retention import purge

    purge(session, app.config, dry_run=True)
    session.commit()
    assert entries(session) == []
    purge(session, app.config)
    session.commit()
    (entry,) = entries(session)
    assert (entry.action, entry.actor_id) == ("retention.applied", None)
    assert entry.details == {"mail_files": 0, "tokens": 0, "logins": 0, "presences": 0, "events": 0}


def test_personal_data_export_lists_the_persons_entries(app, session, person):
    from workspace.accounts import service as accounts
    from workspace.privacy.service import export_personal_data

    maria = person("maria@example.it")
    other = person("altro@example.it")
    data = export_personal_data(session, maria)
    assert data["audit_trail"] == []  # created by nobody in particular: not the actor of anything yet
    accounts.logged_out(session, maria)
    accounts.logged_out(session, other)
    session.commit()
    data = export_personal_data(session, maria)
    assert [(e["action"], e["object_id"]) for e in data["audit_trail"]] == [("logout", maria.id)]


@pytest.mark.real_db
def test_a_failed_login_is_committed_on_its_own_in_a_real_database(app, client, person):
    """With real commits (SQLite file, PostgreSQL): the refused login's request is rolled back, the
    failed attempt is written afterwards in its own transaction, and a fresh connection sees it."""
    maria = person("maria@example.it")
    assert login(client, "maria@example.it", "password-sbagliata").status_code == 401
    assert login(client, "maria@example.it").status_code == 302
    engine = create_engine(app.config["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(AuditEntry.action, AuditEntry.object_id).order_by(AuditEntry.id)).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows][-2:] == [("login.failed", maria.id), ("login.succeeded", maria.id)]
    with app.app_context():
        from workspace.db import db

        assert chain.verify(db.session).checked == len(rows)
