"""Exports of a verbale read back with real libraries: the same text in PDF/A, ODT and DOCX, the
PDF/A identification in the XMP metadata with every font embedded, the verbale's hash in every
footer, the presence register alone in CSV and ODS, and the edition for publication without names."""
from __future__ import annotations

import pytest

from tests.exports.readback import (
    csv_rows,
    docx_footer,
    docx_text,
    normalise,
    ods_rows,
    odt_footer,
    odt_text,
    pdf_body_text,
    pdf_fonts,
    pdf_footer_count,
    pdf_pages,
    pdf_xmp,
)
from tests.minutes.support import approved, get, scripted_seduta, write
from tests.world import login_client
from workspace.minutes import document, service
from workspace.problems import Problem


@pytest.fixture
def exported(session):
    s = scripted_seduta(session)
    key = f"punto-{s.seduta.agenda[1].id}"
    write(session, s, key, "Si discute dei **trasporti**:\n\n- navetta il sabato\n- accompagnamento alle visite")
    write(session, s, "chiusura", "La seduta si chiude con il calendario dei prossimi incontri.")
    verbale = approved(session, s)
    files = {"pdf": verbale.pdf, "odt": service.document_bytes(verbale, "odt"),
             "docx": service.document_bytes(verbale, "docx")}
    with document.italian():
        title = document.title_of(verbale.content)
    return s, verbale, files, title


# Header rows a table repeats on every page it crosses (the PDF shows them again).
REPEATED = ("Persona Organizzazione Ruolo Modalità Orario Note", "Organizzazione Ruolo Modalità Orario Note",
            "Bisogno Tipo Numero Organizzazioni", "Posizione Voce Punti Note",
            "Votazione Voce Dichiarante Nota Effetto")


def _texts(files: dict[str, bytes], footer: str, title: str, agenda: list[str]) -> dict[str, str]:
    pdf = pdf_body_text(files["pdf"], footer, title, repeated=REPEATED)
    for n, item in enumerate(agenda, start=1):  # list numbers are text in the PDF only
        assert f"{n}. {item}" in pdf
        pdf = pdf.replace(f"{n}. {item}", item, 1)
    return {"pdf": pdf, "odt": normalise(odt_text(files["odt"])), "docx": normalise(docx_text(files["docx"]))}


def test_the_same_text_in_pdfa_odt_and_docx(exported):
    s, verbale, files, title = exported
    footer = f"SHA-256 del verbale: {verbale.content_sha256}"
    texts = _texts(files, footer, title, ["Apertura", "Bisogni emersi", "Varie"])
    assert texts["pdf"] == texts["odt"] == texts["docx"]
    body = texts["odt"]
    for piece in ("Verbale della seduta n. 1 – Tavolo anziani e fragilità", "Registro delle presenze",
                  "Delia Delegata", "Associazione Alfa (prova)", "segnata dal facilitatore Fabio Facilitatore",
                  "Punto 2. Bisogni emersi", "Si discute dei trasporti:", "navetta il sabato",
                  "«Trasporto sociale verso gli ospedali» (Associazione Alfa (prova)): modificato",
                  "Votazione «Priorità della seduta»", "Dichiarazioni di conflitto di interessi",
                  "Gestiamo il servizio di trasporto.", "Osservazioni dei partecipanti", "Manca il nome del Comune.",
                  "Accolta", "Verbale approvato il", "Conclusioni e chiusura", "Allegati"):
        assert piece in body, piece
    assert body.index("Registro delle presenze") < body.index("Punto 1. Apertura") < body.index("Allegati")


def test_pdfa_identification_fonts_and_the_hash_on_every_page(exported):
    _s, verbale, files, title = exported
    assert pdf_xmp(files["pdf"]) == {"part": "2", "conformance": "B", "title": title}
    fonts = pdf_fonts(files["pdf"])
    assert fonts and all(fonts.values()), fonts
    footer = f"SHA-256 del verbale: {verbale.content_sha256}"
    assert pdf_footer_count(files["pdf"], footer) == len(pdf_pages(files["pdf"]))
    assert odt_footer(files["odt"]) == f"{footer}\nPagina [PAGE] di [NUMPAGES]"
    assert docx_footer(files["docx"]) == f"{footer}\nPagina [PAGE] di [NUMPAGES]"


