"""Priorities, dispositions and schede obiettivo: the Ufficio di Piano's side of a procedure.

Reads the other areas through their services (closed vote rounds from ``workspace.voting``,
approved verbali from ``workspace.minutes``, bisogni from ``workspace.needs``). Every write checks
permission inside (the procedure's RUP or an administrator: ``procedures.permissions.can_manage``),
validates before touching the session (a refusal writes nothing), goes on the tavolo's numbered
record when it concerns a tavolo, and announces itself to the audit trail
(``signals.action_recorded``) in the same transaction. The caller commits.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from workspace import record, signals
from workspace.accounts.models import User
from workspace.db import utcnow
from workspace.i18n import gettext as _
from workspace.ids import parse_ids
from workspace.minutes import service as minutes_service
from workspace.needs.models import Annotation, Bisogno
from workspace.planning import schema
from workspace.planning.models import (
    OUTCOMES,
    Disposition,
    PlanningPublication,
    Scheda,
    SchedaVersion,
    scheda_bisogno,
)
from workspace.problems import Problem, conflict, forbidden, invalid_fields, not_found
from workspace.procedures import permissions as procedure_permissions
from workspace.procedures.models import Procedure
from workspace.reference.models import KeyPoint, Leps, Macroarea
from workspace.tavoli import permissions as tavolo_permissions
from workspace.tavoli.models import Tavolo, TavoloMember
from workspace.voting import payloads as vote_payloads
from workspace.voting import rounds as vote_rounds
from workspace.voting.models import VoteRound

REASON_LIMIT = 10_000
TEXT_LIMIT = 20_000


# --- permissions ------------------------------------------------------------------------------------


def can_manage(user: User | None, procedure: Procedure) -> bool:
    """The Ufficio di Piano: the procedure's RUP or an administrator."""
    return procedure_permissions.can_manage(user, procedure)


def require_manage(user: User | None, procedure: Procedure) -> None:
    if not can_manage(user, procedure):
        raise forbidden(_("Solo l'Ufficio di Piano (il responsabile del procedimento o un amministratore) può "
                          "decidere sulle priorità e redigere le schede obiettivo."))


def can_read_tavolo(session: Session, user: User | None, tavolo: Tavolo) -> bool:
    return tavolo_permissions.can(session, user, "view", tavolo.id) or can_manage(user, tavolo.procedure)


def require_read_tavolo(session: Session, user: User | None, tavolo: Tavolo) -> None:
    if not can_read_tavolo(session, user, tavolo):
        tavolo_permissions.require(session, user, "view", tavolo.id)


def can_read_procedure(session: Session, user: User | None, procedure: Procedure) -> bool:
    """The Ufficio di Piano, or anyone sitting at one of the procedure's tavoli."""
    if can_manage(user, procedure):
        return True
    return any(tavolo_permissions.can(session, user, "view", t.id) for t in procedure.tavoli)


def require_read_procedure(session: Session, user: User | None, procedure: Procedure) -> None:
    if not can_read_procedure(session, user, procedure):
        raise forbidden(_("Non fai parte dei tavoli di questa procedura."))


def readable_tavoli(session: Session, user: User | None, procedure: Procedure) -> set[int]:
    """The procedure's tavoli whose priorities and cards ``user`` may read: all of them for the
    Ufficio di Piano, the ones they sit at for everybody else (other tavoli's votes are theirs until
    the procedure publishes them)."""
    if can_manage(user, procedure):
        return {t.id for t in procedure.tavoli}
    return {t.id for t in procedure.tavoli if tavolo_permissions.can(session, user, "view", t.id)}


def require_read_scheda(session: Session, user: User | None, scheda: Scheda) -> None:
    procedure = get_procedure(session, scheda.procedure_id)
    readable = readable_tavoli(session, user, procedure)
    if not readable & ({b.tavolo_id for b in scheda.bisogni} | {scheda.tavolo_id}):
        raise forbidden(_("La scheda risponde a bisogni di tavoli di cui non fai parte."))


# --- lookups ----------------------------------------------------------------------------------------


def get_procedure(session: Session, procedure_id: int) -> Procedure:
    procedure = session.get(Procedure, procedure_id)
    if procedure is None:
        raise not_found(_("Procedura inesistente."))
    return procedure


def get_tavolo(session: Session, tavolo_id: int) -> Tavolo:
    tavolo = session.get(Tavolo, tavolo_id)
    if tavolo is None:
        raise not_found(_("Tavolo inesistente."))
    return tavolo


