"""Verbali in a real Chromium: the facilitator closes a seduta from the console, opens the draft,
writes a section, sends the draft for review; a delegate who attended files a remark from the
tavolo's notice; the facilitator accepts it, approves, and downloads the PDF/A, whose footer carries
the hash the page shows. Every new page passes axe-core (WCAG 2.1 A/AA): the tavolo's verbali, the
verbale at each stage, the section editor (also after a conflict), the history, the settings and the
public pages of a published procedure."""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible, connected
from tests.e2e.conftest import login as e2e_login
from tests.exports.readback import normalise, pdf_pages, pdf_xmp
from tests.minutes.support import publish
from tests.world import PASSWORD, make_person
from workspace.accounts.models import Organisation
from workspace.db import db, utcnow
from workspace.minutes import review, service
from workspace.needs import service as needs_service
from workspace.procedures import lifecycle as procedures
from workspace.tavoli import membership
from workspace.tavoli import service as tavoli_service


@dataclass
class MinutesTavolo:
    tavolo_id: int
    seduta_id: int
    procedure_id: int
    facilitator: str
    delegate: str
    admin: str
    admin_id: int


@pytest.fixture
def tavolo(live_app) -> MinutesTavolo:
    """A tavolo whose seduta is under way: Delia present in the room, a bisogno presented."""
    tag = uuid.uuid4().hex[:8]
    with live_app.app_context():
        session = db.session
        udp = Organisation(name=f"Ufficio di Piano {tag}", kind="ufficio_di_piano", ambito_code="50008")
        ets = Organisation(name=f"Associazione Alfa {tag}", kind="ets", ambito_code="50008")
        session.add_all([udp, ets])
        session.flush()
        facilitator = make_person(session, "Fabio Facilitatore", f"fac-{tag}@e2e.example.org", udp)
        delegate = make_person(session, "Delia Delegata", f"del-{tag}@e2e.example.org", ets)
        admin = make_person(session, "Anna Amministratrice", f"adm-{tag}@e2e.example.org", udp, admin=True)
        procedure = procedures.create_procedure(session, admin, "50008", f"Co-programmazione {tag}", rup=admin)
        now = utcnow()
        t = membership.create_tavolo(session, admin, procedure, f"Tavolo anziani {tag}", ["E"],
                                     opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=10))
        membership.set_role(session, admin, t, facilitator, "facilitator")
        membership.set_role(session, admin, t, delegate, "delegate", ets)
        seduta = tavoli_service.create_seduta(session, facilitator, t, now, "Sala Consiglio", "mista",
                                              ["Apertura", "Bisogni emersi", "Varie ed eventuali"])
        tavoli_service.start_seduta(session, facilitator, seduta)
        tavoli_service.mark_presence(session, facilitator, seduta, delegate.id, True, "presenza")
        needs_service.create_bisogno(session, delegate, t, {"title": "Trasporto sociale per gli anziani",
                                                            "macroarea": "E"})
        session.commit()
        return MinutesTavolo(t.id, seduta.id, procedure.id, facilitator.email, delegate.email, admin.email,
                             admin.id)


def login(page, email: str) -> None:
    e2e_login(page, email, PASSWORD)


def _people(seduta) -> dict:
    return {r.role: r.user for r in seduta.tavolo.roles}


