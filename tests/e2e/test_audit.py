"""The audit trail's page in a real Chromium: an administrator logs in, reads the trail (their own
login on top), filters it and pages through it by keyboard, meets a refused filter, downloads the
CSV; axe-core (WCAG 2.1 A/AA) finds nothing on the page, with and without errors."""
from __future__ import annotations

import uuid

from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible
from tests.world import PASSWORD, make_person
from workspace.db import db


def _admin(live_app) -> str:
    email = f"admin-{uuid.uuid4().hex[:6]}@prova.example.org"
    with live_app.app_context():
        make_person(db.session, "Alba Amministratrice", email, admin=True)
        db.session.commit()
    return email


def _log_in(page, email: str) -> None:
    page.goto("/accedi")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Accedi").click()
    page.wait_for_load_state()


def test_an_administrator_reads_filters_and_exports_the_trail(page, live_app):
    email = _admin(live_app)
    _log_in(page, email)
    page.goto("/amministrazione/audit")
    expect(page.get_by_role("heading", level=1)).to_have_text("Registro di audit")
    table = page.get_by_role("table")
    expect(table.locator("caption")).to_contain_text("dalla più recente")
    newest = table.locator("tbody tr").first
    expect(newest).to_contain_text("Accesso")
    expect(newest).to_contain_text("Alba Amministratrice")
    assert_accessible(page)

    # Keyboard only: choose the action, submit with Enter.
    action = page.get_by_label("Azione", exact=True)
    action.focus()
    action.select_option("login.succeeded")
    page.get_by_role("button", name="Filtra").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**azione=login.succeeded**")
    rows = page.get_by_role("table").locator("tbody tr")
    expect(rows.first).to_contain_text("login.succeeded")
    assert all("login.succeeded" in text for text in rows.all_inner_texts())
    assert_accessible(page)

    # The demo's trail is longer than a page: the next page, by keyboard.
    page.goto("/amministrazione/audit")
    following = page.get_by_role("navigation", name="Pagine del registro").get_by_role("link", name="Successiva")
    following.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**pagina=2**")
    expect(page.locator("[aria-current=page]").last).to_contain_text("Pagina 2 di")

    # The table scrolls sideways on its own: a keyboard user can reach it.
    region = page.get_by_role("region", name="Registro di audit: voci")
    region.focus()
    expect(region).to_be_focused()

    # A refused filter: the summary links to the field.
    page.get_by_label("Numero dell'oggetto").fill("0")
    page.get_by_role("button", name="Filtra").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Un numero intero da 1 in su.")
    expect(page.get_by_label("Numero dell'oggetto")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page)

    # The CSV, as a spreadsheet opens it.
    page.goto("/amministrazione/audit?azione=login.succeeded")
    with page.expect_download() as info:
        page.get_by_role("link", name="Scarica le voci filtrate in CSV").click()
    download = info.value
    assert download.suggested_filename == "registro-audit.csv"
    with open(download.path(), "rb") as f:
        data = f.read()
    assert data.startswith("\ufeff".encode()) and b";login.succeeded;" in data
