"""The documento di sintesi in a real Chromium: the demo's concluded procedure shows its approved
documento with the three server-side SVG charts and their data tables, to the RUP and to a delegate
of its tavolo; the PDF/A downloads; the pages pass axe-core (WCAG 2.1 A/AA), also the page of a
procedure whose documento is not generated yet."""
from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.conftest import assert_accessible
from tests.e2e.conftest import login as e2e_login
from workspace.db import db
from workspace.procedures.models import Procedure
from workspace.sintesi.demo import TITLE

DEMO_PASSWORD = "demo-tavoli-pavia"


def _procedures(live_app) -> tuple[int, int]:
    with live_app.app_context():
        concluded = db.session.scalar(select(Procedure.id).where(Procedure.title == TITLE))
        other = db.session.scalar(select(Procedure.id).where(Procedure.title != TITLE).order_by(Procedure.id))
        assert concluded and other
        return concluded, other


def test_the_concluded_procedure_and_its_documento(open_page, live_app, tmp_path):
    concluded, other = _procedures(live_app)
    rup = open_page()
    e2e_login(rup, "rup@pavia.example.org", DEMO_PASSWORD)
    rup.goto(f"/procedure/{concluded}/documento-di-sintesi")
    expect(rup.get_by_role("heading", level=1, name="Documento di sintesi", exact=True)).to_be_visible()
    expect(rup.locator("main svg[role=img]")).to_have_count(3)
    expect(rup.get_by_text("La procedura è conclusa", exact=False).first).to_be_visible()
    expect(rup.get_by_role("button", name="Approva e concludi la procedura")).to_have_count(0)
    assert_accessible(rup)
    with rup.expect_download() as download:
        rup.locator(f"a[href='/procedure/{concluded}/documento-di-sintesi.pdf']").click()
    target = tmp_path / "sintesi.pdf"
    download.value.save_as(target)
    assert target.read_bytes().startswith(b"%PDF")

    rup.goto(f"/procedure/{other}/documento-di-sintesi")
    expect(rup.get_by_role("heading", name="Documento non ancora generato")).to_be_visible()
    assert_accessible(rup)

    # The public page of the (published) concluded procedure offers the approved PDF/A.
    public = open_page()
    public.goto(f"/procedure/{concluded}")
    expect(public.get_by_role("heading", name="Documento di sintesi")).to_be_visible()
    assert_accessible(public)

    delegate = open_page()
    e2e_login(delegate, "odv@pavia.example.org", DEMO_PASSWORD)
    delegate.goto(f"/procedure/{concluded}/documento-di-sintesi")
    expect(delegate.locator("main table caption", has_text="Dati del grafico").first).to_be_attached()
    assert_accessible(delegate)
