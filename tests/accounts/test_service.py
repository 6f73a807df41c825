"""Account services called directly, on SQLite and PostgreSQL."""
from __future__ import annotations

import hashlib
import threading
from contextlib import contextmanager
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import event, func, select

from tests.helpers import mail_files, make_org, make_user, valid_numeric_cf
from workspace.accounts import links, service
from workspace.accounts.models import AccessToken, Membership, Organisation, User
from workspace.db import utcnow
from workspace.problems import Problem

ETS_CF = valid_numeric_cf(9712345678)


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


# --------------------------------------------------------------------------- users


def test_create_user_normalises_email(session):
    user = service.create_user(session, email="  Maria.Rossi@Example.IT ", name=" Maria   Rossi ")
    session.commit()
    assert user.email == "maria.rossi@example.it"
    assert user.name == "Maria Rossi"
    assert user.password_hash is None and not user.is_admin and user.active


def test_duplicate_email_is_409_and_writes_nothing(session):
    make_user(session, "anna@example.it")
    before = count(session, User)
    with pytest.raises(Problem) as info:
        service.create_user(session, email="ANNA@example.it", name="Anna bis")
    assert info.value.status == 409 and info.value.field == "email"
    assert "anna@example.it" in info.value.message
    session.rollback()
    assert count(session, User) == before


@pytest.mark.parametrize("bad", ["", "senza-chiocciola", "due@@example.it", "a@b", "spazi dentro@example.it"])
def test_invalid_email_refused(session, bad):
    with pytest.raises(Problem) as info:
        service.create_user(session, email=bad, name="X")
    assert info.value.status == 422 and info.value.field == "email"
    assert count(session, User) == 0


def test_short_password_refused_before_writing(session):
    with pytest.raises(Problem) as info:
        service.create_user(session, email="b@example.it", name="B", password="corta")
    assert info.value.status == 422 and "almeno 10" in info.value.message
    assert count(session, User) == 0


def test_set_password_rotates_login_id(session):
    user = make_user(session, "c@example.it")
    old_login_id, old_hash = user.login_id, user.password_hash
    service.set_password(session, user, "una-nuova-password")
    session.commit()
    assert user.login_id != old_login_id and user.password_hash != old_hash
    assert user.password_hash.startswith("$argon2id$")


# --------------------------------------------------------------------------- authenticate


def test_authenticate_success_records_last_login(session):
    make_user(session, "d@example.it", password="password-giusta")
    user = service.authenticate(session, "D@Example.it", "password-giusta")
    session.commit()
    assert user.email == "d@example.it" and user.last_login_at is not None


@pytest.mark.parametrize("email, password", [("e@example.it", "password-sbagliata"),
                                             ("nessuno@example.it", "password-giusta"),
                                             ("non-una-email", "password-giusta")])
def test_authenticate_failures_are_uniform(session, email, password):
    make_user(session, "e@example.it", password="password-giusta")
    with pytest.raises(Problem) as info:
        service.authenticate(session, email, password)
    assert info.value.status == 401
    assert info.value.message == "E-mail o password non corretti."


def test_authenticate_user_without_password_fails_uniformly(session):
    make_user(session, "f@example.it", password=None)
    with pytest.raises(Problem) as info:
        service.authenticate(session, "f@example.it", "")
    assert info.value.status == 401


def test_authenticate_inactive_user(session):
    user = make_user(session, "g@example.it", password="password-giusta")
    user.active = False
    session.commit()
    with pytest.raises(Problem) as info:
        service.authenticate(session, "g@example.it", "password-giusta")
    assert info.value.status == 403 and "disattivato" in info.value.message


def test_authenticate_rehashes_outdated_hashes(session, monkeypatch):
    user = make_user(session, "h@example.it", password=None)
    user.password_hash = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1).hash("password-giusta")
    session.commit()
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    monkeypatch.setattr(service, "_hasher", stronger)
    old_login_id = user.login_id
    service.authenticate(session, "h@example.it", "password-giusta")
    session.commit()
    assert "m=2048,t=2" in user.password_hash
    assert not stronger.check_needs_rehash(user.password_hash)
    assert user.login_id == old_login_id  # a rehash is not a password change


@pytest.mark.real_argon2
def test_production_hash_parameters(session):
    user = make_user(session, "i@example.it", password="password-giusta")
    assert user.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert service.authenticate(session, "i@example.it", "password-giusta") is user


# --------------------------------------------------------------------------- organisations


