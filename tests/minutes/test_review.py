"""The review flow: the draft sent to the attendees (notice on the tavolo's page, live event, one
e-mail each once committed), remarks filed by attendees within the window, decisions with reasons,
approval by whoever the procedure's settings name, the remarks kept in the approved verbale."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.helpers import csrf_token_from, last_mail, mail_files, mail_text, read_mail, refused
from tests.minutes.support import approved, get, scripted_seduta, to_review, write
from tests.realtime.support import events, join
from tests.world import login_client
from workspace import signals
from workspace.minutes import content as contents
from workspace.minutes import review, service
from workspace.minutes.models import VerbaleRemark
from workspace.record import TavoloEvent


@pytest.fixture
def actions():
    """Every ``action_recorded`` sent during the test: (action, object_type, object_id, details)."""
    seen: list[tuple] = []

    def receiver(_session, *, actor, action, object_type, object_id, details, **_):
        seen.append((action, object_type, object_id, details, actor.id if actor else None))

    signals.action_recorded.connect(receiver)
    yield seen
    signals.action_recorded.disconnect(receiver)


def test_sending_for_review_notifies_the_attendees(app, session, actions):
    # With an Ambito configured the mail's layout reads its name from the database: the messages
    # must be rendered inside the transaction, only sent after the commit.
    app.config["AMBITO_CODE"] = "50008"
    s = scripted_seduta(session)
    before = len(mail_files(app))
    verbale = review.send_for_review(session, s.facilitator, get(session, s), 10)
    assert len(mail_files(app)) == before  # nothing goes out before the commit
    session.commit()
    assert verbale.status == "in_revisione" and verbale.review_days == 10
    assert verbale.review_closes_at - verbale.review_opened_at == timedelta(days=10)
    event = session.query(TavoloEvent).filter_by(tavolo_id=s.tavolo.id, kind="verbale.review_opened").one()
    assert event.payload["verbale_id"] == verbale.id and event.payload["seduta_number"] == 1
    assert event.actor_id == s.facilitator.id
    mine = [a for a in actions if a[0].startswith("verbale.")]
    assert [a[0] for a in mine] == ["verbale.generated", "verbale.sent_for_review"]
    assert mine[1][1:3] == ("verbale", verbale.id) and mine[1][3]["days"] == 10 and mine[1][4] == s.facilitator.id
    # One e-mail to each attendee: Delia, Dario and Olga (not Carlo, who was not there).
    new = [read_mail(p) for p in mail_files(app)[before:]]
    assert sorted(m["To"] for m in new) == sorted([s.delegate.email, s.delegate2.email, s.observer.email])
    body = mail_text(last_mail(app, s.delegate.email))
    assert "seduta n. 1" in body and f"/tavoli/{s.tavolo.id}/verbali/{verbale.id}" in body
    assert "Tavolo anziani e fragilità" in last_mail(app, s.delegate.email)["Subject"]


def test_the_review_is_a_live_event_of_the_tavolo(app, scripted, connect, in_app):
    s = scripted
    client = connect(s.delegate)
    join(client, s.tavolo.id)
    events(client)
    with in_app() as db:
        to_review(db, s)
    received = [e for e in events(client) if e["kind"] == "verbale.review_opened"]
    assert len(received) == 1 and received[0]["payload"]["verbale_id"] == s.verbale_id


def test_the_tavolo_page_shows_the_review(app, scripted, in_app):
    s = scripted
    client, _ = login_client(app, s.delegate)
    page = client.get(f"/tavoli/{s.tavolo.id}").get_data(as_text=True)
    assert "Verbali delle sedute" in page and "in revisione" not in page
    with in_app() as db:
        to_review(db, s)
    page = client.get(f"/tavoli/{s.tavolo.id}").get_data(as_text=True)
    assert "è in revisione fino al" in page and "presenta le tue osservazioni" in page
    colleague, _ = login_client(app, s.colleague)  # not an attendee: may read, not remark
    other = colleague.get(f"/tavoli/{s.tavolo.id}").get_data(as_text=True)
    assert "è in revisione fino al" in other and "presenta le tue osservazioni" not in other


def test_bad_review_requests_are_refused(session):
    s = scripted_seduta(session)
    verbale = get(session, s)
    refused(session, lambda: review.send_for_review(session, s.delegate, verbale), "forbidden", 403)
    refused(session, lambda: review.send_for_review(session, s.facilitator, verbale, 0), "invalid", 422, "da 1 a 60")
    refused(session, lambda: review.send_for_review(session, s.facilitator, verbale, 61), "invalid", 422)
    to_review(session, s)
    refused(session, lambda: review.send_for_review(session, s.facilitator, get(session, s)), "conflict", 409,
            "già stato inviato")


def test_remarks_by_attendees_within_the_window(session, actions):
    s = scripted_seduta(session)
    key = f"punto-{s.seduta.agenda[1].id}"
    refused(session, lambda: review.file_remark(session, s.delegate, get(session, s), None, "Troppo presto."),
            "conflict", 409, "inviato ai partecipanti")
    verbale = to_review(session, s, days=3)
    remark = review.file_remark(session, s.delegate, verbale, key, "Manca la *proposta* del Comune.")
    session.commit()
    assert (remark.section, remark.author_name, remark.organisation_name, remark.role, remark.status) == (
        key, "Delia Delegata", "Associazione Alfa (prova)", "delegate", "aperta")
    assert remark.against_version == verbale.version
    whole = review.file_remark(session, s.observer, verbale, "", "Osservazione generale.")
    session.commit()
    assert whole.section is None and whole.role == "observer"
    assert [a[0] for a in actions][-2:] == ["verbale.remark_filed", "verbale.remark_filed"]

    refused(session, lambda: review.file_remark(session, s.colleague, verbale, None, "Non c'ero."), "forbidden",
            403, "partecipato alla seduta")
    refused(session, lambda: review.file_remark(session, s.outsider, verbale, None, "Estraneo."), "forbidden", 403)
    refused(session, lambda: review.file_remark(session, s.delegate, verbale, None, "   "), "invalid", 422,
            "obbligatorio")
    refused(session, lambda: review.file_remark(session, s.delegate, verbale, "punto-0", "x"), "invalid", 422,
            "Sezione")
    later = verbale.review_closes_at + timedelta(seconds=1)
    refused(session, lambda: review.file_remark(session, s.delegate, verbale, None, "Tardi.", now=later),
            "conflict", 409, "si è chiuso")


def test_decisions_need_a_reason_and_a_facilitator(session, actions):
    s = scripted_seduta(session)
    verbale = to_review(session, s)
    remark = review.file_remark(session, s.delegate, verbale, None, "Osservazione.")
    session.commit()
    refused(session, lambda: review.decide_remark(session, s.delegate, verbale, remark, True, "Sì."), "forbidden", 403)
    refused(session, lambda: review.decide_remark(session, s.facilitator, verbale, remark, True, ""), "invalid", 422,
            "Motivazione")
    refused(session, lambda: review.decide_remark(session, s.facilitator, verbale, remark, "forse", "x"), "invalid",
            422)
    review.decide_remark(session, s.facilitator, verbale, remark, False, "Fuori tema.")
    session.commit()
    assert (remark.status, remark.reason, remark.decided_by_name) == ("respinta", "Fuori tema.", "Fabio Facilitatore")
    assert actions[-1][0] == "verbale.remark_rejected"
    refused(session, lambda: review.decide_remark(session, s.facilitator, verbale, remark, True, "Ci ripenso."),
            "conflict", 409, "già stata esaminata")


def test_approval_waits_for_every_remark_and_keeps_them_in_the_annex(session, actions):
    s = scripted_seduta(session)
    write(session, s, "apertura", "Si apre la seduta.")
    verbale = to_review(session, s)
    kept = review.file_remark(session, s.delegate, verbale, "apertura", "Aggiungere l'ora.")
    dropped = review.file_remark(session, s.delegate2, verbale, None, "Allegare le slide.")
    session.commit()
    review.decide_remark(session, s.facilitator, verbale, kept, True, "Aggiunta.")
    session.commit()
    refused(session, lambda: service.approve(session, s.facilitator, verbale), "conflict", 409,
            "Restano 1 osservazioni")
    review.decide_remark(session, s.facilitator, verbale, dropped, False, "Materiale di terzi.")
    write(session, s, "apertura", "Si apre la seduta alle 15:00.")
    refused(session, lambda: service.approve(session, s.delegate, get(session, s)), "forbidden", 403,
            "facilitatore")
    verbale = service.approve(session, s.facilitator, get(session, s))
    session.commit()

    assert verbale.status == "approvato" and verbale.approver_role == "facilitator"
    content = verbale.content
    assert verbale.content_sha256 == contents.sha256(content) and len(verbale.content_sha256) == 64
    assert content["narrative"]["apertura"] == "Si apre la seduta alle 15:00."
    assert [(r["person"], r["status"], r["reason"], r["section"]) for r in content["review"]["remarks"]] == [
        ("Delia Delegata", "accolta", "Aggiunta.", "apertura"),
        ("Dario Delegato", "respinta", "Materiale di terzi.", None)]
    assert content["approval"]["person"] == "Fabio Facilitatore" and content["approval"]["role"] == "facilitator"
    assert verbale.pdf.startswith(b"%PDF-") and verbale.pdf_sha256 == contents.file_sha256(verbale.pdf)
    assert verbale.public_pdf.startswith(b"%PDF-") and verbale.public_pdf != verbale.pdf
    assert verbale.published_until.year - verbale.published_from.year == 5
    event = session.query(TavoloEvent).filter_by(tavolo_id=s.tavolo.id, kind="verbale.approved").one()
    assert event.payload["sha256"] == verbale.content_sha256
    assert actions[-1][0] == "verbale.approved" and actions[-1][3]["sha256"] == verbale.content_sha256


def test_approval_by_the_rup_when_the_procedure_says_so(session):
    s = scripted_seduta(session)
    procedure = s.tavolo.procedure
    service.update_settings(session, s.admin, procedure, approver="rup", review_days=7, naming="full_names",
                            publication_years=3)
    session.commit()
    verbale = to_review(session, s)
    refused(session, lambda: service.approve(session, s.facilitator, verbale), "forbidden", 403, "RUP")
    verbale = service.approve(session, s.admin, verbale)  # the procedure's RUP
    session.commit()
    assert verbale.approver_role == "rup" and verbale.naming == "full_names"
    assert verbale.content["approval"] == {"person": "Amministratrice", "organisation": "Ufficio di Piano di prova",
                                           "role": "rup", "at": verbale.approved_at.isoformat()}
    assert verbale.published_until.year - verbale.published_from.year == 3


def test_the_whole_flow_over_http(app, scripted, in_app):
    s = scripted
    base = f"/tavoli/{s.tavolo.id}/verbali/{s.verbale_id}"
    fabio, _ = login_client(app, s.facilitator)
    page = fabio.get(base).get_data(as_text=True)
    sent = fabio.post(f"{base}/revisione", data={"csrf_token": csrf_token_from(page), "days": "5"})
    assert sent.status_code == 302
    delia, _ = login_client(app, s.delegate)
    page = delia.get(base).get_data(as_text=True)
    assert "Presenta un'osservazione" in page
    filed = delia.post(f"{base}/osservazioni", data={"csrf_token": csrf_token_from(page), "section": "",
                                                     "text": "Manca l'orario di chiusura."})
    assert filed.status_code == 302
    empty = delia.post(f"{base}/osservazioni", data={"csrf_token": csrf_token_from(page), "section": "",
                                                     "text": ""})
    assert empty.status_code == 422
    with in_app() as db:
        [remark] = db.query(VerbaleRemark).filter_by(verbale_id=s.verbale_id).all()
        remark_id = remark.id
    page = fabio.get(base).get_data(as_text=True)
    assert "Manca l'orario di chiusura." in page
    early = fabio.post(f"{base}/approva", data={"csrf_token": csrf_token_from(page)})
    assert early.status_code == 409 and "Restano 1 osservazioni" in early.get_data(as_text=True)
    prefix = f"esito-{remark_id}"
    no_reason = fabio.post(f"{base}/osservazioni/{remark_id}/esito",
                           data={"csrf_token": csrf_token_from(page), f"{prefix}-decision": "accolta",
                                 f"{prefix}-reason": ""})
    assert no_reason.status_code == 422
    decided = fabio.post(f"{base}/osservazioni/{remark_id}/esito",
                         data={"csrf_token": csrf_token_from(page), f"{prefix}-decision": "accolta",
                               f"{prefix}-reason": "Aggiunto l'orario."})
    assert decided.status_code == 302
    approved_response = fabio.post(f"{base}/approva", data={"csrf_token": csrf_token_from(page)})
    assert approved_response.status_code == 302
    page = fabio.get(base).get_data(as_text=True)
    with in_app() as db:
        verbale = get(db, s)
        assert verbale.status == "approvato"
        assert verbale.content_sha256 in page
    pdf = fabio.get(f"{base}/documento.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    with in_app() as db:
        assert pdf.data == get(db, s).pdf  # the stored PDF/A, as approved


def test_remark_and_decision_pages_refuse_who_may_not(app, scripted, in_app):
    s = scripted
    base = f"/tavoli/{s.tavolo.id}/verbali/{s.verbale_id}"
    with in_app() as db:
        to_review(db, s)
    carlo, _ = login_client(app, s.colleague)
    page = carlo.get(base).get_data(as_text=True)
    assert "Presenta un'osservazione" not in page
    response = carlo.post(f"{base}/osservazioni", data={"csrf_token": csrf_token_from(page), "section": "",
                                                        "text": "Non c'ero."})
    assert response.status_code == 403 and "partecipato alla seduta" in response.get_data(as_text=True)
    with in_app() as db:
        assert db.query(VerbaleRemark).count() == 0
    delia, _ = login_client(app, s.delegate)
    page = delia.get(base).get_data(as_text=True)
    assert delia.post(f"{base}/approva", data={"csrf_token": csrf_token_from(page)}).status_code == 403
    with in_app() as db:
        assert get(db, s).status == "in_revisione"


def test_approved_helper_shape(session):
    """The helper other suites use: one accepted remark, approved by the facilitator."""
    s = scripted_seduta(session)
    verbale = approved(session, s)
    assert [r.status for r in verbale.remarks] == ["accolta"] and verbale.approved


def test_a_rup_outside_the_tavolo_reads_and_approves(app, scripted, in_app):
    """With approval by the RUP, the procedure's RUP — not an administrator, not at the tavolo —
    opens the verbale and approves it; they may not write it, nor file remarks."""
    from tests.world import make_person
    from workspace.procedures import lifecycle
    from workspace.procedures.models import Procedure

    s = scripted
    with in_app() as db:
        procedure = db.get(Procedure, s.tavolo.procedure_id)
        rita = make_person(db, "Rita Responsabile", "rup@prova.example.org")
        lifecycle.set_rup(db, db.merge(s.admin), procedure, rita)
        service.update_settings(db, db.merge(s.admin), procedure, approver="rup", review_days=7,
                                naming="organisation_role", publication_years=5)
        db.commit()
        to_review(db, s)
    base = f"/tavoli/{s.tavolo.id}/verbali/{s.verbale_id}"
    client, _ = login_client(app, rita)
    page = client.get(base)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Approva il verbale" in html and "Presenta un'osservazione" not in html and "Scrivi<span" not in html
    assert client.get(f"{base}/sezioni/apertura").status_code == 403
    assert client.get(f"/tavoli/{s.tavolo.id}").status_code == 403  # the tavolo itself stays closed to her
    assert client.post(f"{base}/approva", data={"csrf_token": csrf_token_from(html)}).status_code == 302
    with in_app() as db:
        verbale = get(db, s)
        assert verbale.approved and verbale.content["approval"]["person"] == "Rita Responsabile"
        assert verbale.approver_role == "rup"
