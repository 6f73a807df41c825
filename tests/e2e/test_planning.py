"""Priorities, dispositions and schede obiettivo in a real Chromium, on the Pavia demo: the RUP opens
the Anziani tavolo's closed vote, records a disposition (refused without a reason, with the message
tied to the field), follows a card from the ranking, opens its editor, and downloads the card as
PDF/A; back from the card to its bisogno's cards. Every new page passes axe-core (WCAG 2.1 A/AA)."""
from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.conftest import assert_accessible
from tests.e2e.conftest import login as e2e_login
from tests.exports.readback import pdf_text, pdf_xmp
from workspace.db import db
from workspace.planning.models import Scheda
from workspace.tavoli.models import Tavolo

RUP = "rup@pavia.example.org"
PASSWORD = "demo-tavoli-pavia"


def test_from_a_closed_vote_to_a_downloaded_card(page, live_app, tmp_path):
    with live_app.app_context():
        tavolo = db.session.scalar(select(Tavolo).where(Tavolo.title.like("Tavolo E%")))
        tavolo_id, procedure_id = tavolo.id, tavolo.procedure_id
        card = db.session.scalar(select(Scheda).where(Scheda.macroarea_code == "E").order_by(Scheda.id))
        card_title = card.title
    e2e_login(page, RUP, PASSWORD)
    page.goto(f"/tavoli/{tavolo_id}/priorita")
    expect(page.get_by_role("heading", level=1)).to_have_text("Priorità e disposizioni")
    assert_accessible(page)

    # A disposition without a reason is refused, the message tied to the field.
    first_form = page.locator("details").first
    first_form.locator("summary").click()
    first_form.get_by_label("Esito").select_option("accolto")
    first_form.get_by_label("Motivazione (obbligatoria)").fill("")
    first_form.get_by_role("button", name="Registra").click()
    reason = page.locator("textarea[aria-invalid=true]")
    expect(reason).to_have_count(1)
    expect(page.get_by_text("La motivazione è obbligatoria.")).to_be_visible()
    assert_accessible(page)
    reason.fill("Confermato dall'Ufficio di Piano nella verifica e2e.")
    page.locator("details[open]").get_by_role("button", name="Registra").click()
    expect(page.get_by_text("Confermato dall'Ufficio di Piano nella verifica e2e.").first).to_be_visible()

    # From the ranking to the card, one click.
    page.get_by_role("link", name=card_title).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(card_title)
    expect(page.get_by_text("Tutti i campi sono compilati.")).to_be_visible()
    assert_accessible(page)
    card_url = page.url

    page.get_by_role("link", name="Modifica la scheda").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Modifica la scheda obiettivo")
    assert_accessible(page)
    page.goto(card_url)

    with page.expect_download() as info:
        page.get_by_role("link", name="pdf", exact=True).click()
    target = tmp_path / "schede.pdf"
    info.value.save_as(target)
    data = target.read_bytes()
    assert "conformance" in pdf_xmp(data)
    assert "TITOLO INTERVENTO" in pdf_text(data) and card_title in pdf_text(data)

    # Back from the card to the bisogno's cards, one click.
    page.get_by_role("link", name="Tutte le schede di questo bisogno").first.click()
    expect(page.get_by_role("link", name=card_title)).to_be_visible()
    assert_accessible(page)

    page.goto(f"/procedure/{procedure_id}/piano")
    expect(page.get_by_role("heading", level=1)).to_have_text("Priorità e schede obiettivo")
    assert_accessible(page)


def test_public_page_of_published_priorities(page, live_app):
    """Anonymous visitors read the published priorities, dispositions and ready cards (axe-clean)."""
    from tests.minutes.support import publish
    from tests.planning.support import closed_world, complete_values
    from workspace.planning import service
    from workspace.procedures.models import Procedure

    with live_app.app_context():
        session = db.session
        vw, _round = closed_world(session)
        procedure = session.get_one(Procedure, vw.tavolo.procedure_id)
        service.record_disposition(session, vw.admin, vw.bisogni[1], "accolto", "Coerente con il Piano di Zona.")
        card = service.create_scheda(session, vw.admin, procedure, [vw.bisogni[1]])
        service.update_scheda(session, vw.admin, card, values=complete_values(session))
        service.set_ready(session, vw.admin, card)
        session.commit()
        publish(session, procedure.id, vw.admin.id)
        service.publish(session, vw.admin, procedure)
        session.commit()
        procedure_id, card_title = procedure.id, card.title
    page.goto(f"/procedure/{procedure_id}/priorita")
    expect(page.get_by_role("heading", level=1)).to_have_text("Priorità, disposizioni e schede obiettivo")
    expect(page.get_by_text("Coerente con il Piano di Zona.")).to_be_visible()
    expect(page.get_by_text(card_title)).to_be_visible()
    assert_accessible(page)
    page.goto(f"/procedure/{procedure_id}")
    page.get_by_role("link", name="Priorità dei tavoli, disposizioni dell'Ufficio di Piano e schede obiettivo").click()
    expect(page).to_have_url(f"{page.url.split('/procedure')[0]}/procedure/{procedure_id}/priorita")