def test_create_ets(session):
    org = service.create_organisation(
        session, name="Cooperativa Sociale Il Ponte", kind="ets", ambito_code="50008",
        codice_fiscale=f" {ETS_CF[:5]} {ETS_CF[5:]} ", runts_section="imprese_sociali", runts_repertorio=" 12345 ",
    )
    session.commit()
    assert (org.codice_fiscale, org.runts_section, org.runts_repertorio) == (ETS_CF, "imprese_sociali", "12345")
    assert org.is_ets


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"codice_fiscale": ETS_CF[:-1] + str((int(ETS_CF[-1]) + 1) % 10)}, "codice_fiscale"),
        ({"codice_fiscale": None}, "codice_fiscale"),
        ({"codice_fiscale": "RSSMRA85T10A562S"}, "codice_fiscale"),  # a person's code is not an ETS's
        ({"runts_section": None}, "runts_section"),
        ({"runts_section": "ottava_sezione"}, "runts_section"),
        ({"runts_repertorio": ""}, "runts_repertorio"),
        ({"runts_repertorio": "12A"}, "runts_repertorio"),
        ({"ambito_code": "99999"}, "ambito_code"),
        ({"name": "   "}, "name"),
        ({"kind": "partito"}, "kind"),
        ({"email": "non-valida"}, "email"),
    ],
)
def test_create_ets_refusals(session, changes, field):
    data = {"name": "APS Esempio", "kind": "ets", "codice_fiscale": ETS_CF, "runts_section": "aps",
            "runts_repertorio": "42", **changes}
    with pytest.raises(Problem) as info:
        service.create_organisation(session, **data)
    assert info.value.status == 422 and info.value.field == field, info.value.message
    assert count(session, Organisation) == 0


def test_non_ets_cannot_carry_runts_data(session):
    with pytest.raises(Problem) as info:
        service.create_organisation(session, name="Comune di Pavia", kind="comune", runts_section="odv")
    assert info.value.field == "runts_section" and "Terzo settore" in info.value.message
    org = service.create_organisation(session, name="Comune di Pavia", kind="comune",
                                      codice_fiscale="00296180185")
    assert org.runts_section is None and org.codice_fiscale == "00296180185"


def test_duplicate_codice_fiscale_is_409(session):
    make_org(session, kind="ets", codice_fiscale=ETS_CF)
    with pytest.raises(Problem) as info:
        service.create_organisation(session, name="Altro nome", kind="ets", codice_fiscale=ETS_CF,
                                    runts_section="odv", runts_repertorio="7")
    assert info.value.status == 409
    session.rollback()
    assert count(session, Organisation) == 1


# --------------------------------------------------------------------------- tokens


def test_issue_token_stores_only_the_hash(session):
    raw = links.issue_token(session, "login_link", "x@example.it")
    session.commit()
    token = session.scalar(select(AccessToken))
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in (token.token_hash, token.email)
    assert len(raw) >= 43  # 32 random bytes, URL-safe base64


def test_consume_token_once(session):
    raw = links.issue_token(session, "login_link", "x@example.it")
    session.commit()
    assert links.consume_token(session, raw, "login_link").used_at is not None
    session.commit()
    with pytest.raises(Problem) as info:
        links.consume_token(session, raw, "login_link")
    assert info.value.status == 410 and "già stato usato" in info.value.message


def test_unknown_and_wrong_kind_tokens_are_404(session):
    raw = links.issue_token(session, "login_link", "x@example.it")
    session.commit()
    for token, kind in [("inesistente", "login_link"), (raw, "password_reset"), ("x" * 500, "login_link")]:
        with pytest.raises(Problem) as info:
            links.consume_token(session, token, kind)
        assert info.value.status == 404


def test_expired_token_is_410_and_stays_unused(session):
    raw = links.issue_token(session, "invitation", "x@example.it", lifetime=timedelta(seconds=-1))
    session.commit()
    with pytest.raises(Problem) as info:
        links.consume_token(session, raw, "invitation")
    assert info.value.status == 410 and "scaduto" in info.value.message
    session.rollback()
    assert session.scalar(select(AccessToken.used_at)) is None


@pytest.mark.real_db  # four threads, each with its own connection and transaction
def test_concurrent_consumption_only_one_wins(app):
    from workspace.db import db

    with app.app_context():
        raw = links.issue_token(db.session, "login_link", "x@example.it")
        db.session.commit()

    barrier = threading.Barrier(4)
    outcomes: list[object] = []
    lock = threading.Lock()

    def worker():
        with app.app_context():
            barrier.wait()
            try:
                links.consume_token(db.session, raw, "login_link")
                db.session.commit()
                result: object = "ok"
            except Problem as exc:
                db.session.rollback()
                result = exc.status
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes, key=str) == [410, 410, 410, "ok"]


# --------------------------------------------------------------------------- invitations


def test_accept_invitation_creates_delegate_and_admin(session, app):
    org = make_org(session, kind="ufficio_di_piano", name="Ufficio di Piano di Pavia")
    admin = make_user(session, "capo@example.it", admin=True)
    raw = links.invite_delegate(session, org, name="Nuova Persona", email="Nuova@Example.it",
                                  grants_admin=True, invited_by=admin)
    session.commit()
    assert len(mail_files(app)) == 1
    user = links.accept_invitation(session, raw)
    session.commit()
    assert user.email == "nuova@example.it" and user.name == "Nuova Persona"
    assert user.is_admin and user.password_hash is None
    assert [o.name for o in user.organisations] == ["Ufficio di Piano di Pavia"]


