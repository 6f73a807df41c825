"""The Pavia demo's co-programming procedure: four tavoli, a closed and a convened seduta on the
Anziani tavolo, contributions written through the services (so every tavolo has a gapless event
record), official key points only, and loading once."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from workspace.accounts.models import Organisation, User
from workspace.db import Base, utcnow
from workspace.demo.loader import DOMAIN, PROCEDURE_TITLE, demo_logins, load_demo
from workspace.needs.models import Annotation, AnnotationSupport, Bisogno
from workspace.procedures.models import Procedure
from workspace.record import RecordStream, TavoloEvent
from workspace.tavoli import permissions
from workspace.tavoli import service as tavoli_service
from workspace.tavoli.models import Seduta, Tavolo, TavoloRole


@pytest.fixture
def demo(session):
    assert load_demo(session, only_if_empty=True) is True
    session.commit()
    return session


def _first(session) -> Procedure:
    """The demo's procedure in progress (the second one is concluded: tests/sintesi/test_demo.py)."""
    return session.scalar(select(Procedure).where(Procedure.title == PROCEDURE_TITLE))


def _tavoli(session) -> dict[str, Tavolo]:
    tavoli = session.scalars(select(Tavolo).where(Tavolo.procedure_id == _first(session).id)
                             .order_by(Tavolo.id)).all()
    return {t.macroaree[0].code: t for t in tavoli}


def _user(session, local: str) -> User:
    return session.scalar(select(User).where(User.email == f"{local}@{DOMAIN}"))


def test_procedure_with_four_tavoli(demo):
    session = demo
    procedure = _first(session)
    assert procedure is not None
    assert procedure.published is True
    assert procedure.status == "tavoli_in_corso"
    assert procedure.rup.email == f"rup@{DOMAIN}"
    tavoli = session.scalars(select(Tavolo).where(Tavolo.procedure_id == procedure.id)).all()
    assert sorted(m.code for t in tavoli for m in t.macroaree) == ["A", "E", "G", "J"]
    assert all(len(t.macroaree) == 1 and t.procedure_id == procedure.id for t in tavoli)
    for code, tavolo in _tavoli(session).items():
        assert tavolo.title.startswith(f"Tavolo {code} — ")
        assert tavolo.macroaree[0].name in tavolo.title
        # Contributions are open now and for the next weeks.
        assert tavolo.contribution_opens_at < utcnow()
        assert tavolo.contribution_closes_at > utcnow() + timedelta(days=14)
        tavoli_service.check_contribution_window(session, tavolo)


def test_roles_and_members(demo):
    session = demo
    tavoli = _tavoli(session)
    facilitator, observer = _user(session, "facilitatore"), _user(session, "osservatore")
    for tavolo in tavoli.values():
        assert permissions.role_name(session, facilitator, tavolo.id) == "facilitator"
        assert permissions.role_name(session, observer, tavolo.id) == "observer"
        kinds = {m.organisation.kind for m in tavolo.members}
        assert {"ets", "comune", "asst"} <= kinds
        assert "sindacato" not in kinds  # the union observes, it is not a member
        for role in tavolo.roles:
            if role.role == "delegate":
                # A delegate speaks for their own organisation, which is a member of the tavolo.
                assert role.organisation in role.user.organisations
                assert role.organisation_id in {m.organisation_id for m in tavolo.members}
    ets_users = session.scalars(
        select(User).join(User.memberships).join(Organisation).where(Organisation.kind == "ets")).all()
    assert len(ets_users) == 7
    for person in ets_users:
        roles = session.scalars(select(TavoloRole).join(Tavolo).where(
            TavoloRole.user_id == person.id, Tavolo.procedure_id == _first(session).id)).all()
        assert 2 <= len(roles) <= 3 and {r.role for r in roles} == {"delegate"}
    for local in ("comune", "asst", "ats"):
        roles = session.scalars(select(TavoloRole).where(TavoloRole.user_id == _user(session, local).id)).all()
        assert roles and {r.role for r in roles} == {"delegate"}
    logins = demo_logins()
    assert all(isinstance(email, str) and isinstance(role, str) for email, role in logins)
    assert any("A, E, G, J" in role for email, role in logins if email.startswith("facilitatore@"))