def get_scheda(session: Session, scheda_id: int, procedure_id: int | None = None) -> Scheda:
    scheda = session.get(Scheda, scheda_id)
    if scheda is None or (procedure_id is not None and scheda.procedure_id != procedure_id):
        raise not_found(_("Scheda obiettivo inesistente."))
    return scheda


def publication(session: Session, procedure_id: int) -> PlanningPublication | None:
    return session.get(PlanningPublication, procedure_id)


def is_published(session: Session, procedure_id: int) -> bool:
    return publication(session, procedure_id) is not None


# --- priorities -------------------------------------------------------------------------------------


def closed_rounds(session: Session, tavolo_id: int) -> list[VoteRound]:
    """The tavolo's closed vote rounds, most recently closed first."""
    rounds = [r for r in vote_rounds.rounds_of(session, tavolo_id) if r.status == "closed" and r.result]
    return sorted(rounds, key=lambda r: (r.closed_at or r.created_at, r.id), reverse=True)


def round_priorities(vote: VoteRound) -> dict[str, Any]:
    """One closed round as agreed priorities: ranking, method, turnout, breakdown by organisation type."""
    result = vote.result or {}
    return {
        "round_id": vote.id,
        "tavolo_id": vote.tavolo_id,
        "title": vote.title,
        "method": vote.method,
        "secret": vote.secret,
        "closed_at": vote.closed_at.isoformat() if vote.closed_at else None,
        "ballots": result.get("ballots"),
        "turnout": result.get("turnout"),
        "breakdown": result.get("breakdown"),
        "ranking": vote_payloads.ranking_rows(vote, result.get("tally"), vote.tie_break),
    }


def prioritised(session: Session, tavolo_id: int) -> dict[int, tuple[VoteRound, int]]:
    """bisogno id -> (round, place) from the most recently closed round that ranked it."""
    out: dict[int, tuple[VoteRound, int]] = {}
    for vote in closed_rounds(session, tavolo_id):
        for row in round_priorities(vote)["ranking"]:
            out.setdefault(row["bisogno_id"], (vote, row["place"]))
    return out


def macroaree_of(session: Session, bisogno_ids: list[int]) -> dict[int, str]:
    """bisogno id -> its macroarea code."""
    if not bisogno_ids:
        return {}
    return dict(session.execute(select(Bisogno.id, Bisogno.macroarea_code).where(Bisogno.id.in_(bisogno_ids))).all())


def dispositions_of(session: Session, *, procedure_id: int | None = None, tavolo_id: int | None = None,
                    bisogno_ids: Iterable[int] | None = None) -> list[Disposition]:
    stmt = select(Disposition).options(selectinload(Disposition.bisogno), selectinload(Disposition.decided_by))
    if procedure_id is not None:
        stmt = stmt.where(Disposition.procedure_id == procedure_id)
    if tavolo_id is not None:
        stmt = stmt.where(Disposition.tavolo_id == tavolo_id)
    if bisogno_ids is not None:
        stmt = stmt.where(Disposition.bisogno_id.in_(list(bisogno_ids)))
    return list(session.scalars(stmt.order_by(Disposition.tavolo_id, Disposition.place, Disposition.id)))


def disposition_of(session: Session, bisogno_id: int) -> Disposition | None:
    return session.scalar(select(Disposition).where(Disposition.bisogno_id == bisogno_id))


def disposition_dict(d: Disposition, with_names: bool = True) -> dict[str, Any]:
    return {
        "id": d.id,
        "bisogno_id": d.bisogno_id,
        "tavolo_id": d.tavolo_id,
        "round_id": d.round_id,
        "place": d.place,
        "outcome": d.outcome,
        "reason": d.reason,
        "decided_by": (d.decided_by.name if d.decided_by else None) if with_names else None,
        "decided_at": d.decided_at.isoformat(),
        "version": d.version,
    }


def tavolo_priorities(session: Session, tavolo: Tavolo) -> dict[str, Any]:
    """Everything the priorities page shows for a tavolo: its closed rounds as rankings, and per
    prioritised bisogno the disposition (or None)."""
    rounds = [round_priorities(v) for v in closed_rounds(session, tavolo.id)]
    dispositions = {d.bisogno_id: d for d in dispositions_of(session, tavolo_id=tavolo.id)}
    for r in rounds:
        for row in r["ranking"]:
            d = dispositions.get(row["bisogno_id"])
            row["disposition"] = disposition_dict(d) if d else None
    return {"tavolo_id": tavolo.id, "rounds": rounds}


