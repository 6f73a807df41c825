"""The open data of a procedure, as CSV under CC BY 4.0, never naming a person or an organisation:

- aggregates — bisogni per macroarea, organisations at the tavoli per type, and, once the admissions
  are over, applications by outcome and admitted ETS per RUNTS section (or transitional status);
- records — every bisogno (title, macroarea, type of the proposing organisation, state), and what
  other areas add through ``signals.open_data_requested`` (the planning area: the priorities of the
  closed votes and, once published, the Ufficio di Piano's dispositions with their reasons).

Aggregate rows carry a number in ``valore``; record rows carry their fields in the record columns
(``tavolo``, ``macroarea``, ``tipo_organizzazione``, ``stato``, ``esito``, ``motivazione``) and, for
priorities, the place in ``valore``.

The descriptions are the labels of ``labels`` and ``accounts.labels``, in the language of the
request (the codes beside them do not change).
"""
from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workspace import signals
from workspace.accounts.labels import KIND_LABELS, RUNTS_LABELS
from workspace.accounts.models import ORGANISATION_KINDS, RUNTS_SECTIONS, Organisation
from workspace.db import utcnow
from workspace.exports.tables import neutralise
from workspace.needs.models import Bisogno
from workspace.procedures.labels import APPLICATION_COUNT_LABELS, TRANSITIONAL_LABELS
from workspace.procedures.models import PROCEDURE_STATUSES, Procedure
from workspace.procedures.texts import LICENSE_NAME, LICENSE_URL
from workspace.reference.models import Macroarea
from workspace.tavoli.models import TavoloMember

CSV_COLUMNS = ("procedura", "ambito", "indicatore", "codice", "descrizione", "valore", "tavolo", "macroarea",
               "tipo_organizzazione", "stato", "esito", "motivazione", "aggiornato_al", "licenza")
RECORD_COLUMNS = ("tavolo", "macroarea", "tipo_organizzazione", "stato", "esito", "motivazione")


def open_data_rows(session: Session, procedure: Procedure, now: datetime | None = None) -> list[dict[str, Any]]:
    """The aggregates, one dict per row: indicatore, codice, descrizione, valore."""
    rows: list[dict[str, Any]] = []

    def row(indicator: str, code: str, label: Any, value: int) -> None:
        rows.append({"indicatore": indicator, "codice": code, "descrizione": str(label), "valore": value})

    tavolo_ids = [t.id for t in procedure.tavoli]
    counts = dict(session.execute(
        select(Bisogno.macroarea_code, func.count(Bisogno.id))
        .where(Bisogno.tavolo_id.in_(tavolo_ids), Bisogno.status.not_in(("ritirato", "accorpato")))
        .group_by(Bisogno.macroarea_code)
    ).all()) if tavolo_ids else {}
    codes = sorted({m.code for t in procedure.tavoli for m in t.macroaree} | set(counts))
    names = dict(session.execute(select(Macroarea.code, Macroarea.name).where(Macroarea.code.in_(codes)))
                 .all())
    for code in codes:
        row("bisogni_per_macroarea", code, names.get(code, code), int(counts.get(code, 0)))

    kinds = dict(session.execute(
        select(Organisation.kind, func.count(func.distinct(Organisation.id)))
        .join(TavoloMember, TavoloMember.organisation_id == Organisation.id)
        .where(TavoloMember.tavolo_id.in_(tavolo_ids)).group_by(Organisation.kind)
    ).all()) if tavolo_ids else {}
    for kind in ORGANISATION_KINDS:
        if kind in kinds:
            row("organizzazioni_ai_tavoli_per_tipo", kind, KIND_LABELS[kind], int(kinds[kind]))

    if PROCEDURE_STATUSES.index(procedure.status) >= PROCEDURE_STATUSES.index("tavoli_in_corso"):
        outcome = {s: 0 for s in ("submitted", "admitted", "excluded")}
        sections: dict[str, int] = {}
        for application in procedure.applications:
            outcome[application.status] += 1
            if application.status == "admitted" and application.organisation_kind == "ets":
                key = application.transitional_status or application.runts_section or "altri_ets"
                sections[key] = sections.get(key, 0) + 1
        row("candidature", "ricevute", APPLICATION_COUNT_LABELS["ricevute"], len(procedure.applications))
        row("candidature", "ammesse", APPLICATION_COUNT_LABELS["ammesse"], outcome["admitted"])
        row("candidature", "escluse", APPLICATION_COUNT_LABELS["escluse"], outcome["excluded"])
        for key in (*RUNTS_SECTIONS, *TRANSITIONAL_LABELS):
            if key in sections:
                label = RUNTS_LABELS.get(key) or TRANSITIONAL_LABELS.get(key)
                row("ets_ammessi_per_sezione_runts", key, label, sections[key])

    if tavolo_ids:
        titles = {t.id: t.title for t in procedure.tavoli}
        bisogni = session.execute(
            select(Bisogno.id, Bisogno.tavolo_id, Bisogno.title, Bisogno.macroarea_code, Bisogno.status,
                   Organisation.kind)
            .outerjoin(Organisation, Organisation.id == Bisogno.organisation_id)
            .where(Bisogno.tavolo_id.in_(tavolo_ids)).order_by(Bisogno.id)).all()
        for bid, tavolo_id, title, code, status, kind in bisogni:
            rows.append({"indicatore": "bisogno", "codice": str(bid), "descrizione": title, "valore": None,
                         "tavolo": titles.get(tavolo_id, ""), "macroarea": code, "tipo_organizzazione": kind or "",
                         "stato": status})
    for _key, extra in sorted(signals.collect(signals.open_data_requested, session, procedure=procedure).items()):
        rows.extend(extra)
    return rows


def open_data_csv(session: Session, procedure: Procedure, now: datetime | None = None) -> bytes:
    """The aggregates as CSV: UTF-8 with BOM (Excel reads the accents), RFC 4180, formulas
    neutralised, the licence (CC BY 4.0) on every row so it travels with any extract."""
    now = now or utcnow()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    stamp = now.replace(microsecond=0).isoformat()
    for r in open_data_rows(session, procedure, now):
        writer.writerow([neutralise(v) for v in (
            procedure.id, procedure.ambito_code, r["indicatore"], r["codice"], r["descrizione"],
            "" if r["valore"] is None else r["valore"], *(r.get(k) or "" for k in RECORD_COLUMNS),
            stamp, f"{LICENSE_NAME} {LICENSE_URL}")])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
