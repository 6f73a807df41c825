"""The procedure in a real Chromium: an ETS applies through the public form, the RUP admits it, its
delegate follows the invitation and lands in the tavolo. Every public page is checked with axe-core
(WCAG 2.1 A/AA): zero violations, empty forms and forms with errors alike."""
from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import _CSP_REPORTER, assert_accessible
from tests.helpers import last_mail, link_in_mail, valid_numeric_cf
from tests.procedures.support import advance, build, fill
from tests.world import PASSWORD
from workspace.db import db, utcnow
from workspace.procedures import lifecycle, texts
from workspace.procedures.models import Application, Procedure


@dataclass
class OpenCall:
    procedure_id: int
    title: str
    tavolo_id: int
    tavolo_title: str
    rup_email: str
    cf: str
    tag: str


@pytest.fixture
def call(live_app) -> OpenCall:
    """A procedure whose avviso went out an hour ago; applications open until tomorrow."""
    with live_app.app_context():
        session = db.session
        s = build(session)
        now = utcnow()
        fill(session, s, published_at=now - timedelta(hours=1), deadline=now + timedelta(days=1), now=now)
        advance(session, s, "candidature", now=now)
        tag = uuid.uuid4().hex[:6]
        return OpenCall(s.procedure.id, s.procedure.title, s.tavolo.id, s.tavolo.title, s.rup.email,
                        valid_numeric_cf(random.randrange(10**8, 10**9)), tag)


@pytest.fixture
def new_page(browser, live_server, console):
    contexts = []

    def _open():
        context = browser.new_context(base_url=live_server, locale="it-IT", timezone_id="Europe/Rome",
                                      viewport={"width": 1280, "height": 900})
        context.set_default_timeout(10_000)
        context.add_init_script(_CSP_REPORTER)
        contexts.append(context)
        p = context.new_page()
        console.attach(p)
        return p

    yield _open
    for context in contexts:
        context.close()


def _tick(page, field_id: str) -> None:
    """Bootstrap Italia draws checkboxes and radios on their label: click it, then check the input."""
    page.locator(f"label[for='{field_id}']").click()
    expect(page.locator(f"#{field_id}")).to_be_checked()