def test_from_closing_to_the_approved_pdf(page, open_page, tavolo, live_app, tmp_path):
    facilitator = page
    login(facilitator, tavolo.facilitator)
    facilitator.goto(f"/tavoli/{tavolo.tavolo_id}/sedute/{tavolo.seduta_id}/console")
    connected(facilitator)
    facilitator.once("dialog", lambda dialog: dialog.accept())
    facilitator.get_by_role("button", name="Chiudi la seduta").click()
    expect(facilitator.locator("[data-status-badge]")).to_have_text("Chiusa")

    # The draft is there: from the tavolo's page to its verbali, to the verbale.
    facilitator.goto(f"/tavoli/{tavolo.tavolo_id}")
    facilitator.get_by_role("link", name="Tutti i verbali del tavolo").click()
    expect(facilitator.get_by_role("heading", name="Verbali delle sedute")).to_be_visible()
    assert_accessible(facilitator)
    facilitator.get_by_role("link", name=re.compile(r"^Verbale\W+seduta n. 1$")).click()
    expect(facilitator.get_by_role("heading", name="Verbale della seduta n. 1", exact=True)).to_be_visible()
    expect(facilitator.locator(".mn-preview")).to_contain_text("Trasporto sociale per gli anziani")
    expect(facilitator.locator(".mn-preview")).to_contain_text("Delia Delegata")
    assert_accessible(facilitator)
    verbale_url = facilitator.url

    # Writing a section.
    facilitator.get_by_role("link", name=re.compile(r"^Scrivi\W+Apertura della seduta$")).click()
    assert_accessible(facilitator)
    facilitator.get_by_label("Testo della sezione (Markdown)").fill("La seduta si apre con i **saluti**.")
    facilitator.get_by_role("button", name="Salva la sezione").click()
    expect(facilitator.get_by_role("status")).to_contain_text("Sezione salvata.")
    expect(facilitator.locator("#sezione-apertura strong")).to_have_text("saluti")

    # Sending the draft for review.
    expect(facilitator.get_by_label("Giorni per le osservazioni")).to_have_value("7")
    facilitator.get_by_role("button", name="Invia la bozza ai partecipanti").click()
    expect(facilitator.get_by_role("status")).to_contain_text("Bozza inviata ai partecipanti")
    expect(facilitator.locator(".mn-status")).to_have_text("In revisione")

    # The delegate reads the notice on the tavolo's page and files a remark.
    delegate = open_page()
    login(delegate, tavolo.delegate)
    delegate.goto(f"/tavoli/{tavolo.tavolo_id}")
    expect(delegate.locator(".mn-notice")).to_contain_text("è in revisione fino al")
    assert_accessible(delegate)
    delegate.get_by_role("link", name=re.compile("Leggi la bozza e presenta le tue osservazioni")).click()
    delegate.get_by_label("Parte del verbale").select_option(label="Apertura della seduta")
    delegate.get_by_label("La tua osservazione").fill("Indicare anche l'ora di inizio.")
    delegate.get_by_role("button", name="Presenta l'osservazione").click()
    expect(delegate.get_by_role("status")).to_contain_text("Osservazione presentata")
    expect(delegate.locator("#osservazioni")).to_be_visible()
    assert_accessible(delegate)

    # The facilitator accepts it (with its reason), then approves.
    facilitator.goto(verbale_url)
    remark = facilitator.locator(".mn-remark").first
    expect(remark).to_contain_text("Indicare anche l'ora di inizio.")
    remark.get_by_label("Esito").select_option("accolta")
    remark.get_by_label("Motivazione").fill("Aggiunta l'ora di inizio.")
    remark.get_by_role("button", name=re.compile("Registra l'esito")).click()
    expect(facilitator.get_by_role("status")).to_contain_text("Osservazione accolta.")
    facilitator.get_by_role("button", name="Approva il verbale").click()
    expect(facilitator.get_by_role("status")).to_contain_text("Verbale approvato")
    expect(facilitator.locator(".mn-status")).to_have_text("Approvato")
    digest = facilitator.locator("dd .mn-hash").first.inner_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert_accessible(facilitator)

    # The PDF/A, as stored at approval, with the hash in its footer.
    with facilitator.expect_download() as download:
        facilitator.get_by_role("link", name="Verbale in PDF/A").click()
    path = tmp_path / "verbale.pdf"
    download.value.save_as(path)
    data = path.read_bytes()
    assert pdf_xmp(data)["part"] == "2"
    pages = [normalise(p) for p in pdf_pages(data)]
    assert all(digest in p for p in pages)
    assert "Indicare anche l'ora di inizio." in " ".join(pages)

    # The history shows each version.
    facilitator.get_by_role("link", name="Storia delle versioni").click()
    expect(facilitator.get_by_role("heading", name=re.compile("Versione 2"))).to_be_visible()
    assert_accessible(facilitator)


def test_a_stale_save_shows_both_texts(page, open_page, tavolo, live_app):
    with live_app.app_context():
        seduta = tavoli_service.get_seduta(db.session, tavolo.seduta_id)
        tavoli_service.close_seduta(db.session, _people(seduta)["facilitator"], seduta)
        db.session.commit()
    first = page
    login(first, tavolo.facilitator)
    second = open_page()
    login(second, tavolo.admin)
    for p in (first, second):
        p.goto(f"/tavoli/{tavolo.tavolo_id}/sedute/{tavolo.seduta_id}/verbale")
        p.get_by_role("link", name=re.compile(r"^Scrivi\W+Apertura della seduta$")).click()
    first.get_by_label("Testo della sezione (Markdown)").fill("Testo di Fabio.")
    first.get_by_role("button", name="Salva la sezione").click()
    expect(first.get_by_role("status")).to_contain_text("Sezione salvata.")
    second.get_by_label("Testo della sezione (Markdown)").fill("Testo di Anna.")
    second.get_by_role("button", name="Salva la sezione").click()
    expect(second.get_by_role("alert")).to_contain_text("qualcun altro ha salvato")
    expect(second.locator(".mn-newer")).to_contain_text("Testo di Fabio.")
    expect(second.get_by_label("Testo della sezione (Markdown)")).to_have_value("Testo di Anna.")
    assert_accessible(second)


def test_settings_and_public_pages_are_accessible(page, tavolo, live_app):
    with live_app.app_context():
        session = db.session
        seduta = tavoli_service.get_seduta(session, tavolo.seduta_id)
        people = _people(seduta)
        facilitator, delegate = people["facilitator"], people["delegate"]
        tavoli_service.close_seduta(session, facilitator, seduta)
        session.commit()
        verbale = service.verbale_of(session, seduta.id)
        review.send_for_review(session, facilitator, verbale)
        remark = review.file_remark(session, delegate, verbale, None, "Osservazione generale.")
        review.decide_remark(session, facilitator, verbale, remark, False, "Fuori tema.")
        service.approve(session, facilitator, verbale)
        session.commit()
        publish(session, tavolo.procedure_id, tavolo.admin_id)
        verbale_id = verbale.id

    login(page, tavolo.admin)
    page.goto(f"/amministrazione/procedure/{tavolo.procedure_id}/verbali")
    expect(page.get_by_role("heading", name="Regole dei verbali")).to_be_visible()
    assert_accessible(page)
    page.goto(f"/procedure/{tavolo.procedure_id}")
    page.get_by_role("link", name=re.compile("Sedute e verbali dei tavoli")).click()
    expect(page.get_by_role("heading", name="Sedute e verbali")).to_be_visible()
    assert_accessible(page)
    page.goto(f"/procedure/{tavolo.procedure_id}/verbali/{verbale_id}")
    expect(page.locator(".mn-preview")).to_contain_text("Osservazione generale.")
    expect(page.locator(".mn-preview")).not_to_contain_text("Delia Delegata")
    assert_accessible(page)
