"""The *Tabella Esiti* of a procedure in every export format, from one description.

- Tables (``sheet``): one row per objective, the columns of ``service.COLUMNS`` (computed
  percentages rounded to two decimals, bands as printed) → CSV (UTF-8 with BOM, ``;``), XLSX, ODS,
  JSON; text cells neutralised against formula injection by ``workspace.exports``.
- Documents (``build``): a summary table, then one *Tabella Esiti* per objective on its own page,
  laid out as the official model (DIMENSIONE / OUTPUT, the 8 official labels as printed) → PDF/A,
  ODT, DOCX, HTML.

Documents are Italian whatever the reader's interface language: they are official records.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workspace import exports
from workspace.esiti import scale, service
from workspace.esiti.models import PreviousObjective
from workspace.exports import Fields, Heading, PageBreak, Paragraph, Table
from workspace.procedures.models import Procedure

TABLE_FORMATS = ("csv", "xlsx", "ods", "json")
DOCUMENT_FORMATS = ("pdf", "odt", "docx")
FORMATS = DOCUMENT_FORMATS + TABLE_FORMATS
TITLE = "Resoconto esiti della precedente programmazione 2021-2023"


def sheet(objectives: Sequence[PreviousObjective]) -> exports.Sheet:
    columns = [exports.Column(c.key, c.header) for c in service.COLUMNS]
    return exports.Sheet("Esiti 2021-2023", columns, [service.row_values(o) for o in objectives])


def _pct(rate: scale.Rate | None) -> str:
    return exports.format_value(rate.shown) + " %" if rate else "—"


def _achievement(o: PreviousObjective) -> str:
    rate = o.achievement
    if rate is None:
        return "Non calcolabile: mancano le azioni programmate o realizzate."
    return (f"{_pct(rate)} – {service.band_text(rate)} "
            f"({o.actions_done} azioni realizzate su {o.actions_programmed} programmate)")


def _budget(o: PreviousObjective) -> str:
    rate = o.budget
    if rate is None:
        return "Non calcolabile: mancano le risorse preventivate o quelle impegnate/liquidate."
    return (f"{_pct(rate)} – {service.band_text(rate)} "
            f"(pagato {exports.format_value(o.budget_paid)} € su {exports.format_value(o.budget_planned)} € "
            "preventivati)")


def _answer(answer: str | None, reason: str = "") -> str:
    if not answer:
        return "—"
    return f"{answer} – {reason}" if reason else answer


def dimensions(o: PreviousObjective) -> list[tuple[str, str]]:
    """The 8 official dimensions of one objective (label as printed → output), in the official order."""
    output = {
        "achievement_rate": _achievement(o),
        "user_evaluation": o.user_evaluation or "—",
        "resource_adequacy": o.resource_adequacy or "—",
        "budget_execution_rate": _budget(o),
        "critical_issues": o.critical_issues or "—",
        "need_addressed_positive_change": _answer(o.need_addressed, o.need_addressed_reason),
        "continuity_with_2018_2020": _answer(o.continuity),
        "to_be_reproposed_2025_2027": _answer(o.reproposed, o.reproposed_reason),
    }
    return [(field["label_it"], output[key]) for key, field in scale.fields().items()]


def build(procedure: Procedure, objectives: Sequence[PreviousObjective]) -> exports.Document:
    blocks: list[Any] = [
        Paragraph(f"Procedura: {procedure.title} · Ambito {procedure.ambito_code}. Modello: DGR XII/2167 del "
                  "15/04/2024, Allegato B, «Modello resoconto esiti precedente programmazione 2021-2023», "
                  + scale.model()["instruction_it"] + "."),
        Paragraph("Percentuali calcolate con le formule ufficiali e arrotondate a due decimali. La fascia si "
                  "attribuisce sul valore esatto: si raggiunge una fascia solo toccandone il limite inferiore "
                  "(49,5 % è insufficiente, 99,9 % è buono); 0 % (nullo) è solo lo zero esatto; oltre il 100 % "
                  "il grado di raggiungimento è ottimo, «oltre il programmato»."),
    ]
    if not objectives:
        blocks.append(Paragraph("Nessun obiettivo della precedente programmazione è stato inserito."))
    else:
        blocks.append(Heading("Riepilogo"))
        blocks.append(Table(
            ["N.", "Obiettivo", "Raggiungimento", "Fascia", "Coincidenza risorse", "Fascia", "Riproposto"],
            [[o.position, o.title, _pct(o.achievement), service.band_text(o.achievement) or "—", _pct(o.budget),
              service.band_text(o.budget) or "—", o.reproposed or "—"] for o in objectives],
            widths=(1, 6, 2, 3, 2, 3, 2)))
        for o in objectives:
            blocks.append(PageBreak())
            blocks.append(Heading(f"Obiettivo n. {o.position}: {o.title}"))
            if o.macroarea:
                blocks.append(Paragraph(f"Macroarea o area di policy 2021-2023: {o.macroarea}"))
            blocks.append(Fields(dimensions(o), caption="DIMENSIONE / OUTPUT"))
    return exports.Document(TITLE, blocks, subtitle=f"{procedure.title} – Ambito {procedure.ambito_code}",
                            organisation="Ufficio di Piano", footer=f"Tavoli · procedura n. {procedure.id} · esiti "
                            "2021-2023")


def render(procedure: Procedure, objectives: Sequence[PreviousObjective], fmt: str) -> bytes:
    """The table in ``fmt`` (any of ``FORMATS``; anything else is the usual 422 refusal)."""
    name = exports.check_format(fmt, FORMATS).name
    if name in TABLE_FORMATS:
        return exports.render_table(sheet(objectives), name, TABLE_FORMATS)
    return exports.render(build(procedure, objectives), name, DOCUMENT_FORMATS)


def stem(procedure: Procedure) -> str:
    return f"esiti-2021-2023-procedura-{procedure.id}"
