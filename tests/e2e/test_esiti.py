"""Esiti in a real Chromium: the Ufficio di Piano opens the table, adds an objective (a wrong count
first: the error summary, then the fix), tries an import with a bad row (nothing imported, the row
named), downloads the PDF/A; a delegate reads the table from the tavolo's page; the public page of a
published procedure. Every page passes axe-core (WCAG 2.1 A/AA)."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta

from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible, shot
from tests.e2e.conftest import login as e2e_login
from tests.esiti.support import row
from tests.exports.readback import pdf_xmp
from tests.minutes.support import publish
from tests.world import PASSWORD, make_person
from workspace.accounts.models import Organisation
from workspace.db import db, utcnow
from workspace.esiti import service
from workspace.procedures import lifecycle as procedures
from workspace.tavoli import membership


def test_esiti_pages(page, browser, live_server, live_app, tmp_path):
    tag = uuid.uuid4().hex[:8]
    with live_app.app_context():
        session = db.session
        udp = Organisation(name=f"Ufficio di Piano {tag}", kind="ufficio_di_piano", ambito_code="50008")
        ets = Organisation(name=f"Associazione Alfa {tag}", kind="ets", ambito_code="50008")
        session.add_all([udp, ets])
        session.flush()
        admin = make_person(session, "Anna Amministratrice", f"adm-{tag}@e2e.example.org", udp, admin=True)
        delegate = make_person(session, "Delia Delegata", f"del-{tag}@e2e.example.org", ets)
        procedure = procedures.create_procedure(session, admin, "50008", f"Co-programmazione {tag}", rup=admin)
        now = utcnow()
        t = membership.create_tavolo(session, admin, procedure, f"Tavolo anziani {tag}", ["E"],
                                     opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=10))
        membership.set_role(session, admin, t, delegate, "delegate", ets)
        service.create(session, admin, procedure, row())
        service.create(session, admin, procedure, row(obiettivo="Oltre il programmato", azioni_realizzate="9"))
        session.commit()
        publish(session, procedure.id, admin.id)
        pid, tid, admin_email, delegate_email = procedure.id, t.id, admin.email, delegate.email

    e2e_login(page, admin_email, PASSWORD)
    page.goto(f"/amministrazione/procedure/{pid}")
    page.get_by_role("link", name="Esiti 2021-2023").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Esiti della precedente programmazione 2021-2023")
    expect(page.locator("main")).to_contain_text("oltre il programmato")
    assert_accessible(page)
    shot(page, "esiti-ufficio-di-piano", full_page=True)

    page.get_by_role("link", name="Aggiungi un obiettivo").click()
    assert_accessible(page)
    page.get_by_label("Obiettivo della programmazione 2021-2023").fill("Sportello lavoro")
    page.get_by_label("Numero di azioni programmate").fill("0")
    page.get_by_label("Numero di azioni realizzate").fill("1")
    page.get_by_role("button", name="Salva l'obiettivo").click()
    expect(page.locator("#riepilogo-errori")).to_contain_text("da 1 in su")
    assert_accessible(page)
    page.get_by_label("Numero di azioni programmate").fill("4")
    page.get_by_role("button", name="Salva l'obiettivo").click()
    expect(page.locator("main")).to_contain_text("Obiettivo n. 3: Sportello lavoro")
    expect(page.locator("main")).to_contain_text("1-49% (insufficiente)")

    page.locator("summary", has_text="Elimina").nth(2).click()
    assert_accessible(page)
    page.get_by_role("button", name="Conferma l'eliminazione dell'obiettivo n. 3").click()
    expect(page.locator("main")).to_contain_text("Obiettivo «Sportello lavoro» eliminato.")
    expect(page.locator("main")).not_to_contain_text("Obiettivo n. 3:")

    page.get_by_role("link", name="Importa da CSV, XLSX o ODS").click()
    assert_accessible(page)
    bad = tmp_path / "esiti.csv"
    bad.write_text("Obiettivo 2021-2023;N. azioni programmate\nNuovo;tre\n", encoding="utf-8")
    page.get_by_label("File da importare (CSV, XLSX o ODS)").set_input_files(str(bad))
    page.get_by_role("button", name="Importa", exact=True).click()
    expect(page.locator("#riepilogo-errori")).to_contain_text("nulla è stato importato")
    expect(page.locator("#riepilogo-errori")).to_contain_text("Riga 2:")
    assert_accessible(page)
    shot(page, "esiti-importazione-rifiutata")

    page.goto(f"/amministrazione/procedure/{pid}/esiti")
    with page.expect_download() as download:
        page.get_by_role("link", name="PDF/A").click()
    path = tmp_path / "esiti.pdf"
    download.value.save_as(path)
    assert pdf_xmp(path.read_bytes())["part"] in ("1", "2", "3")

    page.goto(f"/procedure/{pid}")
    page.get_by_role("link", name=re.compile("Esiti della precedente programmazione")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Esiti della precedente programmazione 2021-2023")
    assert_accessible(page)

    context = browser.new_context(base_url=live_server, locale="it-IT")
    other = context.new_page()
    try:
        e2e_login(other, delegate_email, PASSWORD)
        other.goto(f"/tavoli/{tid}")
        other.get_by_role("link", name="Esiti della precedente programmazione 2021-2023").click()
        expect(other.locator("main")).to_contain_text("Oltre il programmato")
        expect(other.get_by_role("link", name="Aggiungi un obiettivo")).to_have_count(0)
        assert_accessible(other)
    finally:
        context.close()