def test_anziani_tavolo_has_a_closed_and_a_convened_seduta(demo):
    session = demo
    tavolo = _tavoli(session)["E"]
    first, second = session.scalars(select(Seduta).where(Seduta.tavolo_id == tavolo.id)
                                    .order_by(Seduta.number)).all()
    assert (first.number, first.status) == (1, "chiusa")
    assert first.started_at is not None and first.closed_at >= first.started_at
    assert len(first.agenda) >= 3
    register = tavoli_service.register(session, first)
    assert len(register) >= 5 and all(p.left_at is not None for p in register)

    assert (second.number, second.status) == (2, "convocata")
    assert 3 <= len(second.agenda) <= 4
    assert utcnow() + timedelta(days=1) < second.starts_at < utcnow() + timedelta(days=14)

    bisogni = session.scalars(select(Bisogno).where(Bisogno.tavolo_id == tavolo.id)).all()
    during = [b for b in bisogni if b.seduta_id == first.id]
    assert 4 <= len(during) <= 6 and len(bisogni) <= 6
    assert [b.status for b in bisogni].count("in_discussione") == 1
    assert {b.consolidation for b in bisogni} == {"consolidato", "nuovo"}
    assert any(c.name == "Comune di Pavia" for b in bisogni for c in b.comuni)
    for b in bisogni:
        assert "dato di esempio" in b.evidence_source
        assert b.evidence_figure and b.evidence_year and b.target_population and b.key_points

    annotations = session.scalars(select(Annotation).join(Bisogno).where(Bisogno.tavolo_id == tavolo.id)).all()
    assert 8 <= len(annotations) <= 12
    assert {a.kind for a in annotations} == {"dato", "esperienza", "risorsa", "criticita", "proposta"}
    replies = [a for a in annotations if a.parent_id is not None]
    assert replies and all(session.get(Annotation, a.parent_id).bisogno_id == a.bisogno_id for a in replies)
    supports = session.scalars(select(AnnotationSupport).join(Annotation).join(Bisogno)
                               .where(Bisogno.tavolo_id == tavolo.id)).all()
    assert supports
    for s in supports:
        # One support per organisation, never on its own annotation.
        assert s.organisation_id != s.annotation.organisation_id

    kinds = session.scalars(select(TavoloEvent.kind).where(TavoloEvent.tavolo_id == tavolo.id)).all()
    for kind in ("seduta.convened", "seduta.started", "seduta.closed", "bisogno.created",
                 "annotation.created", "annotation.supported", "bisogno.status", "presence.marked"):
        assert kind in kinds


def test_the_convened_seduta_can_be_started(demo):
    session = demo
    tavolo = _tavoli(session)["E"]
    second = session.scalar(select(Seduta).where(Seduta.tavolo_id == tavolo.id, Seduta.status == "convocata"))
    event = tavoli_service.start_seduta(session, _user(session, "facilitatore"), second)
    session.commit()
    assert event.kind == "seduta.started" and second.current_item_id == second.agenda[0].id


def test_other_tavoli_have_bisogni(demo):
    session = demo
    tavoli = _tavoli(session)
    for code in ("A", "G"):
        count = session.scalar(select(func.count()).select_from(Bisogno).where(Bisogno.tavolo_id == tavoli[code].id))
        assert 1 <= count <= 2


def test_event_records_are_gapless(demo):
    session = demo
    for tavolo in _tavoli(session).values():
        seqs = session.scalars(select(TavoloEvent.seq).where(TavoloEvent.tavolo_id == tavolo.id)
                               .order_by(TavoloEvent.seq)).all()
        assert seqs == list(range(1, len(seqs) + 1))
        last = session.scalar(select(RecordStream.last_seq).where(RecordStream.tavolo_id == tavolo.id))
        assert last == len(seqs)


def test_key_points_belong_to_the_bisogno_macroaree(demo):
    session = demo
    bisogni = session.scalars(select(Bisogno)).all()
    assert bisogni
    for b in bisogni:
        areas = {b.macroarea_code, *(m.code for m in b.transversal)}
        assert b.macroarea_code in {m.code for m in session.get(Tavolo, b.tavolo_id).macroaree}
        assert b.key_points and all(k.macroarea_code in areas for k in b.key_points)


