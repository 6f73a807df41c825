"""A sample document with every block type, rendered once per test session in every format (the PDF
costs about a second of CPU)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from workspace import exports
from workspace.exports import (
    BulletList,
    Document,
    Fields,
    Figure,
    Heading,
    Markdown,
    PageBreak,
    Paragraph,
    Run,
    Table,
)

FOOTER = "SHA-256: 3f9a0c1be47d2a55e0c6d1f2b8a9e7c4d3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8"
SCRIPT = "<script>alert(1)</script>"
LONG_HEADER = ("Ente", "Tipo", "Importo (€)", "Data", "Ammesso", "Quota")
CARDS = 2


def long_rows() -> list[list]:
    """Enough rows to cross two pages of A4."""
    kinds = ("ODV", "APS", "Cooperativa sociale", "Comune")
    return [[f"Ente n. {i} «Città è più»", kinds[i % 4], Decimal(f"{i * 1250}.50"), date(2026, 1 + i % 12, 1 + i % 28),
             i % 3 != 0, None if i % 4 else 0.25] for i in range(1, 91)]


CHART = exports.bar_chart("Voti per bisogno", ["Solitudine degli anziani", "Abbandono scolastico", SCRIPT],
                          [42, 17, 3], category="Bisogno", unit="voti")


def sample_document() -> Document:
    return Document(
        title="Verbale della seduta n. 3 – Tavolo «Anziani»",
        subtitle="Macroarea E · Piano di Zona 2025-2027",
        organisation="Ambito territoriale di Pavia – Ufficio di Piano",
        author="Maria Rossi, facilitatrice",
        created=datetime(2026, 3, 2, 17, 45),
        footer=FOOTER,
        blocks=[
            Heading("Apertura della seduta", 1),
            Paragraph([Run("La seduta è aperta alle ore 15:00; il costo previsto è di 1.200 € "),
                       Run("a carico del Fondo", bold=True), Run(" (vedi "),
                       Run("l'avviso pubblico", italic=True, href="https://ambito.example.org/avviso?n=1&x=2"),
                       Run(").")]),
            Paragraph(SCRIPT),
            Paragraph([Run("Un collegamento non sicuro resta testo: "), Run("clic", href="javascript:alert(1)")]),
            Heading("Ordine del giorno", 2),
            BulletList(["Approvazione del verbale precedente", "Bisogni emersi «in sala»", SCRIPT]),
            BulletList(["Primo punto numerato", "Secondo punto numerato"], ordered=True),
            Heading("Contributi scritti", 2),
            Markdown("### Proposta dell'ODV\n\nServe **più** trasporto *sociale* e un "
                     "[centro diurno](https://example.org/centro).\n\n"
                     "- navetta il sabato\n- sportello\n  - nei Comuni piccoli\n\n"
                     "| Comune | Anziani soli |\n|---|---|\n| Pavia | 1.204 |\n| Vigevano | 731 |\n\n"
                     "<script>alert(1)</script> testo dopo"),
            Heading("Presenze", 1),
            Table(list(LONG_HEADER), long_rows(), caption="Registro delle presenze", widths=(4, 2.5, 2, 2, 1.7, 1.3)),
            Table(["Voce", SCRIPT], [[SCRIPT, 1], ["Totale", -2.5]], caption="Tabella con testo pericoloso"),
            *[block for n in range(1, CARDS + 1) for block in (
                PageBreak(),
                Heading(f"Scheda obiettivo {n}", 1),
                Fields([
                    ("Obiettivo", f"Ridurre l'isolamento degli anziani – n. {n}"),
                    ("Budget", Decimal("15000.00")),
                    ("Avvio", date(2026, 9, 1)),
                    ("Cofinanziato", True),
                    (SCRIPT, SCRIPT),
                    ("Descrizione", Markdown("Azioni **concrete**:\n\n- visite a domicilio\n- telefonate")),
                ], caption=f"Scheda n. {n}"),
            )],
            Heading("Esito del voto", 1),
            Figure(CHART, "Figura 1 – Voti per bisogno (seduta del 2 marzo 2026)"),
        ],
    )


@pytest.fixture(scope="session")
def document() -> Document:
    return sample_document()


@pytest.fixture(scope="session")
def rendered(document: Document) -> dict[str, bytes]:
    return {fmt: exports.render(document, fmt) for fmt in exports.DOCUMENT_FORMATS}
