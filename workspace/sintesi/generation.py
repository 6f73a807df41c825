"""The generated part of the documento di sintesi: what the procedure's data say, as plain JSON.

Read through the other areas' models and services, never written: contributions (bisogni and
annotations per tavolo, per macroarea and per organisation type), the priorities with the
administration's disposition on each (``priorities``), the schede obiettivo drawn from them
(``cards``) and participation (presences at the closed sedute, per tavolo and per organisation
type). Deterministic: the same data give the same JSON (so the same hash once approved).

The priorities and the cards are read through the planning area (dispositions, schede obiettivo).
Until the administration has recorded a disposition, the priorities are the rankings of the tavoli's
closed votes, each "without a disposition yet"; without cards the section says none was drawn up.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workspace.accounts.models import ORGANISATION_KINDS, Organisation, User
from workspace.minutes.models import Verbale
from workspace.needs.models import Annotation, Bisogno
from workspace.procedures.models import Procedure
from workspace.reference.models import Ambito, Macroarea
from workspace.tavoli.models import Presence, Seduta
from workspace.voting import payloads as vote_payloads
from workspace.voting.models import VoteRound

SCHEMA = "tavoli.sintesi/1"
NO_KIND = "nessuna"  # a contribution not made on behalf of an organisation


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _kind(org: Organisation | None) -> str:
    return org.kind if org is not None else NO_KIND


def _kind_order(kind: str) -> int:
    return ORGANISATION_KINDS.index(kind) if kind in ORGANISATION_KINDS else len(ORGANISATION_KINDS)


def header(session: Session, procedure: Procedure) -> dict[str, Any]:
    ambito = session.get(Ambito, procedure.ambito_code)
    rup = session.get(User, procedure.rup_id) if procedure.rup_id else None
    return {
        "procedure": {"id": procedure.id, "title": procedure.title, "triennium": procedure.triennium,
                      "act_number": procedure.act_number,
                      "act_date": procedure.act_date.isoformat() if procedure.act_date else None,
                      "avviso_published_at": _iso(procedure.avviso_published_at)},
        "ambito": {"code": procedure.ambito_code, "name": ambito.name if ambito else procedure.ambito_code},
        "rup": rup.name if rup else None,
        "tavoli": [{"id": t.id, "title": t.title, "macroaree": [m.code for m in t.macroaree]}
                   for t in procedure.tavoli],
    }


def contributions(session: Session, procedure: Procedure) -> dict[str, Any]:
    """Bisogni (merged ones count in the bisogno they were merged into) and annotations (not
    deleted), per tavolo, per macroarea and per type of the organisation that brought them."""
    tavolo_ids = [t.id for t in procedure.tavoli]
    bisogni = list(session.scalars(select(Bisogno).where(Bisogno.tavolo_id.in_(tavolo_ids),
                                                         Bisogno.merged_into_id.is_(None))
                                   .order_by(Bisogno.id))) if tavolo_ids else []
    annotations = list(session.scalars(select(Annotation).join(Bisogno).where(
        Bisogno.tavolo_id.in_(tavolo_ids), Annotation.deleted_at.is_(None)).order_by(Annotation.id))) \
        if tavolo_ids else []
    tavolo_of_bisogno = {b.id: b.tavolo_id for b in session.execute(
        select(Bisogno.id, Bisogno.tavolo_id).where(Bisogno.tavolo_id.in_(tavolo_ids)))} if tavolo_ids else {}
    macro_of_bisogno = {b.id: b.macroarea_code for b in session.execute(
        select(Bisogno.id, Bisogno.macroarea_code).where(Bisogno.tavolo_id.in_(tavolo_ids)))} if tavolo_ids else {}

    by_tavolo = []
    for t in procedure.tavoli:
        bs = [b for b in bisogni if b.tavolo_id == t.id]
        ans = [a for a in annotations if tavolo_of_bisogno.get(a.bisogno_id) == t.id]
        orgs = {b.organisation_id for b in bs if b.organisation_id} | {a.organisation_id for a in ans
                                                                         if a.organisation_id}
        by_tavolo.append({"tavolo_id": t.id, "title": t.title, "bisogni": len(bs), "annotations": len(ans),
                          "organisations": len(orgs)})

    macro_b = Counter(b.macroarea_code for b in bisogni)
    macro_a = Counter(macro_of_bisogno.get(a.bisogno_id) for a in annotations)
    names = {m.code: m.name for m in session.scalars(select(Macroarea))}
    by_macroarea = [{"code": code, "name": names.get(code, code), "bisogni": macro_b.get(code, 0),
                     "annotations": macro_a.get(code, 0)}
                    for code in sorted(set(macro_b) | {c for c in macro_a if c})]

    kind_b = Counter(_kind(b.organisation) for b in bisogni)
    kind_a = Counter(_kind(a.organisation) for a in annotations)
    kind_orgs: dict[str, set[int]] = defaultdict(set)
    for org_id, org in [(b.organisation_id, b.organisation) for b in bisogni] + [
            (a.organisation_id, a.organisation) for a in annotations]:
        if org_id:
            kind_orgs[_kind(org)].add(org_id)
    kinds = sorted(set(kind_b) | set(kind_a), key=_kind_order)
    by_kind = [{"kind": k, "bisogni": kind_b.get(k, 0), "annotations": kind_a.get(k, 0),
                "organisations": len(kind_orgs.get(k, ()))} for k in kinds]
    all_orgs = set().union(*kind_orgs.values()) if kind_orgs else set()
    return {"by_tavolo": by_tavolo, "by_macroarea": by_macroarea, "by_kind": by_kind,
            "totals": {"bisogni": len(bisogni), "annotations": len(annotations), "organisations": len(all_orgs)}}


def participation(session: Session, procedure: Procedure) -> dict[str, Any]:
    """Presences at the closed sedute: per tavolo (sedute held, presences, people, organisations)
    and per organisation type (organisations present, presences)."""
    by_tavolo = []
    kind_presences: Counter[str] = Counter()
    kind_orgs: dict[str, set[int]] = defaultdict(set)
    all_people: set[int] = set()
    all_orgs: set[int] = set()
    total_presences = total_sedute = 0
    for t in procedure.tavoli:
        rows = session.execute(
            select(Presence.user_id, Presence.organisation_id, Organisation.kind)
            .join(Seduta, Seduta.id == Presence.seduta_id)
            .outerjoin(Organisation, Organisation.id == Presence.organisation_id)
            .where(Seduta.tavolo_id == t.id, Seduta.status == "chiusa")
            .order_by(Presence.id)).all()
        held = len([s for s in t.sedute if s.status == "chiusa"])
        people = {r.user_id for r in rows}
        orgs = {r.organisation_id for r in rows if r.organisation_id}
        for r in rows:
            kind = r.kind or NO_KIND
            kind_presences[kind] += 1
            if r.organisation_id:
                kind_orgs[kind].add(r.organisation_id)
        by_tavolo.append({"tavolo_id": t.id, "title": t.title, "sedute": held, "presences": len(rows),
                          "people": len(people), "organisations": len(orgs)})
        all_people |= people
        all_orgs |= orgs
        total_presences += len(rows)
        total_sedute += held
    kinds = sorted(kind_presences, key=_kind_order)
    by_kind = [{"kind": k, "organisations": len(kind_orgs.get(k, ())), "presences": kind_presences[k]}
               for k in kinds]
    return {"by_tavolo": by_tavolo, "by_kind": by_kind,
            "totals": {"sedute": total_sedute, "presences": total_presences, "people": len(all_people),
                       "organisations": len(all_orgs)}}


# --------------------------------------------------------------------------- priorities and cards


def planned_priorities(session: Session, procedure: Procedure) -> list[dict[str, Any]] | None:
    """The prioritised bisogni of each tavolo (its most recent closed vote that ranked them, as the
    planning area reads them) with the administration's disposition on each, from the planning
    area; None when no disposition has been recorded yet (then ``voted_priorities`` speaks).
    Each: tavolo_id, tavolo, round, bisogno_id, title, macroarea, place, method, score, disposition,
    reason, decided_by, decided_at."""
    from workspace.planning import service as planning

    dispositions = {d.bisogno_id: d for d in planning.dispositions_of(session, procedure_id=procedure.id)}
    if not dispositions:
        return None
    items: list[dict[str, Any]] = []
    for tavolo in procedure.tavoli:
        for vote in reversed(planning.closed_rounds(session, tavolo.id)):  # oldest first
            data = planning.round_priorities(vote)
            macro = dict(session.execute(select(Bisogno.id, Bisogno.macroarea_code).where(
                Bisogno.id.in_([r["bisogno_id"] for r in data["ranking"]]))).all()) if data["ranking"] else {}
            for row in data["ranking"]:
                d = dispositions.get(row["bisogno_id"])
                if d is not None and d.round_id not in (None, vote.id):
                    continue  # decided on another round's ranking: listed there
                items.append({"tavolo_id": tavolo.id, "tavolo": tavolo.title, "round": vote.title,
                              "bisogno_id": row["bisogno_id"], "title": row["title"],
                              "macroarea": macro.get(row["bisogno_id"]), "place": row["place"],
                              "method": vote.method, "score": row["score"],
                              "disposition": d.outcome if d else None, "reason": d.reason if d else None,
                              "decided_by": (d.decided_by.name if d.decided_by else None) if d else None,
                              "decided_at": _iso(d.decided_at) if d else None})
    return items


def planned_cards(session: Session, procedure: Procedure) -> list[dict[str, Any]] | None:
    """The schede obiettivo of the procedure, from the planning area (None: none drawn up yet).
    Each: id, title, macroarea, ready, bisogni (titles)."""
    from workspace.planning import service as planning

    schede = planning.schede_of(session, procedure.id)
    if not schede:
        return None
    return [{"id": s.id, "title": s.title, "macroarea": s.macroarea_code, "ready": s.status == "pronta",
             "bisogni": [b.title for b in s.bisogni]} for s in schede]


def voted_priorities(session: Session, procedure: Procedure) -> list[dict[str, Any]]:
    """The rankings of the closed votes of the procedure's tavoli, best first, without dispositions."""
    items: list[dict[str, Any]] = []
    tavoli = {t.id: t for t in procedure.tavoli}
    if not tavoli:
        return items
    votes = session.scalars(select(VoteRound).where(VoteRound.tavolo_id.in_(tavoli), VoteRound.status == "closed")
                            .order_by(VoteRound.tavolo_id, VoteRound.closed_at, VoteRound.id)).all()
    for vote in votes:
        tally = (vote.result or {}).get("tally")
        rows = vote_payloads.ranking_rows(vote, tally, vote.tie_break)
        macro = dict(session.execute(select(Bisogno.id, Bisogno.macroarea_code).where(
            Bisogno.id.in_([r["bisogno_id"] for r in rows]))).all()) if rows else {}
        for r in rows:
            items.append({"tavolo_id": vote.tavolo_id, "tavolo": tavoli[vote.tavolo_id].title, "round": vote.title,
                          "bisogno_id": r["bisogno_id"], "title": r["title"],
                          "macroarea": macro.get(r["bisogno_id"]), "place": r["place"], "method": vote.method,
                          "score": r["score"], "disposition": None, "reason": None, "decided_by": None,
                          "decided_at": None})
    return items


