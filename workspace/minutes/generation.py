"""The generated part of a verbale: what the seduta's record, its presence register and its vote
rounds say, as plain JSON. Nothing is retyped; the narrative is written beside it by people.

The seduta's window in the record runs from its ``seduta.started`` event to its ``seduta.closed``
event (by sequence number, so events of the same second are never confused); events outside it
are not included. Each event is placed under the agenda item current when it happened: the first
item until the first ``agenda.moved`` of this seduta, then the item each move names. Vote rounds
of the seduta are placed where they were opened and read, with their results, through the voting
services (the closing of the seduta closes its live rounds first: voting's receiver of
``seduta_closed`` is connected before this area's, in ``create_app``'s order).

Times are ISO strings in UTC; people appear under the key ``person`` only, so the edition for
publication can leave them out in one place (``content.public_edition``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from workspace.accounts.models import Organisation, User
from workspace.mail import external_url
from workspace.needs.models import ANNOTATION_KINDS, Bisogno
from workspace.procedures.models import Procedure
from workspace.record import TavoloEvent
from workspace.reference.models import Ambito
from workspace.tavoli import permissions as tavolo_permissions
from workspace.tavoli import service as tavoli_service
from workspace.tavoli.models import Seduta, Tavolo, TavoloRole
from workspace.voting import payloads as vote_payloads
from workspace.voting import rounds as vote_rounds
from workspace.voting.methods import VERSIONS
from workspace.voting.models import VoteRound

#: The pseudo agenda item of a seduta convened without an agenda.
NO_AGENDA_KEY = "lavori"

STATUS_ACTIONS = {"in_discussione": "in_discussione", "proposto": "riproposto", "ritirato": "ritirato"}


def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


def item_key(item_id: int) -> str:
    return f"punto-{item_id}"


# --------------------------------------------------------------------------- the seduta's window


def seduta_events(session: Session, seduta: Seduta) -> list[TavoloEvent]:
    """The events of the seduta: from its ``seduta.started`` to its ``seduta.closed`` (inclusive)."""
    bounds = session.execute(
        select(TavoloEvent.kind, TavoloEvent.seq, TavoloEvent.payload)
        .where(TavoloEvent.tavolo_id == seduta.tavolo_id,
               TavoloEvent.kind.in_(("seduta.started", "seduta.closed")))
        .order_by(TavoloEvent.seq)
    ).all()
    started = next((seq for kind, seq, p in bounds if kind == "seduta.started" and _id(p) == seduta.id), None)
    closed = next((seq for kind, seq, p in bounds if kind == "seduta.closed" and _id(p) == seduta.id), None)
    query = select(TavoloEvent).where(TavoloEvent.tavolo_id == seduta.tavolo_id)
    if started is not None:
        query = query.where(TavoloEvent.seq >= started)
        if closed is not None:
            query = query.where(TavoloEvent.seq <= closed)
    else:
        # A seduta whose opening is not in the record (data imported by other means): its times.
        if seduta.started_at is None:
            return []
        query = query.where(TavoloEvent.at >= seduta.started_at)
        if seduta.closed_at is not None:
            query = query.where(TavoloEvent.at <= seduta.closed_at)
    return list(session.scalars(query.order_by(TavoloEvent.seq)))


def _id(payload: Any) -> Any:
    return payload.get("id") if isinstance(payload, dict) else None


# --------------------------------------------------------------------------- placing events


@dataclass
class _Item:
    key: str
    position: int
    title: str
    item_id: int | None
    bisogni: dict[int, dict[str, Any]] = field(default_factory=dict)
    annotations: dict[int, dict[str, Any]] = field(default_factory=dict)
    votes: list[int] = field(default_factory=list)


def _items(seduta: Seduta) -> list[_Item]:
    if not seduta.agenda:
        return [_Item(NO_AGENDA_KEY, 1, "", None)]
    return [_Item(item_key(i.id), i.position, i.title, i.id) for i in seduta.agenda]


def _bisogno_entry(item: _Item, payload: dict[str, Any]) -> dict[str, Any]:
    entry = item.bisogni.setdefault(payload["id"], {
        "bisogno_id": payload["id"], "title": payload.get("title") or "", "organisation": payload.get("organisation"),
        "actions": [], "into": None})
    entry["title"] = payload.get("title") or entry["title"]
    return entry


def _act(entry: dict[str, Any], action: str) -> None:
    if action not in entry["actions"]:
        entry["actions"].append(action)


def place_events(seduta: Seduta, events: list[TavoloEvent]) -> tuple[list[_Item], dict[int, str]]:
    """The agenda items with what happened under each; and the key of the item each vote round
    was opened under (round id -> item key)."""
    items = _items(seduta)
    by_id = {i.item_id: i for i in items}
    current = items[0]
    opened_under: dict[int, str] = {}
    for ev in events:
        p = ev.payload if isinstance(ev.payload, dict) else {}
        if ev.kind == "agenda.moved" and p.get("seduta_id") == seduta.id:
            current = by_id.get(p.get("current_item_id"), current)
        elif ev.kind == "bisogno.created":
            _act(_bisogno_entry(current, p), "presentato")
        elif ev.kind == "bisogno.updated":
            _act(_bisogno_entry(current, p), "modificato")
        elif ev.kind == "bisogno.status" and p.get("status") in STATUS_ACTIONS:
            _act(_bisogno_entry(current, p), STATUS_ACTIONS[p["status"]])
        elif ev.kind == "bisogno.merged":
            entry = _bisogno_entry(current, p)
            _act(entry, "accorpato")
            entry["into"] = {"bisogno_id": p.get("into"), "title": None}
        elif ev.kind == "annotation.created" and p.get("bisogno_id") is not None:
            summary = current.annotations.setdefault(p["bisogno_id"], {"bisogno_id": p["bisogno_id"], "kinds": {}})
            kind = summary["kinds"].setdefault(p.get("kind"), {"count": 0, "organisations": set()})
            kind["count"] += 1
            if p.get("organisation"):
                kind["organisations"].add(p["organisation"])
        elif ev.kind == "vote.opened" and _id(p) is not None:
            opened_under.setdefault(p["id"], current.key)
    return items, opened_under


# --------------------------------------------------------------------------- the parts


def _person(user: User | None) -> str | None:
    return user.name if user is not None else None


def _organisation_of(session: Session, user: User | None, tavolo_id: int) -> Organisation | None:
    if user is None:
        return None
    role = tavolo_permissions.tavolo_role(session, user, tavolo_id)
    if role is not None and role.organisation is not None:
        return role.organisation
    return user.organisations[0] if user.organisations else None


def header(session: Session, seduta: Seduta, events: list[TavoloEvent]) -> dict[str, Any]:
    tavolo: Tavolo = seduta.tavolo
    procedure: Procedure = tavolo.procedure
    ambito = session.get(Ambito, procedure.ambito_code)
    runners: list[int] = []
    for ev in events:
        if ev.kind in ("seduta.started", "seduta.closed") and _id(ev.payload) == seduta.id and ev.actor_id:
            if ev.actor_id not in runners:
                runners.append(ev.actor_id)
    if not runners:
        runners = [r.user_id for r in session.scalars(select(TavoloRole).where(
            TavoloRole.tavolo_id == tavolo.id, TavoloRole.role == "facilitator").order_by(TavoloRole.id))]
    facilitators = []
    for user_id in runners:
        user = session.get(User, user_id)
        org = _organisation_of(session, user, tavolo.id)
        facilitators.append({"person": _person(user), "organisation": org.name if org else None,
                             "role": "facilitator"})
    rup = procedure.rup
    rup_org = rup.organisations[0] if rup is not None and rup.organisations else None
    return {
        "ambito": {"code": procedure.ambito_code, "name": ambito.name if ambito else None},
        "procedure": {"id": procedure.id, "title": procedure.title, "triennium": procedure.triennium},
        "tavolo": {"id": tavolo.id, "title": tavolo.title,
                   "macroaree": [{"code": m.code, "name": m.name} for m in tavolo.macroaree]},
        "seduta": {"id": seduta.id, "number": seduta.number, "convened_for": _iso(seduta.starts_at),
                   "started_at": _iso(seduta.started_at), "closed_at": _iso(seduta.closed_at),
                   "place": seduta.place, "mode": seduta.mode},
        "facilitators": facilitators,
        "rup": ({"person": rup.name, "organisation": rup_org.name if rup_org else None, "role": "rup"}
                if rup is not None else None),
    }


def attendance(session: Session, seduta: Seduta, events: list[TavoloEvent]) -> dict[str, Any]:
    rows = []
    people, organisations = set(), set()
    markers: dict[int, User | None] = {}
    for p in tavoli_service.register(session, seduta):
        if p.marked_by_id and p.marked_by_id not in markers:
            markers[p.marked_by_id] = session.get(User, p.marked_by_id)
        marker = markers.get(p.marked_by_id) if p.marked_by_id else None
        org = p.organisation
        rows.append({
            "person": _person(p.user), "organisation": org.name if org else None,
            "organisation_kind": org.kind if org else None, "role": p.role, "mode": p.mode,
            "joined_at": _iso(p.joined_at), "left_at": _iso(p.left_at), "manual": p.source == "manual",
            "marked_by": {"person": _person(marker)} if marker is not None else None,
        })
        people.add(p.user_id)
        if p.organisation_id:
            organisations.add(p.organisation_id)
    # The quorum as the live indicator showed it: every presence event of the window carries it.
    quorum: dict[str, Any] = {"reached": False, "first_reached_at": None, "threshold_percent": None,
                              "organisations_total": None, "max_organisations_present": 0}
    for ev in events:
        q = ev.payload.get("quorum") if isinstance(ev.payload, dict) else None
        if not isinstance(q, dict):
            continue
        quorum["threshold_percent"] = q.get("threshold_percent")
        quorum["organisations_total"] = q.get("organisations_total")
        quorum["max_organisations_present"] = max(quorum["max_organisations_present"],
                                                  q.get("organisations_present") or 0)
        if q.get("reached") and not quorum["reached"]:
            quorum["reached"], quorum["first_reached_at"] = True, _iso(ev.at)
    if quorum["threshold_percent"] is None:
        quorum["threshold_percent"] = seduta.tavolo.quorum_percent
    return {"rows": rows, "people": len(people), "organisations": len(organisations), "quorum": quorum}


def _vote_entry(session: Session, vote: VoteRound) -> dict[str, Any]:
    result = vote.result or {}
    closed = vote.status == "closed"
    return {
        "round_id": vote.id, "title": vote.title, "method": vote.method,
        "method_version": VERSIONS.get(vote.method), "secret": vote.secret, "ballot_unit": vote.ballot_unit,
        "status": vote.status, "opened_at": _iso(vote.opened_at), "closed_at": _iso(vote.closed_at),
        "turnout": result.get("turnout") if closed else None,
        "ballots": result.get("ballots") if closed else None,
        "ranking": [{"place": r["place"], "title": r["title"], "score": r["score"], "tie": r["tie"]}
                    for r in vote_payloads.ranking_rows(vote, result.get("tally"), vote.tie_break)] if closed else [],
        "tie_break": ({"seed": vote.tie_break.get("seed"), "at": vote.tie_break.get("at")}
                      if closed and vote.tie_break else None),
    }


def _titles(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(Bisogno.id, Bisogno.title).where(Bisogno.id.in_(ids))).all())


def _url(endpoint: str, **values: Any) -> str | None:
    if endpoint not in current_app.view_functions:
        return None
    return external_url(endpoint, **values)


def generate(session: Session, seduta: Seduta) -> dict[str, Any]:
    """The generated part of the seduta's verbale, from its record, register and votes."""
    events = seduta_events(session, seduta)
    items, opened_under = place_events(seduta, events)
    rounds = [v for v in vote_rounds.rounds_of(session, seduta.tavolo_id)
              if v.seduta_id == seduta.id and v.status != "draft"]
    by_key = {i.key: i for i in items}
    for vote in rounds:
        by_key.get(opened_under.get(vote.id, items[0].key), items[0]).votes.append(vote.id)
    votes = {v.id: _vote_entry(session, v) for v in rounds}

    mentioned = {b for i in items for b in (*i.bisogni, *i.annotations)}
    mentioned |= {e["into"]["bisogno_id"] for i in items for e in i.bisogni.values() if e["into"]}
    titles = _titles(session, {b for b in mentioned if b is not None})
    agenda = []
    for item in items:
        bisogni = list(item.bisogni.values())
        for entry in bisogni:
            if entry["into"]:
                entry["into"]["title"] = titles.get(entry["into"]["bisogno_id"])
        annotations = []
        for bisogno_id, summary in item.annotations.items():
            kinds = [{"kind": k, "count": summary["kinds"][k]["count"],
                      "organisations": sorted(summary["kinds"][k]["organisations"], key=str.casefold)}
                     for k in ANNOTATION_KINDS if k in summary["kinds"]]
            annotations.append({"bisogno_id": bisogno_id, "title": titles.get(bisogno_id, ""), "kinds": kinds,
                                "count": sum(k["count"] for k in kinds)})
        agenda.append({"key": item.key, "item_id": item.item_id, "position": item.position, "title": item.title,
                       "bisogni": bisogni, "annotations": annotations, "votes": [votes[v] for v in item.votes]})

    conflicts = []
    for vote in rounds:
        items_titles = {i.bisogno_id: i.title for i in vote.items}
        for c in vote_payloads.conflicts_list(session, vote, with_names=True):
            conflicts.append({"round_id": vote.id, "round_title": vote.title, "bisogno_id": c["bisogno_id"],
                              "bisogno_title": items_titles.get(c["bisogno_id"], ""), "person": c["person"],
                              "organisation": c["organisation"], "note": c["note"],
                              "declared_at": c["declared_at"], "excludes": c["excludes"]})
    annex_bisogni = sorted(b for b in mentioned if b is not None and b in titles)
    return {
        "header": header(session, seduta, events),
        "attendance": attendance(session, seduta, events),
        "agenda": agenda,
        "conflicts": conflicts,
        "annexes": {
            "bisogni": [{"id": b, "title": titles[b],
                         "url": _url("needs.bisogno", tavolo_id=seduta.tavolo_id, bisogno_id=b)}
                        for b in annex_bisogni],
            "votes": [{"id": v.id, "title": v.title,
                       "url": _url("voting.results", tavolo_id=seduta.tavolo_id, round_id=v.id)}
                      for v in rounds],
        },
        "record": {"first_seq": events[0].seq if events else None, "last_seq": events[-1].seq if events else None,
                   "events": len(events)},
    }


def section_keys(generated: dict[str, Any]) -> list[str]:
    """The narrative sections of a verbale, in document order."""
    from workspace.minutes.labels import CLOSING, OPENING

    return [OPENING, *(item["key"] for item in generated.get("agenda", [])), CLOSING]
