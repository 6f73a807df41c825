"""The documento di sintesi's page and its forms, end to end over HTTP: generate, write the
introduction (a stale version is refused with both texts shown), send for review, approve; who sees
what; downloads in every format with the same charts as the page."""
from __future__ import annotations

from tests.exports.readback import pdf_xmp
from tests.helpers import csrf_token_from
from tests.sintesi.support import concluded
from tests.world import login_client


def test_from_generation_to_approval_through_the_page(app, closing, in_app):
    c = closing
    base = f"/procedure/{c.procedure_id}/documento-di-sintesi"
    admin, _ = login_client(app, c.admin)
    page = admin.get(base)
    assert page.status_code == 200 and "Genera la bozza dai dati" in page.get_data(as_text=True)
    token = csrf_token_from(page.get_data(as_text=True))
    assert admin.post(f"{base}/genera", data={"csrf_token": token}).status_code == 303
    html = admin.get(base).get_data(as_text=True)
    # The page shows the same charts as the PDF (server-side SVG) and their data tables.
    assert html.count("<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\"") == 3 and "Dati del grafico: Priorità per macroarea" in html
    # The delegate cannot read a draft; the introduction is saved with the version it started from.
    delegate, _ = login_client(app, c.delegate)
    assert delegate.get(base).status_code == 403
    saved = admin.post(f"{base}/introduzione", data={"csrf_token": token, "version": "1", "text": "Primo."})
    assert saved.status_code == 303
    odd = admin.post(f"{base}/introduzione", data={"csrf_token": token, "version": "²", "text": "Strano."})
    assert odd.status_code == 422 and "Versione del testo mancante o non valida" in odd.get_data(as_text=True)
    stale = admin.post(f"{base}/introduzione", data={"csrf_token": token, "version": "1", "text": "Secondo."})
    assert stale.status_code == 409
    body = stale.get_data(as_text=True)
    assert "Nel frattempo" in body and "Primo." in body and "Secondo." in body
    assert admin.post(f"{base}/revisione", data={"csrf_token": token}).status_code == 303
    assert delegate.get(base).status_code == 200
    outsider, _ = login_client(app, c.outsider)
    assert outsider.get(base).status_code == 403
    assert admin.post(f"{base}/approva", data={"csrf_token": token}).status_code == 303
    html = admin.get(base).get_data(as_text=True)
    assert "Impronta SHA-256 del contenuto" in html and "La procedura è conclusa" in html
    assert "Introduzione modificata" in html and "Inviato in revisione" in html  # the versions, who and when
    assert "Salva l&#39;introduzione" not in html and "Salva l'introduzione" not in html
    for fmt, magic in (("pdf", b"%PDF"), ("odt", b"PK"), ("docx", b"PK")):
        response = delegate.get(f"{base}.{fmt}")
        assert response.status_code == 200 and response.data.startswith(magic), fmt
    assert pdf_xmp(delegate.get(f"{base}.pdf").data)["part"] == "2"
    assert admin.get(f"{base}.xlsx").status_code == 422


def test_the_administration_page_points_to_the_documento(app, closing, in_app):
    c = closing
    admin, _ = login_client(app, c.admin)
    html = admin.get(f"/amministrazione/procedure/{c.procedure_id}").get_data(as_text=True)
    assert "La procedura si conclude approvando il documento di sintesi." in html
    assert f"/procedure/{c.procedure_id}/documento-di-sintesi" in html


def test_the_approved_documento_is_public_with_its_procedure(app, closing, in_app):
    from workspace.db import utcnow
    from workspace.procedures.models import Procedure
    from workspace.procedures.publication import publish

    c = closing
    client = app.test_client()
    url = f"/procedure/{c.procedure_id}/documento-di-sintesi/pubblicato.pdf"
    with in_app() as db:
        procedure = db.get_one(Procedure, c.procedure_id)
        publish(db, c.admin, procedure, "avviso", 0, procedure.title, utcnow(), utcnow())
        db.commit()
    assert client.get(url).status_code == 404  # published, not yet concluded
    with in_app() as db:
        stored = concluded(db, c).pdf
    response = client.get(url)
    assert response.status_code == 200 and response.data == stored
    page = client.get(f"/procedure/{c.procedure_id}").get_data(as_text=True)
    assert "Scarica il documento di sintesi (PDF/A)" in page and url in page
