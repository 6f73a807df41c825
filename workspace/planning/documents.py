"""Priorities and schede obiettivo in every export format, from one description each.

- priorities: one ``Sheet`` (one row per ranked bisogno of every closed round, with its disposition)
  → CSV / XLSX / ODS / JSON;
- cards: one ``Sheet`` (one row per card, one column per official field, labels exactly as in the
  DGR) → CSV / XLSX / ODS; a JSON document following ``docs/schede-obiettivo.schema.json``; a
  ``Document`` (one card per page, the official two-column table) → ODT / DOCX / PDF/A;
- the objectives section of the Documento di Piano (format section 6) as one ODT / DOCX.

Scope: the whole procedure, one tavolo or one macroarea (``Scope``). ``public=True`` keeps only
what the procedure has published (dispositions once published, cards "pronta"), without names.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workspace import exports
from workspace.db import utcnow
from workspace.planning import schema, service
from workspace.planning.labels import OUTCOME_LABELS_IT
from workspace.planning.models import Scheda
from workspace.procedures.models import Procedure
from workspace.reference.loader import DATA_DIR
from workspace.reference.models import Macroarea

PRIORITY_FORMATS = ("csv", "xlsx", "ods", "json")
SCHEDE_FORMATS = ("odt", "docx", "pdf", "xlsx", "ods", "csv", "json")
OBIETTIVI_FORMATS = ("odt", "docx")
SCHEMA_VERSION = "1.0"

PRIORITY_COLUMNS = (
    exports.Column("procedura_id", "Procedura"),
    exports.Column("tavolo_id", "Tavolo (id)"),
    exports.Column("tavolo", "Tavolo"),
    exports.Column("votazione_id", "Votazione (id)"),
    exports.Column("votazione", "Votazione"),
    exports.Column("metodo", "Metodo"),
    exports.Column("chiusa_il", "Chiusa il"),
    exports.Column("votanti", "Votanti"),
    exports.Column("aventi_diritto", "Aventi diritto"),
    exports.Column("affluenza_percento", "Affluenza %"),
    exports.Column("schede_ets", "Schede ETS"),
    exports.Column("schede_enti_pubblici", "Schede enti pubblici"),
    exports.Column("schede_altri", "Schede altri soggetti"),
    exports.Column("posizione", "Posizione"),
    exports.Column("bisogno_id", "Bisogno (id)"),
    exports.Column("bisogno", "Bisogno"),
    exports.Column("macroarea", "Macroarea"),
    exports.Column("punteggio", "Punteggio"),
    exports.Column("esito", "Disposizione"),
    exports.Column("motivazione", "Motivazione"),
    exports.Column("deciso_da", "Decisa da"),
    exports.Column("deciso_il", "Decisa il"),
)


@dataclass(frozen=True)
class Scope:
    """What to export: the whole procedure, one of its tavoli, or one macroarea."""

    tavolo_id: int | None = None
    macroarea: str | None = None

    def label(self) -> str:
        if self.tavolo_id is not None:
            return f"tavolo {self.tavolo_id}"
        if self.macroarea:
            return f"macroarea {self.macroarea}"
        return "procedura"

    def stem(self) -> str:
        if self.tavolo_id is not None:
            return f"-tavolo-{self.tavolo_id}"
        if self.macroarea:
            return f"-macroarea-{self.macroarea}"
        return ""


def _names(session: Session) -> dict[str, str]:
    return dict(session.execute(select(Macroarea.code, Macroarea.name)).all())


def _score(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# --------------------------------------------------------------------------- priorities


def priority_rows(session: Session, procedure: Procedure, scope: Scope = Scope(),
                  public: bool = False) -> list[dict[str, Any]]:
    show_dispositions = not public or service.is_published(session, procedure.id)
    rows: list[dict[str, Any]] = []
    tavoli = [t for t in procedure.tavoli if scope.tavolo_id is None or t.id == scope.tavolo_id]
    for tavolo in sorted(tavoli, key=lambda t: t.id):
        dispositions = {d.bisogno_id: d for d in service.dispositions_of(session, tavolo_id=tavolo.id)}
        for vote in service.closed_rounds(session, tavolo.id):
            data = service.round_priorities(vote)
            bisogni = {i.bisogno_id: i for i in vote.items}
            macroaree = service.macroaree_of(session, list(bisogni))
            turnout = data["turnout"] or {}
            breakdown = data["breakdown"] or {}
            for row in data["ranking"]:
                code = macroaree.get(row["bisogno_id"])
                if scope.macroarea and code != scope.macroarea:
                    continue
                d = dispositions.get(row["bisogno_id"]) if show_dispositions else None
                rows.append({
                    "procedura_id": procedure.id, "tavolo_id": tavolo.id, "tavolo": tavolo.title,
                    "votazione_id": vote.id, "votazione": vote.title, "metodo": vote.method,
                    "chiusa_il": vote.closed_at.replace(microsecond=0) if vote.closed_at else None,
                    "votanti": turnout.get("voted"), "aventi_diritto": turnout.get("eligible"),
                    "affluenza_percento": _score(turnout.get("percent")),
                    "schede_ets": (breakdown.get("ets") or {}).get("ballots"),
                    "schede_enti_pubblici": (breakdown.get("pubblico") or {}).get("ballots"),
                    "schede_altri": (breakdown.get("altri") or {}).get("ballots"),
                    "posizione": row["place"], "bisogno_id": row["bisogno_id"], "bisogno": row["title"],
                    "macroarea": code, "punteggio": _score(row["score"]),
                    "esito": OUTCOME_LABELS_IT[d.outcome] if d else None,
                    "motivazione": d.reason if d else None,
                    "deciso_da": (d.decided_by.name if d and d.decided_by and not public else None),
                    "deciso_il": d.decided_at.replace(microsecond=0) if d else None,
                })
    return rows


def priority_sheet(session: Session, procedure: Procedure, scope: Scope = Scope(), public: bool = False) -> exports.Sheet:
    return exports.Sheet("Priorità", PRIORITY_COLUMNS, priority_rows(session, procedure, scope, public))


def priorities_bytes(session: Session, procedure: Procedure, fmt: str, scope: Scope = Scope()) -> bytes:
    name = exports.check_format(fmt, PRIORITY_FORMATS).name
    return exports.render_table(priority_sheet(session, procedure, scope), name, PRIORITY_FORMATS)


# --------------------------------------------------------------------------- cards


def cards(session: Session, procedure: Procedure, scope: Scope = Scope(), public: bool = False) -> list[Scheda]:
    return service.schede_of(session, procedure.id, tavolo_id=scope.tavolo_id, macroarea=scope.macroarea,
                             ready_only=public)


def card_columns() -> list[exports.Column]:
    head = [exports.Column("scheda_id", "Scheda (id)"), exports.Column("macroarea_principale", "Macroarea principale"),
            exports.Column("leps", "LEPS collegati"), exports.Column("bisogni", "Bisogni (id)"),
            exports.Column("stato", "Stato"), exports.Column("versione", "Versione")]
    return head + [exports.Column(f["id"], f["label_it"]) for f in schema.fields()]


def card_row(scheda: Scheda, names: dict[str, str]) -> dict[str, Any]:
    row: dict[str, Any] = {
        "scheda_id": scheda.id,
        "macroarea_principale": f"{scheda.macroarea_code} – {names.get(scheda.macroarea_code, '')}",
        "leps": "; ".join(leps.id for leps in scheda.leps) or None,
        "bisogni": "; ".join(str(b.id) for b in scheda.bisogni),
        "stato": scheda.status,
        "versione": scheda.version,
    }
    for f in schema.fields():
        row[f["id"]] = schema.display(f, (scheda.values or {}).get(f["id"]), names) or None
    return row


def card_sheet(session: Session, procedure: Procedure, scope: Scope = Scope(), public: bool = False) -> exports.Sheet:
    names = _names(session)
    return exports.Sheet("Schede obiettivo", card_columns(),
                         [card_row(s, names) for s in cards(session, procedure, scope, public)])


def cards_json(session: Session, procedure: Procedure, scope: Scope = Scope(), public: bool = False,
               now: datetime | None = None) -> dict[str, Any]:
    """The JSON export (docs/schede-obiettivo.schema.json)."""
    names = _names(session)
    out = []
    for s in cards(session, procedure, scope, public):
        out.append({
            "id": s.id, "title": s.title, "status": s.status, "version": s.version,
            "macroarea": {"code": s.macroarea_code, "name": names.get(s.macroarea_code, "")},
            "leps": [{"id": leps.id, "name": leps.name} for leps in s.leps],
            "bisogni": [{"id": b.id, "title": b.title, "tavolo_id": b.tavolo_id} for b in s.bisogni],
            "updated_at": s.updated_at.replace(microsecond=0).isoformat(),
            "fields": [{"order": f["order"], "id": f["id"], "label_it": f["label_it"], "type": f["type"],
                        "value": (s.values or {}).get(f["id"]),
                        "text": schema.display(f, (s.values or {}).get(f["id"]), names)} for f in schema.fields()],
        })
    return {"schema_version": SCHEMA_VERSION, "procedure_id": procedure.id, "scope": scope.label(),
            "generated_at": (now or utcnow()).replace(microsecond=0).isoformat(), "schede": out}


def _card_blocks(session: Session, scheda: Scheda, names: dict[str, str]) -> list[Any]:
    blocks: list[Any] = [
        exports.Heading(scheda.title, 1),
        exports.Paragraph([exports.Run("Macroarea principale: ", bold=True),
                           exports.Run(f"{scheda.macroarea_code} – {names.get(scheda.macroarea_code, '')}")]),
        exports.Paragraph([exports.Run("LEPS collegati: ", bold=True),
                           exports.Run("; ".join(f"{leps.id} – {leps.name}" for leps in scheda.leps) or "—")]),
        exports.Paragraph([exports.Run("Bisogni a cui risponde: ", bold=True),
                           exports.Run("; ".join(f"{b.title} (n. {b.id})" for b in scheda.bisogni))]),
    ]
    if scheda.contributors:
        blocks.append(exports.Paragraph([exports.Run("ETS che hanno contribuito: ", bold=True), exports.Run("; ".join(
            c.get("name", "") + (" (ha offerto risorse)" if c.get("resources") else "") for c in scheda.contributors))]))
    verbali = co_programming_note(session, scheda)
    items: list[tuple[str, Any]] = []
    for f in schema.fields():
        text = schema.display(f, (scheda.values or {}).get(f["id"]), names) or "—"
        if f["id"] == "formally_co_programmed_with_ets" and text == "SI" and verbali:
            text = f"SI – {verbali}"
        items.append((f["label_it"], text))
    blocks.append(exports.Fields(items, caption="Tabella – Obiettivi della programmazione 2025-2027"))
    return blocks


def co_programming_note(session: Session, scheda: Scheda) -> str:
    """The approved verbali where the card's bisogni were discussed, as the card cites them."""
    found = service.approved_verbali_for(session, scheda.bisogni)
    if not found:
        return ""
    return "verbali approvati: " + "; ".join(
        f"n. {v['verbale_id']} (tavolo {v['tavolo_id']}, approvato il {v['approved_at'][:10]})" if v["approved_at"]
        else f"n. {v['verbale_id']} (tavolo {v['tavolo_id']})" for v in found)