def record_disposition(session: Session, actor: User, bisogno_id: int, outcome: Any, reason: Any,
                       now: datetime | None = None) -> Disposition:
    """Record (or change) the administration's disposition on a prioritised bisogno."""
    bisogno = session.get(Bisogno, bisogno_id)
    if bisogno is None:
        raise not_found(_("Bisogno inesistente."))
    tavolo = get_tavolo(session, bisogno.tavolo_id)
    require_manage(actor, tavolo.procedure)
    errors: dict[str, str] = {}
    if outcome not in OUTCOMES:
        errors["outcome"] = _("Indicare l'esito: accolto, parzialmente accolto o non accolto.")
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        errors["reason"] = _("La motivazione è obbligatoria.")
    elif len(reason) > REASON_LIMIT:
        errors["reason"] = _("La motivazione supera i %(n)s caratteri.", n=REASON_LIMIT)
    if errors:
        raise invalid_fields(errors)
    found = prioritised(session, tavolo.id).get(bisogno.id)
    if found is None:
        raise conflict(_("Il bisogno non è in nessuna graduatoria di una votazione chiusa: la disposizione si dà "
                         "sulle priorità votate."))
    vote, place = found
    now = now or utcnow()
    disposition = disposition_of(session, bisogno.id)
    change = "created"
    if disposition is None:
        disposition = Disposition(procedure_id=tavolo.procedure_id, tavolo_id=tavolo.id, bisogno_id=bisogno.id,
                                  version=1)
        session.add(disposition)
    else:
        change = "changed"
        disposition.version += 1
    disposition.round_id, disposition.place = vote.id, place
    disposition.outcome, disposition.reason = outcome, reason
    disposition.decided_by_id, disposition.decided_at = actor.id, now
    session.flush()
    payload = {"bisogno_id": bisogno.id, "round_id": vote.id, "place": place, "outcome": outcome,
               "reason": reason, "version": disposition.version}
    record.append(session, tavolo.id, "disposition.recorded", payload, actor.id)
    signals.action_recorded.send(session, actor=actor, action=f"disposition.{change}", object_type="bisogno",
                                 object_id=bisogno.id, details={"tavolo_id": tavolo.id, "outcome": outcome,
                                                                "version": disposition.version})
    return disposition


def publish(session: Session, actor: User, procedure: Procedure, now: datetime | None = None) -> PlanningPublication:
    """Make the procedure's priorities, dispositions and "pronta" cards public."""
    require_manage(actor, procedure)
    if not procedure_permissions.avviso_out(procedure):
        raise conflict(_("La procedura è ancora in bozza: pubblicare prima l'avviso."))
    found = publication(session, procedure.id)
    if found is not None:
        return found
    found = PlanningPublication(procedure_id=procedure.id, published_at=now or utcnow(), published_by_id=actor.id)
    session.add(found)
    session.flush()
    signals.action_recorded.send(session, actor=actor, action="planning.published", object_type="procedure",
                                 object_id=procedure.id, details={})
    return found


# --- schede obiettivo: prefill ----------------------------------------------------------------------


def _official_key_points(session: Session, codes: Iterable[str]) -> dict[str, set[str]]:
    """Official key point texts per macroarea code."""
    rows = session.execute(select(KeyPoint.macroarea_code, KeyPoint.text)
                           .where(KeyPoint.macroarea_code.in_(list(codes)))).all()
    out: dict[str, set[str]] = {}
    for code, text in rows:
        out.setdefault(code, set()).add(text)
    return out


def approved_verbali_for(session: Session, bisogni: Iterable[Bisogno]) -> list[dict[str, Any]]:
    """The approved verbali where these bisogni were discussed (their generated content names them),
    read through the minutes' service."""
    wanted = {b.id for b in bisogni}
    tavoli = {b.tavolo_id for b in bisogni}
    out = []
    for tavolo_id in sorted(tavoli):
        for verbale in minutes_service.verbali_of_tavolo(session, tavolo_id):
            if not verbale.approved:
                continue
            mentioned = _bisogno_ids_in(verbale.content or verbale.generated or {})
            hits = sorted(mentioned & wanted)
            if hits:
                out.append({"verbale_id": verbale.id, "tavolo_id": verbale.tavolo_id, "seduta_id": verbale.seduta_id,
                            "approved_at": verbale.approved_at.isoformat() if verbale.approved_at else None,
                            "bisogni": hits})
    return out


