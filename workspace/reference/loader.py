"""Load the official reference data (package copy in ``data/``) into the database.

Idempotent: every row is matched on its natural key (macroarea letter, LEPS id, ATS/ASST/Distretto/
Ambito code, (macroarea, position) for key points, (ambito, distretto, ASST) for Allegato C rows,
the form key for field schemas); a row is written only when a value differs, and rows that are no
longer in the data are deleted. The loader flushes but never commits: the caller owns the
transaction (``tavoli reference load`` commits, tests roll back).
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from workspace.reference.models import (
    Ambito,
    AmbitoDistretto,
    Asst,
    Ats,
    Distretto,
    FieldSchema,
    KeyPoint,
    Leps,
    Macroarea,
)

DATA_DIR = Path(__file__).resolve().parent / "data"

# Macroarea keys stored in columns, relations or other tables; everything else goes to ``details``.
_MACROAREA_COLUMN_KEYS = frozenset(
    {"code", "name_it", "name_en", "period", "status", "merged_into", "name_2021_2023_it",
     "key_points_it", "context_summary_en", "leps", "leps_ids"}
)
_LEPS_COLUMN_KEYS = frozenset({"id", "name_it", "name_en", "strategic_2025_2027"})

FIELD_SCHEMAS = {
    "scheda_obiettivo": ("scheda_obiettivo.json", "Tabella – Obiettivi della programmazione 2025-2027"),
    "esiti": ("esiti.json", "Modello resoconto esiti precedente programmazione 2021-2023"),
}

_AMBITI_COLUMNS = ("ats_code", "ats_name", "ambito_code", "ambito_name", "sioss_code", "asst_code",
                   "asst_name", "distretto_code", "distretto_name")


class ReferenceDataError(ValueError):
    """The package data contradicts itself (same code with two names, unknown LEPS id...)."""


@dataclass
class KindReport:
    """Counts for one kind of row."""

    label: str
    feminine: bool = False
    total: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    note: str | None = None  # e.g. "11 attive"

    @property
    def changes(self) -> int:
        return self.created + self.updated + self.deleted

    def line(self) -> str:
        end = "e" if self.feminine else "i"
        total = f"{self.total} ({self.note})" if self.note else str(self.total)
        return (f"{self.label}: {total} — creat{end} {self.created}, aggiornat{end} {self.updated}, "
                f"eliminat{end} {self.deleted}")


def _kinds() -> dict[str, KindReport]:
    return {
        "macroaree": KindReport("Macroaree", feminine=True),
        "key_points": KindReport("Punti chiave"),
        "leps": KindReport("LEPS"),
        "macroarea_leps": KindReport("Collegamenti macroarea–LEPS"),
        "ats": KindReport("ATS", feminine=True),
        "asst": KindReport("ASST", feminine=True),
        "distretti": KindReport("Distretti"),
        "ambiti": KindReport("Ambiti"),
        "ambito_distretto": KindReport("Righe Ambito–Distretto–ASST", feminine=True),
        "field_schemas": KindReport("Schemi di modulo"),
    }


@dataclass
class LoadReport:
    """What ``load_reference`` found and changed, per kind (``report["ambiti"].created``)."""

    kinds: dict[str, KindReport] = field(default_factory=_kinds)

    def __getitem__(self, kind: str) -> KindReport:
        return self.kinds[kind]

    @property
    def changes(self) -> int:
        return sum(k.changes for k in self.kinds.values())

    def summary(self) -> str:
        lines = [k.line() for k in self.kinds.values()]
        if self.changes:
            lines.append(f"Totale modifiche: {self.changes}")
        else:
            lines.append("Nessuna modifica: i dati di riferimento erano già aggiornati.")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------- helpers


def _read_json(name: str) -> Any:
    with (DATA_DIR / name).open(encoding="utf-8") as fh:
        return json.load(fh)


def _apply(obj: object, values: dict[str, Any]) -> bool:
    """Set the attributes that differ; True when something changed."""
    changed = False
    for attr, value in values.items():
        if getattr(obj, attr) != value:
            setattr(obj, attr, value)
            changed = True
    return changed


def _upsert(session: Session, report: KindReport, existing: dict, key, model, values: dict) -> Any:
    """Create or update one row matched on ``key`` in ``existing`` (a dict of loaded rows)."""
    obj = existing.get(key)
    if obj is None:
        obj = model(**values)
        session.add(obj)
        existing[key] = obj
        report.created += 1
    elif _apply(obj, values):
        report.updated += 1
    return obj


def _delete_missing(session: Session, report: KindReport, existing: dict, wanted: set) -> None:
    for key, obj in list(existing.items()):
        if key not in wanted:
            session.delete(obj)
            del existing[key]
            report.deleted += 1


def _one_name(seen: dict[str, Any], code: str, value: Any, what: str) -> None:
    """Record ``value`` for ``code``; the same code must always carry the same value."""
    if seen.setdefault(code, value) != value:
        raise ReferenceDataError(f"{what} {code}: valori discordanti {seen[code]!r} e {value!r}")


# ------------------------------------------------------------------------------------------ macroaree


def _load_leps(session: Session, report: LoadReport) -> tuple[dict[str, Leps], set[str]]:
    data = _read_json("leps.json")["leps"]
    existing = {row.id: row for row in session.scalars(select(Leps))}
    wanted = set()
    for position, item in enumerate(data, start=1):
        if item["id"] in wanted:
            raise ReferenceDataError(f"LEPS {item['id']} ripetuto in leps.json")
        wanted.add(item["id"])
        _upsert(session, report["leps"], existing, item["id"], Leps, {
            "id": item["id"],
            "position": position,
            "name": item["name_it"],
            "name_en": item.get("name_en"),
            "strategic": bool(item.get("strategic_2025_2027", False)),
            "details": {k: v for k, v in item.items() if k not in _LEPS_COLUMN_KEYS},
        })
    report["leps"].total = len(wanted)
    report["leps"].note = f"{sum(1 for i in data if i.get('strategic_2025_2027'))} strategici"
    return existing, wanted


def _load_macroaree(session: Session, report: LoadReport) -> None:
    data = _read_json("macroaree.json")
    leps, leps_wanted = _load_leps(session, report)
    session.flush()

    existing = {
        row.code: row
        for row in session.scalars(
            select(Macroarea).options(selectinload(Macroarea.key_points), selectinload(Macroarea.leps))
        )
    }
    codes = [item["code"] for item in data]
    if len(set(codes)) != len(codes):
        raise ReferenceDataError("macroaree.json: codici ripetuti")
    wanted = set(codes)
    # Targets of merged_into first, so a new database gets A before C.
    for item in sorted(data, key=lambda i: i.get("merged_into") is not None):
        merged_into = item.get("merged_into")
        if merged_into is not None and merged_into not in wanted:
            raise ReferenceDataError(f"Macroarea {item['code']}: confluita in {merged_into}, che non esiste")
        details = {k: v for k, v in item.items() if k not in _MACROAREA_COLUMN_KEYS}
        for key in ("leps_objectives_it", "leps_objectives_en", "possible_interventions",
                    "possible_interventions_en", "regional_measures", "notes"):
            details.setdefault(key, [])
        macroarea = _upsert(session, report["macroaree"], existing, item["code"], Macroarea, {
            "code": item["code"],
            "name": item["name_it"],
            "name_en": item["name_en"],
            "name_2021_2023": item.get("name_2021_2023_it"),
            "status": item["status"],
            "merged_into": merged_into,
            "period": item.get("period"),
            "context_summary_en": item.get("context_summary_en"),
            "details": details,
        })
        _sync_key_points(session, macroarea, item.get("key_points_it", []), report["key_points"])
        _sync_macroarea_leps(macroarea, item.get("leps_ids", []), leps, leps_wanted, report["macroarea_leps"])
    session.flush()

    for code, stale in existing.items():
        if code not in wanted:  # its key points and LEPS links go with it: count them too
            report["key_points"].deleted += len(stale.key_points)
            report["macroarea_leps"].deleted += len(stale.leps)
    _delete_missing(session, report["macroaree"], existing, wanted)
    session.flush()
    _delete_missing(session, report["leps"], leps, leps_wanted)
    session.flush()

    report["macroaree"].total = len(wanted)
    report["macroaree"].note = f"{sum(1 for i in data if i['status'] == 'active')} attive"
    report["key_points"].total = sum(len(i.get("key_points_it", [])) for i in data)
    report["macroarea_leps"].total = sum(len(set(i.get("leps_ids", []))) for i in data)


def _sync_key_points(session: Session, macroarea: Macroarea, texts: list[str], report: KindReport) -> None:
    """Key points are tagged by id elsewhere (bisogni), so keep each row's identity: match on the
    text first (a reordering only moves rows), then on the position (a corrected text keeps its row);
    only what is left is created or deleted."""
    rows = list(macroarea.key_points)
    spare_by_text: dict[str, list[KeyPoint]] = {}
    for kp in rows:
        spare_by_text.setdefault(kp.text, []).append(kp)
    assigned: dict[int, KeyPoint] = {}
    for position, text in enumerate(texts, start=1):
        if spare_by_text.get(text):
            assigned[position] = spare_by_text[text].pop(0)
    taken = {id(kp) for kp in assigned.values()}
    spare_by_position = {kp.position: kp for kp in rows if id(kp) not in taken}
    for position in range(1, len(texts) + 1):
        if position not in assigned and position in spare_by_position:
            assigned[position] = spare_by_position.pop(position)

    moving = [(pos, kp) for pos, kp in assigned.items() if kp.position != pos]
    for kp in spare_by_position.values():
        macroarea.key_points.remove(kp)  # delete-orphan
        report.deleted += 1
    for position, kp in moving:
        kp.position = -position  # out of the way of the unique (macroarea, position) index
    if moving or spare_by_position:
        session.flush()

    for position, text in enumerate(texts, start=1):
        kp = assigned.get(position)
        if kp is None:
            macroarea.key_points.append(KeyPoint(position=position, text=text))
            report.created += 1
        elif _apply(kp, {"position": position, "text": text}):
            report.updated += 1


def _sync_macroarea_leps(macroarea: Macroarea, leps_ids: list[str], leps: dict[str, Leps],
                         leps_wanted: set[str], report: KindReport) -> None:
    unknown = [i for i in leps_ids if i not in leps_wanted]
    if unknown:
        raise ReferenceDataError(f"Macroarea {macroarea.code}: LEPS sconosciuti {unknown}")
    current = {row.id for row in macroarea.leps}
    wanted = set(leps_ids)
    for leps_id in leps_ids:
        if leps_id not in current:
            macroarea.leps.append(leps[leps_id])
            current.add(leps_id)
            report.created += 1
    for row in [r for r in macroarea.leps if r.id not in wanted]:
        macroarea.leps.remove(row)
        report.deleted += 1


# ---------------------------------------------------------------------------------------- territory


def _read_ambiti_csv() -> list[dict[str, str]]:
    with (DATA_DIR / "ambiti.csv").open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = set(_AMBITI_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise ReferenceDataError(f"ambiti.csv: colonne mancanti {sorted(missing)}")
        return [{k: (row[k] or "").strip() for k in _AMBITI_COLUMNS} for row in reader]


def _load_territory(session: Session, report: LoadReport) -> None:
    rows = _read_ambiti_csv()
    ats: dict[str, str] = {}
    asst: dict[str, tuple[str, str]] = {}
    distretti: dict[str, str] = {}
    ambiti: dict[str, tuple[str, str, str]] = {}
    sioss: dict[str, str] = {}
    links: set[tuple[str, str, str]] = set()
    for row in rows:
        _one_name(ats, row["ats_code"], row["ats_name"], "ATS")
        _one_name(asst, row["asst_code"], (row["asst_name"], row["ats_code"]), "ASST")
        _one_name(distretti, row["distretto_code"], row["distretto_name"], "Distretto")
        _one_name(ambiti, row["ambito_code"], (row["ambito_name"], row["sioss_code"], row["ats_code"]),
                  "Ambito")
        _one_name(sioss, row["sioss_code"], row["ambito_code"], "Codice SIOSS")
        links.add((row["ambito_code"], row["distretto_code"], row["asst_code"]))  # duplicates collapse

    # Upserts, parents first.
    ex_ats = {r.code: r for r in session.scalars(select(Ats))}
    for code, name in ats.items():
        _upsert(session, report["ats"], ex_ats, code, Ats, {"code": code, "name": name})
    session.flush()
    ex_asst = {r.code: r for r in session.scalars(select(Asst))}
    for code, (name, ats_code) in asst.items():
        _upsert(session, report["asst"], ex_asst, code, Asst, {"code": code, "name": name, "ats_code": ats_code})
    ex_distretti = {r.code: r for r in session.scalars(select(Distretto))}
    for code, name in distretti.items():
        _upsert(session, report["distretti"], ex_distretti, code, Distretto, {"code": code, "name": name})
    ex_ambiti = {r.code: r for r in session.scalars(select(Ambito))}
    # A SIOSS code moving to another Ambito would trip the unique index mid-flush: free it first.
    for code, row in ex_ambiti.items():
        if sioss.get(row.sioss_code, code) != code:
            row.sioss_code = f"~{code}"
    session.flush()
    for code, (name, sioss_code, ats_code) in ambiti.items():
        _upsert(session, report["ambiti"], ex_ambiti, code, Ambito,
                {"code": code, "name": name, "sioss_code": sioss_code, "ats_code": ats_code})
    session.flush()
    ex_links = {(r.ambito_code, r.distretto_code, r.asst_code): r for r in session.scalars(select(AmbitoDistretto))}
    for key in sorted(links):
        _upsert(session, report["ambito_distretto"], ex_links, key, AmbitoDistretto,
                dict(zip(("ambito_code", "distretto_code", "asst_code"), key, strict=True)))
    session.flush()

    # Deletions, children first.
    _delete_missing(session, report["ambito_distretto"], ex_links, links)
    session.flush()
    _delete_missing(session, report["ambiti"], ex_ambiti, set(ambiti))
    session.flush()
    _delete_missing(session, report["distretti"], ex_distretti, set(distretti))
    _delete_missing(session, report["asst"], ex_asst, set(asst))
    session.flush()
    _delete_missing(session, report["ats"], ex_ats, set(ats))
    session.flush()

    report["ats"].total = len(ats)
    report["asst"].total = len(asst)
    report["distretti"].total = len(distretti)
    report["ambiti"].total = len(ambiti)
    report["ambito_distretto"].total = len(links)
    repeated = len(rows) - len(links)
    if repeated:
        report["ambito_distretto"].note = (
            "1 riga ripetuta nel CSV, contata una volta" if repeated == 1
            else f"{repeated} righe ripetute nel CSV, contate una volta"
        )


# ------------------------------------------------------------------------------------- field schemas


def _load_field_schemas(session: Session, report: LoadReport) -> None:
    existing = {r.key: r for r in session.scalars(select(FieldSchema))}
    for key, (filename, title) in FIELD_SCHEMAS.items():
        _upsert(session, report["field_schemas"], existing, key, FieldSchema,
                {"key": key, "title": title, "content": _read_json(filename)})
    session.flush()
    _delete_missing(session, report["field_schemas"], existing, set(FIELD_SCHEMAS))
    session.flush()
    report["field_schemas"].total = len(FIELD_SCHEMAS)


def load_reference(session: Session) -> LoadReport:
    """Bring the reference tables in line with the package data. Flushes, does not commit."""
    report = LoadReport()
    _load_macroaree(session, report)
    _load_territory(session, report)
    _load_field_schemas(session, report)
    return report