def test_the_edition_for_publication_names_no_one(exported):
    s, verbale, _files, title = exported
    public = verbale.public_pdf
    assert pdf_xmp(public)["part"] == "2"
    footer = f"SHA-256 del verbale: {verbale.content_sha256} · edizione per la pubblicazione"
    assert pdf_footer_count(public, footer) == len(pdf_pages(public))
    text = pdf_body_text(public, footer, title, repeated=REPEATED)
    for name in ("Delia Delegata", "Dario Delegato", "Fabio Facilitatore", "Carlo Collega", "Amministratrice",
                 "Olga Osservatrice"):
        assert name not in text, name
    assert "Associazione Alfa (prova)" in text and "Gestiamo il servizio di trasporto." in text
    for fmt in ("odt", "docx"):
        data = service.document_bytes(verbale, fmt, public=True)
        flat = normalise(odt_text(data) if fmt == "odt" else docx_text(data))
        assert "Delia Delegata" not in flat and "Associazione Alfa (prova)" in flat


def test_a_draft_says_so_in_its_footer(session):
    s = scripted_seduta(session)
    verbale = get(session, s)
    data = service.document_bytes(verbale, "odt")
    assert odt_footer(data).startswith("BOZZA non approvata · versione 1")


def test_the_presence_register_alone(exported):
    s, verbale, _files, _title = exported
    rows = csv_rows(service.register_bytes(verbale, "csv"))
    assert rows[0] == ["Persona", "Organizzazione", "Tipo di organizzazione", "Ruolo", "Modalità", "Entrata",
                       "Uscita", "Segnata dal facilitatore"]  # the register keeps every field in its column
    assert [r[:5] for r in rows[1:]] == [
        ["Delia Delegata", "Associazione Alfa (prova)", "Ente del Terzo settore (ETS)", "Delegato", "In sala"],
        ["Dario Delegato", "Cooperativa Beta (prova)", "Ente del Terzo settore (ETS)", "Delegato", "Da remoto"],
        ["Olga Osservatrice", "", "", "Osservatore", "Da remoto"]]
    assert [r[7] for r in rows[1:]] == ["Sì", "Sì", "No"]
    ods = ods_rows(service.register_bytes(verbale, "ods"))
    assert ods[0][0] == "Persona" and [r[0] for r in ods[1:4]] == ["Delia Delegata", "Dario Delegato",
                                                                   "Olga Osservatrice"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "pdf.exe", ""])
def test_formats_not_on_offer_are_refused(session, fmt):
    s = scripted_seduta(session)
    with pytest.raises(Problem) as caught:
        service.document_bytes(get(session, s), fmt)
    assert caught.value.status == 422 and "Formato non disponibile" in caught.value.message
    with pytest.raises(Problem):
        service.register_bytes(get(session, s), "docx")


def test_downloads_from_the_page_are_recorded(app, scripted, in_app):
    from workspace import signals

    s = scripted
    seen = []

    def receiver(_session, *, action, details, **_):
        seen.append((action, details.get("what"), details.get("format"), details.get("channel")))

    signals.action_recorded.connect(receiver)
    try:
        client, _ = login_client(app, s.observer)
        base = f"/tavoli/{s.tavolo.id}/verbali/{s.verbale_id}"
        odt = client.get(f"{base}/documento.odt")
        assert odt.status_code == 200 and odt.mimetype == "application/vnd.oasis.opendocument.text"
        assert "bozza" in odt.headers["Content-Disposition"]
        csv = client.get(f"{base}/registro.csv")
        assert csv.status_code == 200 and csv_rows(csv.data)[1][0] == "Delia Delegata"
        assert client.get(f"{base}/documento.exe").status_code == 422
        assert client.get(f"{base}/registro.docx").status_code == 422
        outsider, _ = login_client(app, s.outsider)
        assert outsider.get(f"{base}/documento.pdf").status_code == 403
        assert outsider.get(f"{base}/registro.csv").status_code == 403
    finally:
        signals.action_recorded.disconnect(receiver)
    assert seen == [("verbale.exported", "verbale", "odt", "web"), ("verbale.exported", "registro", "csv", "web")]