def _bisogno_ids_in(data: Any) -> set[int]:
    found: set[int] = set()
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            value = item.get("bisogno_id")
            if isinstance(value, int):
                found.add(value)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def contributors_for(session: Session, bisogni: list[Bisogno]) -> list[dict[str, Any]]:
    """The ETS that proposed these bisogni, annotated them, or offered resources on them."""
    ids = [b.id for b in bisogni]
    orgs: dict[int, dict[str, Any]] = {}
    for b in bisogni:
        if b.organisation is not None and b.organisation.kind == "ets":
            orgs.setdefault(b.organisation.id, {"organisation_id": b.organisation.id, "name": b.organisation.name,
                                                "resources": False})
    annotations: list[Annotation] = list(session.scalars(
        select(Annotation).where(Annotation.bisogno_id.in_(ids), Annotation.deleted_at.is_(None))
        .options(selectinload(Annotation.organisation)))) if ids else []
    for a in annotations:
        if a.organisation is not None and a.organisation.kind == "ets":
            entry = orgs.setdefault(a.organisation.id, {"organisation_id": a.organisation.id,
                                                        "name": a.organisation.name, "resources": False})
            entry["resources"] = entry["resources"] or a.kind == "risorsa"
    return sorted(orgs.values(), key=lambda e: e["name"].casefold())


def asst_took_part(session: Session, bisogni: list[Bisogno]) -> bool:
    """An ASST sits at one of the bisogni's tavoli, proposed one of them or annotated it."""
    tavoli = {b.tavolo_id for b in bisogni}
    if any(b.organisation is not None and b.organisation.kind == "asst" for b in bisogni):
        return True
    members: list[TavoloMember] = list(session.scalars(
        select(TavoloMember).where(TavoloMember.tavolo_id.in_(tavoli))
        .options(selectinload(TavoloMember.organisation)))) if tavoli else []
    if any(m.organisation.kind == "asst" for m in members):
        return True
    ids = [b.id for b in bisogni]
    annotations: list[Annotation] = list(session.scalars(
        select(Annotation).where(Annotation.bisogno_id.in_(ids))
        .options(selectinload(Annotation.organisation)))) if ids else []
    return any(a.organisation is not None and a.organisation.kind == "asst" for a in annotations)


def prefill(session: Session, bisogni: list[Bisogno], macroarea_code: str) -> tuple[dict[str, Any], list[dict]]:
    """The card's initial values from the bisogni it answers (the rules are in the README)."""
    values: dict[str, Any] = {}
    if len(bisogni) == 1:
        values["title"] = bisogni[0].title
    targets = [b.target_population.strip() for b in bisogni if b.target_population.strip()]
    if targets:
        values["target"] = "; ".join(dict.fromkeys(targets))
    others = sorted({b.macroarea_code for b in bisogni} | {m.code for b in bisogni for m in b.transversal})
    others = [c for c in others if c != macroarea_code]
    values["cross_cutting_policy_areas"] = {"answer": "SI" if others else "NO", "macroaree": others}
    official = _official_key_points(session, [macroarea_code, *others])
    allowed = set().union(*official.values()) if official else set()
    points = [kp.text for b in bisogni for kp in b.key_points if kp.text in allowed]
    if points:
        values["key_points"] = list(dict.fromkeys(points))
    values["needs_addressed"] = [{
        "description": b.title,
        "baseline": b.evidence_figure or "",
        "target": "",
        "source": b.evidence_source or "",
        "horizon": str(b.evidence_year) if b.evidence_year else "",
        "bisogno_id": b.id,
    } for b in bisogni]
    if all(b.consolidation == "consolidato" for b in bisogni):
        values["need_novelty"] = {"answer": "BISOGNO CONSOLIDATO", "detail": ""}
    else:
        values["need_novelty"] = {"answer": "NUOVO BISOGNO", "detail": ""}
    # The card comes out of an art. 55 co-programming procedure: formally co-programmed. The links
    # to the approved verbali are read live (trace), so a verbale approved later appears too.
    values["formally_co_programmed_with_ets"] = "SI"
    asst = asst_took_part(session, bisogni)
    values["asst_in_needs_analysis_and_planning"] = "SI" if asst else "NO"
    return values, contributors_for(session, bisogni)


