"""Admission or exclusion by the RUP: motivation required; admission links the organisation, makes
it member of the tavoli it chose and invites its delegate by link — all or nothing; notifications."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.helpers import csrf_token_from, last_mail, link_in_mail, mail_files, mail_text
from tests.procedures.support import DEADLINE, T0, advance, apply, build, fill
from tests.world import make_person
from workspace import mail
from workspace.accounts.models import AccessToken, Membership, Organisation, User
from workspace.db import db
from workspace.problems import Problem
from workspace.procedures import admissions
from workspace.tavoli.models import TavoloMember, TavoloRole

NOW = DEADLINE + timedelta(days=1)


@pytest.fixture
def examining(session, setup):
    fill(session, setup)
    advance(session, setup, "candidature")
    setup.application = apply(session, setup, tavoli=[setup.tavolo.id, setup.tavolo2.id])
    advance(session, setup, "ammissioni")
    return setup


def _counts(session) -> dict[str, int]:
    def count(model):
        return session.scalar(select(func.count()).select_from(model))

    return {"organisations": count(Organisation), "members": count(TavoloMember), "tokens": count(AccessToken),
            "roles": count(TavoloRole), "users": count(User)}


@pytest.mark.parametrize("motivation", ["", "   ", None])
def test_motivation_is_mandatory(session, examining, motivation):
    s = examining
    before = _counts(session)
    for decision in ("admitted", "excluded"):
        with pytest.raises(Problem) as caught:
            admissions.decide(session, s.rup, s.application, decision, motivation, now=NOW)
        assert caught.value.errors == {
            "motivation": "La motivazione è obbligatoria, sia per ammettere sia per escludere."}
        session.rollback()
    assert s.application.status == "submitted" and s.application.decided_at is None
    assert _counts(session) == before


def test_decisions_only_during_the_examination(session, setup):
    fill(session, setup)
    advance(session, setup, "candidature")
    application = apply(session, setup)
    with pytest.raises(Problem) as caught:
        admissions.decide(session, setup.rup, application, "admitted", "Requisiti posseduti.", now=T0 + timedelta(days=2))
    assert caught.value.status == 409 and "«Ammissioni»" in caught.value.message


def test_only_rup_or_admin_decide(session, examining):
    with pytest.raises(Problem) as caught:
        admissions.decide(session, examining.outsider, examining.application, "admitted", "Va bene.", now=NOW)
    assert caught.value.status == 403


def test_admission_links_organisation_members_invitation_and_notifications(app, session, examining):
    s = examining
    application = admissions.decide(session, s.rup, s.application, "admitted",
                                 "Requisiti posseduti; opera nell'area anziani.", now=NOW)
    session.commit()
    assert (application.status, application.decided_by_id, application.decided_at) == ("admitted", s.rup.id, NOW)
    assert application.decided_by_name == "Rita Responsabile"
    org = application.organisation
    assert (org.name, org.kind, org.codice_fiscale, org.runts_section, org.runts_repertorio, org.email) == (
        "Associazione Alfa ODV", "ets", application.codice_fiscale, "odv", "12345", "alfa@pec.example.org")
    members = session.scalars(select(TavoloMember.tavolo_id).where(TavoloMember.organisation_id == org.id)).all()
    assert sorted(members) == sorted([s.tavolo.id, s.tavolo2.id])
    token = session.scalar(select(AccessToken).where(AccessToken.email == "delia@alfa.example.org"))
    assert token.kind == "invitation" and token.organisation_id == org.id and token.created_by_id == s.rup.id

    invitation = last_mail(app, "delia@alfa.example.org")
    assert invitation["Subject"] == "Invito ai tavoli di co-programmazione: Associazione Alfa ODV"
    assert "/procedure/invito/" in mail_text(invitation)
    outcome = last_mail(app, "alfa@pec.example.org")
    assert outcome["Subject"] == f"Esito della candidatura: {s.procedure.title}"
    text = mail_text(outcome)
    assert "AMMESSA" in text and "Requisiti posseduti; opera nell'area anziani." in text
    assert "Tavolo anziani e fragilità" in text

    with pytest.raises(Problem) as caught:
        admissions.decide(session, s.rup, application, "excluded", "Ripensamento.", now=NOW)
    assert caught.value.status == 409 and "è già stata decisa" in caught.value.message


def test_existing_organisation_is_linked_not_duplicated(session, examining):
    s = examining
    existing = Organisation(name="Alfa (già registrata)", kind="ets", codice_fiscale=s.application.codice_fiscale,
                            runts_section="odv", runts_repertorio="12345")
    session.add(existing)
    session.commit()
    admissions.decide(session, s.rup, s.application, "admitted", "Requisiti posseduti.", now=NOW)
    session.commit()
    assert s.application.organisation_id == existing.id
    assert session.scalar(select(func.count()).select_from(Organisation)) == 1


def test_existing_delegate_lands_in_the_tavoli_at_once(app, session, examining):
    s = examining
    org = Organisation(name="Alfa", kind="ets", codice_fiscale=s.application.codice_fiscale, runts_section="odv",
                       runts_repertorio="12345")
    session.add(org)
    session.flush()
    delia = make_person(session, "Delia Delegata", "delia@alfa.example.org", org)
    session.commit()
    admissions.decide(session, s.rup, s.application, "admitted", "Requisiti posseduti.", now=NOW)
    session.commit()
    roles = session.scalars(select(TavoloRole).where(TavoloRole.user_id == delia.id)).all()
    assert sorted((r.tavolo_id, r.role, r.organisation_id) for r in roles) == sorted(
        [(s.tavolo.id, "delegate", org.id), (s.tavolo2.id, "delegate", org.id)])
    assert session.scalar(select(func.count()).select_from(AccessToken)) == 0
    assert last_mail(app, "delia@alfa.example.org")["Subject"].startswith("Partecipazione ai tavoli")


def test_transitional_ets_becomes_an_organisation_without_repertorio(session, setup):
    fill(session, setup)
    advance(session, setup, "candidature")
    application = apply(session, setup, registration="onlus", runts_section="", runts_repertorio="",
                        transitional_details="ONLUS iscritta all'Anagrafe dal 2010")
    advance(session, setup, "ammissioni")
    admissions.decide(session, setup.rup, application, "admitted", "Regime transitorio dichiarato.", now=NOW)
    session.commit()
    assert application.organisation.kind == "ets" and application.organisation.runts_repertorio is None


def test_exclusion_is_notified_with_its_motivation(app, session, examining):
    s = examining
    before = _counts(session)
    admissions.decide(session, s.rup, s.application, "excluded", "Non opera nel territorio dell'Ambito.", now=NOW)
    session.commit()
    assert s.application.status == "excluded" and s.application.organisation_id is None
    assert _counts(session) == before
    text = mail_text(last_mail(app, "alfa@pec.example.org"))
    assert "ESCLUSA" in text and "Non opera nel territorio dell'Ambito." in text


def test_all_or_nothing_when_the_mail_fails(app, session, examining, monkeypatch):
    s = examining
    before, sent = _counts(session), len(mail_files(app))

    def broken(*_args, **_kwargs):
        raise mail.MailError("Non è stato possibile inviare l'e-mail: il server di posta non risponde.")

    monkeypatch.setattr(mail, "send_mail", broken)
    with pytest.raises(Problem) as caught:
        admissions.decide(session, s.rup, s.application, "admitted", "Requisiti posseduti.", now=NOW)
    assert caught.value.status == 503
    session.rollback()
    assert s.application.status == "submitted" and s.application.organisation_id is None
    assert _counts(session) == before
    assert len(mail_files(app)) == sent


def test_delegate_follows_the_link_and_lands_in_the_tavolo(app):
    from workspace.db import db as database

    with app.app_context():
        session = database.session
        s = build(session)
        fill(session, s)
        advance(session, s, "candidature")
        application = apply(session, s, tavoli=[s.tavolo.id])
        advance(session, s, "ammissioni")
        admissions.decide(session, s.rup, application, "admitted", "Requisiti posseduti.", now=NOW)
        session.commit()
        tavolo_id, org_id = s.tavolo.id, application.organisation_id
    path = link_in_mail(last_mail(app, "delia@alfa.example.org"), app.config["BASE_URL"])
    client = app.test_client()
    page = client.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Associazione Alfa ODV" in html and "Tavolo anziani e fragilità" in html
    response = client.post(path, data={"csrf_token": csrf_token_from(html), "name": "Delia Delegata", "join": "1"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/tavoli/{tavolo_id}")
    assert client.get(f"/tavoli/{tavolo_id}").status_code == 200
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "delia@alfa.example.org"))
        role = db.session.scalar(select(TavoloRole).where(TavoloRole.user_id == user.id))
        assert (role.tavolo_id, role.role, role.organisation_id) == (tavolo_id, "delegate", org_id)
        assert db.session.scalar(select(Membership).where(Membership.user_id == user.id)).organisation_id == org_id
    again = app.test_client().get(path)
    assert again.status_code == 410
    assert "già stato usato" in again.get_data(as_text=True)