def _counts(session) -> dict[str, int]:
    return {t.name: session.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}


def test_loading_twice_changes_nothing(demo):
    session = demo
    before = _counts(session)
    assert load_demo(session, only_if_empty=True) is False
    assert load_demo(session) is False
    session.commit()
    assert _counts(session) == before


def test_procedure_went_through_the_art55_steps(demo):
    """Act, avviso published in the past, a closed window, applications received and decided."""
    from workspace.demo.loader import ACT_NUMBER, EXCLUDED_REASON
    from workspace.procedures import lifecycle
    from workspace.procedures import permissions as procedure_permissions

    session = demo
    procedure = _first(session)
    now = utcnow()
    assert procedure.act_number == ACT_NUMBER and len(procedure.act_file_sha256) == 64
    assert procedure.avviso_published_at < procedure.application_deadline < now
    assert lifecycle.missing_for(procedure, "avviso_pubblicato") == []
    assert [(t.from_status, t.to_status) for t in procedure.transitions] == [
        ("bozza", "avviso_pubblicato"), ("avviso_pubblicato", "candidature"), ("candidature", "ammissioni"),
        ("ammissioni", "tavoli_in_corso")]
    assert all(t.at < now - timedelta(days=20) for t in procedure.transitions)
    applications = procedure.applications
    admitted = [a for a in applications if a.status == "admitted"]
    excluded = [a for a in applications if a.status == "excluded"]
    assert len(admitted) == 7 and len(excluded) == 1
    assert excluded[0].motivation == EXCLUDED_REASON and excluded[0].organisation_id is None
    assert all(procedure.avviso_published_at <= a.submitted_at < procedure.application_deadline
               for a in applications)
    assert all(a.protocol_number and a.decided_at and a.motivation for a in applications)
    assert any(not a.coi_none and a.coi_details for a in admitted)
    # Every admitted ETS is the organisation of a demo delegate, who sits at the tavoli it chose.
    for application in admitted:
        assert application.organisation.kind == "ets"
        for tavolo in application.tavoli:
            assert application.organisation_id in {m.organisation_id for m in tavolo.members}
            assert any(r.role == "delegate" and r.organisation_id == application.organisation_id
                       and r.user.email == application.delegate_email for r in tavolo.roles)
    kinds = {(i.kind, i.ref_id) for i in procedure_permissions.visible_items(procedure, now)}
    assert ("avviso", 0) in kinds
    assert {t.id for t in procedure.tavoli} <= {ref for kind, ref in kinds if kind == "tavolo"}
    assert {a.id for a in admitted} == {ref for kind, ref in kinds if kind == "ammissione"}


def test_public_pages_reachable_anonymously(app, client):
    from markupsafe import escape

    from workspace.db import db
    from workspace.demo.loader import EXCLUDED_ORG

    with app.app_context():
        load_demo(db.session)
        db.session.commit()
        procedure = _first(db.session)
        procedure_id = procedure.id
        tavolo_titles = [t.title for t in procedure.tavoli]
        admitted = [a.organisation_name for a in procedure.applications if a.status == "admitted"]
        bisogno = db.session.scalar(select(Bisogno).join(Tavolo).where(
            Tavolo.procedure_id == procedure_id, Bisogno.title.like("Sostegno ai caregiver%")))
        caregiver = bisogno.title
    page = client.get(f"/procedure/{procedure_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for text in (*tavolo_titles, *admitted):
        assert str(escape(text)) in html
    assert str(escape(EXCLUDED_ORG.name)) not in html  # an excluded applicant is not on the public record
    assert client.get(f"/procedure/{procedure_id}/avviso").status_code == 200
    assert client.get(f"/procedure/{procedure_id}/atto").status_code == 200
    verbali = client.get(f"/procedure/{procedure_id}/verbali")
    assert verbali.status_code == 200
    assert "seduta n. 1" in verbali.get_data(as_text=True).lower()
    priorities = client.get(f"/procedure/{procedure_id}/priorita")
    assert priorities.status_code == 200
    assert str(escape(caregiver)) in priorities.get_data(as_text=True)
    assert client.get(f"/procedure/{procedure_id}/esiti").status_code == 200