# --- schede obiettivo: validation -------------------------------------------------------------------


def _macroarea_codes(session: Session) -> dict[str, Macroarea]:
    return {m.code: m for m in session.scalars(select(Macroarea))}


def clean_values(session: Session, raw: dict[str, Any], macroarea_code: str) -> tuple[dict[str, Any], dict[str, str]]:
    """Validate the submitted field values; returns (clean values, errors by field id)."""
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    macroaree = _macroarea_codes(session)
    for field in schema.fields():
        fid, kind = field["id"], field["type"]
        if fid not in raw or raw[fid] in (None, ""):
            continue
        value = raw[fid]
        if kind == "text":
            if field.get("multi"):
                items = value if isinstance(value, list) else str(value).splitlines()
                items = [str(i).strip() for i in items if str(i).strip()]
                if sum(len(i) for i in items) > TEXT_LIMIT:
                    errors[fid] = _("Testo troppo lungo.")
                clean[fid] = items
            else:
                text = str(value).strip()
                if len(text) > TEXT_LIMIT:
                    errors[fid] = _("Testo troppo lungo.")
                if text:
                    clean[fid] = text
        elif kind == "money":
            amounts: dict[str, float | None] = {"public": None, "private": None}
            source = value if isinstance(value, dict) else {}
            for key in amounts:
                v = source.get(key)
                if v in (None, ""):
                    continue
                try:
                    number = parse_euro(v)
                except (TypeError, ValueError):
                    errors[fid] = _("Indicare gli importi in euro, con la virgola per i decimali.")
                    continue
                if number < 0:
                    errors[fid] = _("Gli importi non possono essere negativi.")
                amounts[key] = number
            clean[fid] = amounts
        elif kind == "list_of_macroaree":
            source = value if isinstance(value, dict) else {}
            answer = source.get("answer")
            codes = [str(c).strip().upper() for c in source.get("macroaree") or [] if str(c).strip()]
            bad = [c for c in codes if c not in macroaree or macroaree[c].status != "active"]
            if answer not in ("SI", "NO"):
                errors[fid] = _("Rispondere SI o NO.")
            elif bad:
                errors[fid] = _("Macroarea sconosciuta: %(codes)s.", codes=", ".join(bad))
            elif answer == "SI" and not codes:
                errors[fid] = _("Indicare con quali macroaree l'obiettivo è integrato.")
            clean[fid] = {"answer": answer, "macroaree": codes if answer == "SI" else []}
        elif kind == "key_points":
            points = [str(p).strip() for p in (value if isinstance(value, list) else [value]) if str(p).strip()]
            clean[fid] = list(dict.fromkeys(points))
        elif kind == "yes_no":
            if value not in field["options"]:
                errors[fid] = _("Rispondere SI o NO.")
            clean[fid] = value
        elif kind in ("yes_no_with_detail", "enum"):
            source = value if isinstance(value, dict) else {"answer": value, "detail": ""}
            answer, detail = source.get("answer"), str(source.get("detail") or "").strip()
            if answer not in field["options"]:
                errors[fid] = _("Scegliere una delle risposte previste: %(options)s.",
                                options=" / ".join(field["options"]))
            elif field.get("detail_required_when") == answer and not detail:
                errors[fid] = _("Con la risposta «%(answer)s» va specificato il dettaglio.", answer=answer)
            clean[fid] = {"answer": answer, "detail": detail} if kind == "yes_no_with_detail" or \
                field.get("detail_required_when") else answer
        elif kind == "indicators":
            rows = []
            for item in value if isinstance(value, list) else []:
                if not isinstance(item, dict):
                    continue
                row = {k: str(item.get(k) or "").strip() for k in schema.INDICATOR_KEYS}
                if item.get("bisogno_id") is not None:
                    row["bisogno_id"] = item["bisogno_id"]
                if not any(row[k] for k in schema.INDICATOR_KEYS):
                    continue
                if not row["description"]:
                    errors[fid] = _("Ogni indicatore ha bisogno di una descrizione.")
                rows.append(row)
            clean[fid] = rows
    # Key points only from the official lists of the card's macroaree (primary and cross-cutting).
    points = clean.get("key_points") or []
    if points:
        cross = (clean.get("cross_cutting_policy_areas") or raw.get("cross_cutting_policy_areas") or {})
        codes = [macroarea_code, *((cross.get("macroaree") or []) if isinstance(cross, dict) else [])]
        official = _official_key_points(session, codes)
        allowed = set().union(*official.values()) if official else set()
        bad = [p for p in points if p not in allowed]
        if bad:
            errors["key_points"] = _("Punti chiave non previsti per le macroaree della scheda (%(codes)s): "
                                     "%(points)s.", codes=", ".join(codes), points="; ".join(bad))
    return clean, errors