def cards_document(session: Session, procedure: Procedure, scope: Scope = Scope(), public: bool = False,
                   title: str | None = None) -> exports.Document:
    names = _names(session)
    blocks: list[Any] = []
    for n, scheda in enumerate(cards(session, procedure, scope, public)):
        if n:
            blocks.append(exports.PageBreak())
        blocks.extend(_card_blocks(session, scheda, names))
    if not blocks:
        blocks.append(exports.Paragraph("Nessuna scheda obiettivo."))
    return exports.Document(title or "Schede obiettivo – programmazione 2025-2027", blocks=blocks,
                            subtitle=procedure.title, organisation=f"Ambito {procedure.ambito_code}",
                            created=utcnow(), footer=f"Procedura n. {procedure.id}")


def schede_bytes(session: Session, procedure: Procedure, fmt: str, scope: Scope = Scope(),
                 public: bool = False) -> bytes:
    name = exports.check_format(fmt, SCHEDE_FORMATS).name
    if name == "json":
        return (json.dumps(cards_json(session, procedure, scope, public), ensure_ascii=False, indent=2)
                + "\n").encode("utf-8")
    if name in ("csv", "xlsx", "ods"):
        return exports.render_table(card_sheet(session, procedure, scope, public), name)
    return exports.render(cards_document(session, procedure, scope, public), name, SCHEDE_FORMATS)


