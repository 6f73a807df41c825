"""Every step of a procedure is announced to the audit trail (``signals.action_recorded``) in the
transaction that makes it: the draft, each lifecycle step, what enters the public record, each
application received, each decision, each accepted invitation. A refused step announces nothing."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.helpers import last_mail, link_in_mail, mail_files
from tests.procedures.support import DEADLINE, T0, advance, apply, fill
from workspace import signals
from workspace.problems import Problem
from workspace.procedures import admissions, applications, lifecycle, publication
from workspace.procedures.models import PublicationItem

NOW = DEADLINE + timedelta(days=1)


@pytest.fixture
def heard():
    """What the audit trail would hear: (action, object_type, object_id, actor id, details)."""
    actions: list[tuple] = []

    def receiver(_sender, **kw):
        actions.append((kw["action"], kw["object_type"], kw["object_id"], kw["actor"].id if kw["actor"] else None,
                        kw["details"]))

    with signals.action_recorded.connected_to(receiver):
        yield actions


def _names(actions) -> list[str]:
    return [a[0] for a in actions]


def test_the_draft_and_every_step_are_announced(session, setup, heard):
    s = setup
    fill(session, s)
    assert _names(heard) == ["procedure.act_updated", "procedure.rup_set", "procedure.avviso_updated"]
    assert heard[1][1:] == ("procedure", s.procedure.id, s.admin.id, {"rup_id": s.rup.id})
    heard.clear()
    advance(session, s, "avviso_pubblicato")
    assert _names(heard) == ["procedure.status_changed"] + ["publication.created"] * 3
    assert heard[0][1:] == ("procedure", s.procedure.id, s.rup.id, {"from": "bozza", "to": "avviso_pubblicato"})
    items = {(i.kind, i.ref_id): i.id for i in session.scalars(select(PublicationItem))}
    assert [(a[1], a[2], a[4]["kind"], a[4]["ref_id"]) for a in heard[1:]] == [
        ("publication_item", items[("avviso", 0)], "avviso", 0),
        ("publication_item", items[("tavolo", s.tavolo.id)], "tavolo", s.tavolo.id),
        ("publication_item", items[("tavolo", s.tavolo2.id)], "tavolo", s.tavolo2.id)]
    assert heard[1][4]["published_from"] == T0.isoformat()


def test_a_refused_step_announces_nothing(session, setup, heard):
    s = setup
    with pytest.raises(Problem):
        lifecycle.transition(session, s.admin, s.procedure, "avviso_pubblicato", now=T0)
    with pytest.raises(Problem):
        lifecycle.update_act(session, s.outsider, s.procedure, number="1", act_date=T0.date(), now=T0)
    session.rollback()
    assert heard == []


def test_applications_and_decisions_are_announced(app, session, setup, heard):
    s = setup
    fill(session, s)
    advance(session, s, "candidature")
    heard.clear()
    sent = len(mail_files(app))
    application, created = applications.submit_application(
        session, s.procedure, _data(s), now=T0 + timedelta(days=1))
    assert created and len(mail_files(app)) == sent  # the receipt waits for the commit
    session.commit()
    assert last_mail(app, "alfa@pec.example.org")["Subject"].startswith("Candidatura ricevuta")
    assert heard == [("application.submitted", "application", application.id, None,
                      {"procedure_id": s.procedure.id, "revision": 1, "created": True})]
    applications.set_protocol(session, s.rup, application, "PG 1/2025")
    advance(session, s, "ammissioni")
    heard.clear()
    admissions.decide(session, s.rup, application, "admitted", "Requisiti posseduti.", now=NOW)
    session.commit()
    # The organisation is registered (by the accounts area) as the application is admitted.
    assert heard == [("organisation.created", "organisation", application.organisation_id, s.rup.id,
                      {"kind": "ets", "ambito_code": None}),
                     ("application.admitted", "application", application.id, s.rup.id,
                      {"procedure_id": s.procedure.id, "organisation_id": application.organisation_id})]
    heard.clear()
    advance(session, s, "tavoli_in_corso")
    assert _names(heard) == ["procedure.status_changed", "publication.created"]
    assert heard[1][4]["kind"] == "ammissione" and heard[1][4]["ref_id"] == application.id

    heard.clear()
    raw = link_in_mail(last_mail(app, "delia@alfa.example.org"), app.config["BASE_URL"]).rsplit("/", 1)[1]
    user, _application = admissions.accept_invitation(session, raw, name="Delia Delegata")
    session.commit()
    # The accounts area announces the account, the membership and the login of the same step.
    assert [a for a in heard if a[0].startswith("application.")] == [
        ("application.invitation_accepted", "application", application.id, user.id,
         {"procedure_id": s.procedure.id, "organisation_id": application.organisation_id})]
    assert "invitation.accepted" in _names(heard) and "login.succeeded" in _names(heard)


def test_a_received_application_rolled_back_sends_no_receipt(app, session, setup):
    s = setup
    fill(session, s)
    advance(session, s, "candidature")
    sent = len(mail_files(app))
    applications.submit_application(session, s.procedure, _data(s), now=T0 + timedelta(days=1))
    session.rollback()
    session.commit()
    assert len(mail_files(app)) == sent


def test_exclusion_and_publication_windows_are_announced(session, setup, heard):
    s = setup
    fill(session, s)
    advance(session, s, "candidature")
    application = apply(session, s)
    advance(session, s, "ammissioni")
    heard.clear()
    with pytest.raises(Problem):
        admissions.decide(session, s.rup, application, "excluded", "  ", now=NOW)
    session.rollback()
    assert heard == []
    admissions.decide(session, s.rup, application, "excluded", "Fuori Ambito.", now=NOW)
    session.commit()
    assert heard == [("application.excluded", "application", application.id, s.rup.id,
                      {"procedure_id": s.procedure.id, "organisation_id": None})]
    heard.clear()
    item = session.scalar(select(PublicationItem).where(PublicationItem.kind == "avviso"))
    end = T0 + timedelta(days=90)
    publication.set_publication_window(session, s.rup, item, T0, end)
    session.commit()
    assert heard == [("publication.window_changed", "publication_item", item.id, s.rup.id, {
        "procedure_id": s.procedure.id, "kind": "avviso", "ref_id": 0, "published_from": T0.isoformat(),
        "published_until": end.isoformat()})]


def _data(s):
    from tests.procedures.support import application_data

    return application_data(s)