def priorities(session: Session, procedure: Procedure) -> dict[str, Any]:
    planned = planned_priorities(session, procedure)
    items = planned if planned is not None else voted_priorities(session, procedure)
    names = {m.code: m.name for m in session.scalars(select(Macroarea))}
    per_macro: Counter[str] = Counter()
    seen: set[int] = set()
    for item in items:
        if item["bisogno_id"] not in seen and item.get("macroarea"):
            seen.add(item["bisogno_id"])
            per_macro[item["macroarea"]] += 1
    return {"source": "planning" if planned is not None else "votazioni", "items": items,
            "by_macroarea": [{"code": c, "name": names.get(c, c), "count": per_macro[c]} for c in sorted(per_macro)]}


def cards(session: Session, procedure: Procedure) -> dict[str, Any]:
    planned = planned_cards(session, procedure)
    return {"available": planned is not None, "items": planned or []}


def verbali(session: Session, procedure: Procedure) -> list[dict[str, Any]]:
    """The approved verbali of the procedure's sedute, with their hashes (the evidence)."""
    tavoli = {t.id: t for t in procedure.tavoli}
    if not tavoli:
        return []
    rows = session.execute(select(Verbale, Seduta.number).join(Seduta, Seduta.id == Verbale.seduta_id)
                           .where(Verbale.tavolo_id.in_(tavoli), Verbale.status == "approvato")
                           .order_by(Verbale.tavolo_id, Seduta.number, Verbale.edition)).all()
    return [{"verbale_id": v.id, "tavolo": tavoli[v.tavolo_id].title, "seduta": number, "edition": v.edition,
             "sha256": v.content_sha256} for v, number in rows]


def generate(session: Session, procedure: Procedure) -> dict[str, Any]:
    """The whole generated part (no moment in it: the version records when it was generated)."""
    return {
        "schema": SCHEMA,
        "header": header(session, procedure),
        "contributions": contributions(session, procedure),
        "priorities": priorities(session, procedure),
        "cards": cards(session, procedure),
        "participation": participation(session, procedure),
        "verbali": verbali(session, procedure),
    }