def parse_euro(value: Any) -> float:
    """An amount as people type it: 1.234,50 · 1234,5 · 1234.5 · 120.000 · € 15 000 (ValueError if not)."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).replace("€", "").replace(" ", "").replace("\u00a0", "").strip()
    if "," in text:
        text = text.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"\d{1,3}(\.\d{3})+", text):
        text = text.replace(".", "")
    number = float(text)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(value)
    return number


# --- schede obiettivo: writes -----------------------------------------------------------------------


def scheda_data(scheda: Scheda) -> dict[str, Any]:
    """The card as stored in its versions."""
    return {
        "title": scheda.title,
        "macroarea": scheda.macroarea_code,
        "leps": [leps.id for leps in scheda.leps],
        "bisogni": [b.id for b in scheda.bisogni],
        "values": scheda.values,
        "contributors": scheda.contributors,
        "status": scheda.status,
    }


def _snapshot(session: Session, scheda: Scheda, change: str, actor: User, now: datetime) -> None:
    session.add(SchedaVersion(scheda_id=scheda.id, version=scheda.version, data=scheda_data(scheda), change=change,
                              author_id=actor.id, at=now))


def _announce(session: Session, actor: User, action: str, scheda: Scheda) -> None:
    signals.action_recorded.send(session, actor=actor, action=f"scheda.{action}", object_type="scheda_obiettivo",
                                 object_id=scheda.id, details={"procedure_id": scheda.procedure_id,
                                                               "version": scheda.version})
    if scheda.tavolo_id is not None:
        record.append(session, scheda.tavolo_id, f"scheda.{action}",
                      {"scheda_id": scheda.id, "title": scheda.title, "status": scheda.status,
                       "version": scheda.version, "bisogni": [b.id for b in scheda.bisogni]}, actor.id)


def _leps(session: Session, ids: Iterable[str]) -> list[Leps]:
    ids = [str(i) for i in ids if str(i).strip()]
    found = {leps.id: leps for leps in session.scalars(select(Leps).where(Leps.id.in_(ids)))} if ids else {}
    unknown = [i for i in ids if i not in found]
    if unknown:
        raise invalid_fields({"leps": _("LEPS sconosciuto: %(ids)s.", ids=", ".join(unknown))})
    return [found[i] for i in dict.fromkeys(ids)]


def create_scheda(session: Session, actor: User, procedure: Procedure, bisogno_ids: Iterable[Any],
                  macroarea_code: str | None = None, now: datetime | None = None) -> Scheda:
    """A new card answering one or more agreed bisogni of the procedure, prefilled from them. The
    ids may come as the form gives them: they are read (422 if malformed) after the permission."""
    require_manage(actor, procedure)
    ids = list(dict.fromkeys(parse_ids(list(bisogno_ids), field="bisogni")))
    if not ids:
        raise invalid_fields({"bisogni": _("Scegliere almeno un bisogno a cui la scheda risponde.")})
    bisogni = list(session.scalars(select(Bisogno).where(Bisogno.id.in_(ids)).order_by(Bisogno.id)))
    tavolo_ids = {t.id for t in procedure.tavoli}
    if len(bisogni) != len(ids) or any(b.tavolo_id not in tavolo_ids for b in bisogni):
        raise invalid_fields({"bisogni": _("Uno dei bisogni scelti non appartiene ai tavoli di questa procedura.")})
    agreed = set()
    for tavolo_id in {b.tavolo_id for b in bisogni}:
        agreed |= set(prioritised(session, tavolo_id))
    outside = [b for b in bisogni if b.id not in agreed]
    if outside:
        raise invalid_fields({"bisogni": _("La scheda nasce dalle priorità votate: «%(title)s» non è in nessuna "
                                           "graduatoria di una votazione chiusa.", title=outside[0].title)})
    code = (macroarea_code or bisogni[0].macroarea_code).strip().upper()
    macroarea = session.get(Macroarea, code)
    if macroarea is None or macroarea.status != "active":
        raise invalid_fields({"macroarea": _("Macroarea sconosciuta: %(code)s.", code=code)})
    values, contributors = prefill(session, bisogni, code)
    now = now or utcnow()
    scheda = Scheda(procedure_id=procedure.id, tavolo_id=bisogni[0].tavolo_id, macroarea_code=code,
                    title=values.get("title") or bisogni[0].title, values=values, contributors=contributors,
                    status="bozza", version=1, created_by_id=actor.id, created_at=now, updated_by_id=actor.id,
                    updated_at=now)
    scheda.bisogni = bisogni
    session.add(scheda)
    session.flush()
    _snapshot(session, scheda, "creata", actor, now)
    _announce(session, actor, "created", scheda)
    return scheda


def update_scheda(session: Session, actor: User, scheda: Scheda, *, values: dict[str, Any],
                  macroarea_code: str | None = None, leps: Iterable[str] | None = None,
                  bisogno_ids: Iterable[int] | None = None, now: datetime | None = None) -> Scheda:
    """Save the card's fields (all of them: what is absent is emptied). A "pronta" card that becomes
    incomplete goes back to "bozza"."""
    procedure = get_procedure(session, scheda.procedure_id)
    require_manage(actor, procedure)
    code = (macroarea_code or scheda.macroarea_code).strip().upper()
    macroarea = session.get(Macroarea, code)
    errors: dict[str, str] = {}
    if macroarea is None or macroarea.status != "active":
        errors["macroarea"] = _("Macroarea sconosciuta: %(code)s.", code=code)
    clean, field_errors = clean_values(session, values, code)
    errors.update(field_errors)
    new_leps = None
    if leps is not None:
        try:
            new_leps = _leps(session, leps)
        except Problem as problem:
            errors.update(problem.errors or {})
    new_bisogni = None
    if bisogno_ids is not None:
        ids = list(dict.fromkeys(parse_ids(list(bisogno_ids), field="bisogni")))
        new_bisogni = list(session.scalars(select(Bisogno).where(Bisogno.id.in_(ids)).order_by(Bisogno.id)))
        tavolo_ids = {t.id for t in procedure.tavoli}
        if not ids or len(new_bisogni) != len(ids) or any(b.tavolo_id not in tavolo_ids for b in new_bisogni):
            errors["bisogni"] = _("La scheda deve rispondere ad almeno un bisogno dei tavoli di questa procedura.")
    if errors:
        raise invalid_fields(errors)
    now = now or utcnow()
    scheda.macroarea_code = code
    scheda.values = clean
    scheda.title = clean.get("title") or scheda.title
    if new_leps is not None:
        scheda.leps = new_leps
    if new_bisogni is not None:
        scheda.bisogni = new_bisogni
    change = "modificata"
    if scheda.status == "pronta" and schema.completeness(clean)["missing"]:
        scheda.status = "bozza"
        change = "riaperta"
    scheda.version += 1
    scheda.updated_by_id, scheda.updated_at = actor.id, now
    session.flush()
    _snapshot(session, scheda, change, actor, now)
    _announce(session, actor, "updated", scheda)
    return scheda


def set_ready(session: Session, actor: User, scheda: Scheda, ready: bool = True,
              now: datetime | None = None) -> Scheda:
    """Mark the card "pronta" (only when complete) or back to "bozza"."""
    procedure = get_procedure(session, scheda.procedure_id)
    require_manage(actor, procedure)
    if ready:
        meter = schema.completeness(scheda.values)
        if meter["missing"]:
            raise Problem("scheda_incomplete",
                          _("La scheda non è completa: mancano %(n)s campi (%(fields)s).", n=len(meter["missing"]),
                            fields=", ".join(str(m["order"]) for m in meter["missing"])), 409)
    status = "pronta" if ready else "bozza"
    if scheda.status == status:
        return scheda
    now = now or utcnow()
    scheda.status = status
    scheda.version += 1
    scheda.updated_by_id, scheda.updated_at = actor.id, now
    session.flush()
    _snapshot(session, scheda, "pronta" if ready else "riaperta", actor, now)
    _announce(session, actor, "ready" if ready else "reopened", scheda)
    return scheda


def version_changes(scheda: Scheda) -> dict[int, list[str]]:
    """Version number -> the labels of what changed since the previous version (fields by their
    official label; the macroarea, the LEPS, the bisogni and the state by name)."""
    extra = {"macroarea": "Macroarea principale", "leps": "LEPS collegati", "bisogni": "Bisogni",
             "status": "Stato"}
    out: dict[int, list[str]] = {}
    previous: dict[str, Any] | None = None
    for version in scheda.versions:
        data = version.data or {}
        if previous is not None:
            old_values, new_values = previous.get("values") or {}, data.get("values") or {}
            changed = [f["label_it"] for f in schema.fields() if old_values.get(f["id"]) != new_values.get(f["id"])]
            changed += [label for key, label in extra.items() if previous.get(key) != data.get(key)]
            out[version.version] = changed
        previous = data
    return out


def completeness(scheda: Scheda) -> dict[str, Any]:
    return schema.completeness(scheda.values or {})


# --- reading cards and traceability -----------------------------------------------------------------


def schede_of(session: Session, procedure_id: int, *, tavolo_id: int | None = None, macroarea: str | None = None,
              ready_only: bool = False) -> list[Scheda]:
    stmt = (select(Scheda).where(Scheda.procedure_id == procedure_id)
            .options(selectinload(Scheda.bisogni), selectinload(Scheda.leps), selectinload(Scheda.macroarea)))
    if macroarea:
        stmt = stmt.where(Scheda.macroarea_code == macroarea.upper())
    if ready_only:
        stmt = stmt.where(Scheda.status == "pronta")
    schede = list(session.scalars(stmt.order_by(Scheda.macroarea_code, Scheda.id)))
    if tavolo_id is not None:
        schede = [s for s in schede if s.tavolo_id == tavolo_id or any(b.tavolo_id == tavolo_id for b in s.bisogni)]
    return schede


def schede_for_bisogno(session: Session, bisogno_id: int, ready_only: bool = False) -> list[Scheda]:
    """The cards that answer a bisogno (traceability, bisogno -> cards)."""
    stmt = (select(Scheda).join(scheda_bisogno, scheda_bisogno.c.scheda_id == Scheda.id)
            .where(scheda_bisogno.c.bisogno_id == bisogno_id))
    if ready_only:
        stmt = stmt.where(Scheda.status == "pronta")
    return list(session.scalars(stmt.order_by(Scheda.id)))


def trace(session: Session, scheda: Scheda, with_names: bool = True) -> list[dict[str, Any]]:
    """Card -> bisogni -> annotations -> vote results -> verbali, one entry per bisogno."""
    verbali = approved_verbali_for(session, scheda.bisogni)
    out = []
    for b in scheda.bisogni:
        found = prioritised(session, b.tavolo_id).get(b.id)
        d = disposition_of(session, b.id)
        kinds: dict[str, int] = {}
        for a in b.annotations:
            if a.deleted_at is None:
                kinds[a.kind] = kinds.get(a.kind, 0) + 1
        out.append({
            "bisogno_id": b.id,
            "tavolo_id": b.tavolo_id,
            "title": b.title,
            "macroarea": b.macroarea_code,
            "annotations": sum(kinds.values()),
            "annotation_kinds": kinds,
            "vote": {"round_id": found[0].id, "title": found[0].title, "place": found[1],
                     "method": found[0].method} if found else None,
            "disposition": disposition_dict(d, with_names) if d else None,
            "verbali": [v for v in verbali if b.id in v["bisogni"]],
        })
    return out


def scheda_dict(session: Session, scheda: Scheda, with_trace: bool = True, with_names: bool = True) -> dict[str, Any]:
    data = {
        "id": scheda.id,
        "procedure_id": scheda.procedure_id,
        "tavolo_id": scheda.tavolo_id,
        "title": scheda.title,
        "macroarea": scheda.macroarea_code,
        "leps": [leps.id for leps in scheda.leps],
        "status": scheda.status,
        "version": scheda.version,
        "updated_at": scheda.updated_at.isoformat(),
        "bisogni": [b.id for b in scheda.bisogni],
        "contributors": [{"name": c.get("name"), "resources": bool(c.get("resources"))}
                         for c in scheda.contributors or []],
        "completeness": {k: v for k, v in schema.completeness(scheda.values or {}).items() if k != "missing"},
        "fields": [{"order": f["order"], "id": f["id"], "label": f["label_it"],
                    "value": (scheda.values or {}).get(f["id"])} for f in schema.fields()],
    }
    if with_trace:
        data["trace"] = trace(session, scheda, with_names)
    return data