# --------------------------------------------------------------------------- Documento di Piano, section 6


def _section_6() -> dict[str, Any]:
    with (DATA_DIR / "documento_di_piano.json").open(encoding="utf-8") as fh:
        sections = json.load(fh)["format_sections"]
    return next(s for s in sections if s["order"] == 6)


def obiettivi_document(session: Session, procedure: Procedure) -> exports.Document:
    """Section 6 of the Documento di Piano: the Ambito's objectives and those linked to the LEPS,
    by macroarea, each card as the official table."""
    section = _section_6()
    names = _names(session)
    schede = service.schede_of(session, procedure.id)
    title = f"6. {section['title_it'][0].upper()}{section['title_it'][1:]}"
    blocks: list[Any] = [exports.Paragraph(section["text_it"])]
    groups = (("Obiettivi connessi alla realizzazione dei LEPS", [s for s in schede if s.leps]),
              ("Obiettivi del singolo Ambito", [s for s in schede if not s.leps]))
    for heading, group in groups:
        blocks.append(exports.Heading(heading, 1))
        if not group:
            blocks.append(exports.Paragraph("Nessun obiettivo."))
        for code in sorted({s.macroarea_code for s in group}):
            blocks.append(exports.Heading(f"Macroarea {code} – {names.get(code, '')}", 2))
            for scheda in [s for s in group if s.macroarea_code == code]:
                card = _card_blocks(session, scheda, names)
                blocks.append(exports.Heading(scheda.title, 3))
                blocks.extend(card[1:])
    return exports.Document(title, blocks=blocks, subtitle=procedure.title, organisation=f"Ambito {procedure.ambito_code}",
                            created=utcnow(), footer="Documento di Piano 2025-2027 – sezione 6")


def obiettivi_bytes(session: Session, procedure: Procedure, fmt: str) -> bytes:
    name = exports.check_format(fmt, OBIETTIVI_FORMATS).name
    return exports.render(obiettivi_document(session, procedure), name, OBIETTIVI_FORMATS)