def test_ets_applies_rup_admits_delegate_lands_in_tavolo(page, new_page, call, live_app):
    delegate_email = f"delegata-{call.tag}@ets.example.org"
    org_email = f"pec-{call.tag}@ets.example.org"
    org_name = f"Associazione Solidale {call.tag} ODV"

    # --- the public record and the avviso, anonymous ------------------------------------------
    page.goto("/procedure")
    page.get_by_role("link", name=call.title).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(call.title)
    expect(page.get_by_role("heading", name="Tavoli tematici")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Leggi l'avviso completo").click()
    expect(page.get_by_role("heading", name="6. Trasparenza")).to_be_visible()
    assert_accessible(page)

    # --- the application form: errors first, then a complete application ----------------------
    page.get_by_role("link", name="Presenta la candidatura").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Candidatura ai tavoli di co-programmazione")
    assert_accessible(page)
    page.get_by_label("Codice fiscale dell'organizzazione").fill("06363391002")
    page.get_by_role("button", name="Invia la candidatura").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Il modulo contiene errori")
    expect(summary).to_contain_text("la cifra di controllo (l'ultima) non corrisponde")
    expect(summary).to_contain_text("Veridicità dei dati: Per candidarsi occorre rendere questa dichiarazione.")
    expect(page.get_by_label("Codice fiscale dell'organizzazione")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page)

    page.get_by_label("Denominazione dell'organizzazione").fill(org_name)
    page.get_by_label("Codice fiscale dell'organizzazione").fill(call.cf)
    expect(page.locator("#registration-0")).to_be_checked()  # "Iscritto al RUNTS" by default
    page.get_by_label("Sezione del RUNTS").select_option("odv")
    page.get_by_label("Numero di repertorio RUNTS").fill("54321")
    page.get_by_label("PEC o e-mail dell'organizzazione per le comunicazioni").fill(org_email)
    page.get_by_label("Legale rappresentante (nome e cognome)").fill("Laura Legale")
    page.get_by_label("Carica del legale rappresentante (facoltativa)").fill("Presidente")
    page.get_by_label("Persona delegata ai tavoli (nome e cognome)").fill("Delia Delegata")
    page.get_by_label("E-mail della persona delegata").fill(delegate_email)
    _tick(page, "tavoli-0")
    for key, _text in texts.DECLARATIONS:
        _tick(page, f"decl_{key}")
    _tick(page, "coi-0")
    page.get_by_role("button", name="Invia la candidatura").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Candidatura ricevuta")
    expect(page.get_by_role("status")).to_contain_text(org_name)
    assert_accessible(page)
    assert "Candidatura ricevuta" in last_mail(live_app, org_email)["Subject"]

    # --- the deadline passes (frozen time): the RUP opens the examination ------------------------
    with live_app.app_context():
        procedure = db.session.get(Procedure, call.procedure_id)
        lifecycle.transition(db.session, procedure.rup, procedure, "ammissioni",
                           now=procedure.application_deadline + timedelta(minutes=1))
        db.session.commit()

    # --- the RUP admits the application with a motivation ----------------------------------------
    rup = new_page()
    rup.goto("/accedi")
    rup.get_by_label("Indirizzo e-mail").fill(call.rup_email)
    rup.get_by_label("Password").fill(PASSWORD)
    rup.locator("main").get_by_role("button", name="Accedi").click()
    rup.wait_for_url(lambda url: "/accedi" not in url)
    rup.goto(f"/amministrazione/procedure/{call.procedure_id}/candidature")
    rup.get_by_role("link", name=org_name).click()
    expect(rup.get_by_role("heading", level=1)).to_have_text(f"Candidatura di {org_name}")
    _tick(rup, "d-decision-0")
    rup.get_by_role("button", name="Registra l'esito").click()
    expect(rup.get_by_role("alert")).to_contain_text("La motivazione è obbligatoria")
    _tick(rup, "d-decision-0")
    rup.get_by_label("Motivazione").fill("Requisiti posseduti; opera nell'area anziani dell'Ambito.")
    rup.get_by_role("button", name="Registra l'esito").click()
    expect(rup.get_by_role("status").first).to_contain_text("ammessa")
    with live_app.app_context():
        application = db.session.query(Application).filter_by(procedure_id=call.procedure_id,
                                                              codice_fiscale=call.cf).one()
        assert application.status == "admitted"
    assert "AMMESSA" in last_mail(live_app, org_email).get_body(preferencelist=("plain",)).get_content()

    # --- the delegate follows the invitation and lands in the tavolo -----------------------------
    link = link_in_mail(last_mail(live_app, delegate_email), live_app.config["BASE_URL"])
    delegate = new_page()
    delegate.goto(link)
    expect(delegate.get_by_role("heading", level=1)).to_have_text("Invito ai tavoli di co-programmazione")
    assert_accessible(delegate)
    delegate.get_by_role("button", name="Aderisci ed entra nel tavolo").click()
    # First login: the privacy notice comes first, then the tavolo.
    expect(delegate.get_by_role("heading", level=1)).to_have_text("Informativa sul trattamento dei dati personali")
    expect(delegate.get_by_role("status").first).to_contain_text("Ora partecipi ai tavoli")
    assert_accessible(delegate)
    delegate.get_by_role("button", name="Ho letto l'informativa").click()
    delegate.wait_for_url(f"**/tavoli/{call.tavolo_id}")
    expect(delegate.get_by_role("heading", level=1)).to_contain_text(call.tavolo_title)
    expect(delegate.get_by_role("status").first).to_contain_text("hai letto l'informativa")


def test_closed_form_and_index_are_accessible(page, call, live_app):
    with live_app.app_context():
        procedure = db.session.get(Procedure, call.procedure_id)
        procedure.application_deadline = utcnow() - timedelta(minutes=1)
        db.session.commit()
    page.goto(f"/procedure/{call.procedure_id}/candidatura")
    expect(page.get_by_role("alert")).to_contain_text("Il termine per presentare la candidatura è scaduto")
    expect(page.get_by_role("button", name="Invia la candidatura")).to_have_count(0)
    assert_accessible(page)
    page.goto("/procedure")
    expect(page.get_by_role("heading", level=1)).to_have_text("Procedure di co-programmazione")
    assert_accessible(page)