def test_accept_invitation_reuses_existing_account(session):
    org = make_org(session)
    existing = make_user(session, "gia@example.it", password="password-esistente")
    raw = links.invite_delegate(session, org, name="Altro Nome", email="gia@example.it")
    session.commit()
    user = links.accept_invitation(session, raw, password="password-nuova-1")
    session.commit()
    assert user.id == existing.id and user.name != "Altro Nome"
    assert service.authenticate(session, "gia@example.it", "password-nuova-1") is user
    assert count(session, User) == 1 and count(session, Membership) == 1


def test_accept_invitation_with_short_password_writes_nothing(session):
    org = make_org(session)
    raw = links.invite_delegate(session, org, name="P", email="p@example.it")
    session.commit()
    with pytest.raises(Problem) as info:
        links.accept_invitation(session, raw, password="corta")
    assert info.value.status == 422
    session.rollback()
    assert count(session, User) == 0
    assert session.scalar(select(AccessToken.used_at)) is None


def test_invite_existing_delegate_is_409(session):
    org = make_org(session)
    make_user(session, "q@example.it", org=org)
    with pytest.raises(Problem) as info:
        links.invite_delegate(session, org, name="Q", email="Q@example.it")
    assert info.value.status == 409
    assert count(session, AccessToken) == 0


def test_invitation_mail_failure_writes_nothing(session, app):
    app.config["MAIL_DIR"] = "/proc/non-scrivibile/mail"
    org = make_org(session)
    with pytest.raises(Problem) as info:
        links.invite_delegate(session, org, name="R", email="r@example.it")
    assert info.value.status == 503
    session.rollback()
    assert count(session, AccessToken) == 0


# --------------------------------------------------------------------------- links by e-mail


def test_password_reset_for_unknown_or_inactive_email_sends_nothing(session, app):
    user = make_user(session, "spento@example.it")
    user.active = False
    session.commit()
    links.request_password_reset(session, "nessuno@example.it")
    links.request_password_reset(session, "spento@example.it")
    links.request_login_link(session, "nessuno@example.it")
    session.commit()
    assert mail_files(app) == []
    assert count(session, AccessToken) == 0


def test_reset_password_kills_other_reset_links(session):
    make_user(session, "s@example.it")
    links.request_password_reset(session, "s@example.it")
    links.request_password_reset(session, "s@example.it")
    session.commit()
    tokens = list(session.scalars(select(AccessToken)))
    assert len(tokens) == 2
    # Find a raw token: only the mail has it, so issue a third one directly.
    user = service.find_user(session, "s@example.it")
    raw = links.issue_token(session, "password_reset", user.email, user=user)
    session.commit()
    links.reset_password(session, raw, "password-nuova-123")
    session.commit()
    assert all(t.used_at is not None for t in session.scalars(select(AccessToken)))
    assert utcnow() - user.last_login_at < timedelta(minutes=1)


def test_every_organisation_error_reported_at_once(session):
    with pytest.raises(Problem) as info:
        service.create_organisation(session, name="", kind="ets", codice_fiscale="123",
                                    runts_section="nessuna", runts_repertorio="abc", email="x")
    assert set(info.value.errors) == {"name", "codice_fiscale", "runts_section", "runts_repertorio", "email"}
    assert count(session, Organisation) == 0


# --------------------------------------------------------------------------- the organisation spoken for


@contextmanager
def _statements(session):
    """The SQL statements the session's engine runs inside the block."""
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_rest) -> None:
        seen.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_first_organisation_is_the_first_membership_in_one_query(session):
    """A person whose role at a tavolo names no organisation speaks for their first membership: the
    one made first, not the one an index happens to list first, and found with one query (live pages
    and contributions ask it every time)."""
    older = make_org(session, name="Comune di Zeme")  # lower id, joined second
    newer = make_org(session, name="Comune di Albuzzano")
    user = make_user(session, "delegata@example.it", org=newer)
    service.add_membership(session, user, older)
    session.commit()
    assert older.id < newer.id
    session.expire(user)  # as a request finds it: memberships not loaded
    with _statements(session) as statements:
        found = service.first_organisation(session, user)
    assert found is not None and found.id == newer.id
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) <= 2  # the user's row, then one
    assert "membership" in statements[-1].lower() and "organisation" in statements[-1].lower()
    # The property agrees, now that the relationship is ordered by membership.
    session.expire(user)
    assert [o.id for o in user.organisations] == [newer.id, older.id]
    # Loaded already: no query at all.
    with _statements(session) as statements:
        assert service.first_organisation(session, user).id == newer.id
    assert statements == []


def test_first_organisation_of_a_person_without_memberships_is_none(session):
    user = make_user(session, "senza.ente@example.it")
    session.expire(user)
    assert service.first_organisation(session, user) is None
