"""Rounds as JSON-ready dicts: in the record's events, the API, the live channel and the pages.

Two audiences: *members* of the tavolo see people's names (who declared an interest, who cast an
open ballot); the *public* (anyone, once the tavolo's procedure is published and the round closed)
sees organisations only. ``results`` picks the variant from the viewer
(``workspace.voting.permissions.may_read``).

Nothing here writes. A round past its closing time that the sweep has not closed yet is shown as it
is: open, in the phase "closing", with no final results (``phase``).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from flask import url_for
from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from workspace.accounts.models import Organisation, User
from workspace.db import utcnow
from workspace.i18n import gettext as _
from workspace.problems import Problem
from workspace.tavoli.models import Tavolo
from workspace.tavoli.service import live_seduta
from workspace.voting import methods
from workspace.voting.electorate import eligibility_of, turnout
from workspace.voting.labels import when
from workspace.voting.models import ConflictDeclaration, OpenBallot, Participation, VoteRound
from workspace.voting.permissions import may_read
from workspace.voting.results import partial_tally, stored_ballots
from workspace.voting.rules import candidates

#: The kind of the derived live message a committed ballot produces (``signals.live_state_changed``).
LIVE_MESSAGE = "vote.live"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def phase(vote: VoteRound, now: datetime | None = None) -> str:
    """The status as people should read it: "draft", "open", "closed", or "closing" for an open round
    whose closing time has passed (ballots are refused; the sweep or the facilitator closes it)."""
    if vote.status == "open" and vote.past_closing(now or utcnow()):
        return "closing"
    return vote.status


def items_list(vote: VoteRound) -> list[dict[str, Any]]:
    return [{"bisogno_id": i.bisogno_id, "position": i.position, "title": i.title} for i in vote.items]


def round_dict(vote: VoteRound) -> dict[str, Any]:
    """The round and its rules (the ``VoteRound`` schema of the API; the payload of vote.* events)."""
    return {
        "id": vote.id,
        "tavolo_id": vote.tavolo_id,
        "seduta_id": vote.seduta_id,
        "title": vote.title,
        "description": vote.description or "",
        "method": vote.method,
        "method_version": methods.VERSIONS[vote.method],
        "settings": dict(vote.settings or {}),
        "ballot_unit": vote.ballot_unit,
        "secret": vote.secret,
        "replaceable": not vote.secret,
        "eligibility": eligibility_of(vote),
        "partial_results": vote.partial_results,
        "conflict_excludes": vote.conflict_excludes,
        "breakdown": vote.breakdown,
        "status": vote.status,
        "opens_at": _iso(vote.opens_at),
        "closes_at": _iso(vote.closes_at),
        "opened_at": _iso(vote.opened_at),
        "closed_at": _iso(vote.closed_at),
        "items": items_list(vote),
    }


def names(session: Session, user_ids: Iterable[int | None],
          org_ids: Iterable[int | None]) -> tuple[dict[int, str], dict[int, str]]:
    """Names of people and organisations by id."""
    users = {u.id: u.name for u in session.scalars(select(User).where(User.id.in_([i for i in user_ids if i])))}
    orgs = {o.id: o.name for o in session.scalars(
        select(Organisation).where(Organisation.id.in_([i for i in org_ids if i])))}
    return users, orgs


def _by_name(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: ((r["organisation"] or "").casefold(), (r["person"] or "").casefold()))


def conflicts_list(session: Session, vote: VoteRound, with_names: bool = True) -> list[dict[str, Any]]:
    """The declared interests, oldest first (``with_names``: the people too, for members)."""
    rows = list(session.scalars(select(ConflictDeclaration).where(ConflictDeclaration.round_id == vote.id)
                                .order_by(ConflictDeclaration.declared_at, ConflictDeclaration.id)))
    users, orgs = names(session, [r.user_id for r in rows], [r.organisation_id for r in rows])
    return [{
        "bisogno_id": r.bisogno_id,
        "person": users.get(r.user_id) if with_names and r.user_id else None,
        "organisation": orgs.get(r.organisation_id) if r.organisation_id else None,
        "note": r.note,
        "declared_at": r.declared_at.isoformat(),
        "excludes": vote.conflict_excludes,
    } for r in rows]


def attributed_ballots(session: Session, vote: VoteRound, with_names: bool = True) -> list[dict[str, Any]]:
    """The ballots of an open (non-secret) round with who cast them, for the minutes."""
    rows = list(session.scalars(select(OpenBallot).where(OpenBallot.round_id == vote.id)))
    users, orgs = names(session, [r.user_id for r in rows], [r.organisation_id for r in rows])
    return _by_name([{
        "person": users.get(r.user_id) if with_names and r.user_id else None,
        "organisation": orgs.get(r.organisation_id) if r.organisation_id else None,
        "group": r.org_group,
        "content": r.content,
        "cast_at": r.cast_at.isoformat(),
        "updated_at": r.updated_at.isoformat(),
    } for r in rows])


def participants(session: Session, vote: VoteRound) -> list[dict[str, Any]]:
    """Who voted (never how), in alphabetical order."""
    rows = list(session.scalars(select(Participation).where(Participation.round_id == vote.id)))
    users, orgs = names(session, [r.user_id for r in rows], [r.organisation_id for r in rows])
    return _by_name([{"person": users.get(r.user_id) if r.user_id else None,
                      "organisation": orgs.get(r.organisation_id) if r.organisation_id else None} for r in rows])


def ranking_rows(vote: VoteRound, tally: Mapping[str, Any] | None,
                 tie_break: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The ranking with places (ties share a place: 1, 2, 2, 4), titles and scores."""
    if not tally:
        return []
    titles = {str(i.bisogno_id): i.title for i in vote.items}
    groups = tie_break["ranking"] if tie_break else tally["ranking"]
    rows, place = [], 1
    for group in groups:
        for name in group:
            rows.append({"place": place, "bisogno_id": int(name), "title": titles.get(name, ""),
                         "score": tally["scores"].get(name), "tie": len(group) > 1})
        place += len(group)
    return rows


def live_payload(session: Session, vote: VoteRound) -> dict[str, Any]:
    """The small JSON pushed while a round is open: turnout, and the tally when it is visible."""
    payload = {"tavolo_id": vote.tavolo_id, "round_id": vote.id, "revision": vote.revision,
               "status": vote.status, "turnout": turnout(session, vote)}
    tally = partial_tally(session, vote)
    if tally is not None:
        payload["tally"] = {"ranking": tally["ranking"], "scores": tally["scores"]}
    return payload


def closing_payload(session: Session, vote: VoteRound) -> dict[str, Any]:
    """The payload of ``vote.closed``: the round, its stored result, ranking, turnout, conflicts,
    who voted and, for open ballots, the attributed ballots (the minutes read them)."""
    result = vote.result or {}
    payload = round_dict(vote) | {
        "revision": vote.revision,
        "result": result,
        "ranking": ranking_rows(vote, result.get("tally")),
        "turnout": result.get("turnout"),
        "conflicts": conflicts_list(session, vote),
        "participants": participants(session, vote),
    }
    if not vote.secret:
        payload["ballots"] = attributed_ballots(session, vote)
    return payload


def results(session: Session, vote: VoteRound, viewer: User | None) -> dict[str, Any]:
    """Everything a results page shows, as the viewer may see it (a 403 Problem if they may not).

    While open: turnout (and the running tally if the round shows partial results). Closed: the
    stored tally with ranking, per-item totals, turnout against the electorate, breakdown by
    organisation type (suppressed where small in secret rounds), declared conflicts, the tie-break
    if any, and — for open ballots — the attributed ballots. Outsiders reading a published round
    see organisations, not people's names.
    """
    with_names = may_read(session, vote, viewer) == "member"
    closed = vote.status == "closed"
    stored = vote.result if closed else None
    tally = stored["tally"] if stored else partial_tally(session, vote)
    return {
        "round": round_dict(vote),
        "final": closed,
        "turnout": stored["turnout"] if stored else turnout(session, vote),
        "ballots_counted": stored["ballots"] if stored else None,
        "tally": tally,
        "ranking": ranking_rows(vote, tally, vote.tie_break if closed else None),
        "breakdown": stored["breakdown"] if stored else None,
        "tie_break": vote.tie_break if closed else None,
        "conflicts": conflicts_list(session, vote, with_names=with_names),
        "ballots": attributed_ballots(session, vote, with_names=with_names) if closed and not vote.secret else None,
    }


def anonymised_ballots(session: Session, vote: VoteRound) -> dict[str, Any]:
    """A closed round's ballots in the tally-file format, sorted by content (no ids, no groups), so the
    published result can be re-counted with ``tavoli votes tally``."""
    if vote.status != "closed":
        raise Problem("not_closed", _("La votazione non è ancora chiusa: le schede si pubblicano dopo la chiusura."),
                      409)
    ballots = [content for _g, content in stored_ballots(session, vote)]
    options = {key: value for key, value in (vote.settings or {}).items() if value is not None}
    return {"round_id": vote.id, "method": vote.method, "version": methods.VERSIONS[vote.method],
            "settings": options, "candidates": candidates(vote), "ballots": ballots,
            "titles": {str(i.bisogno_id): i.title for i in vote.items}}


# --- the live views of a tavolo's rounds ------------------------------------------------------------


# Drafts and open rounds, with or without the closed ones of a seduta: filtered by the database (a
# tavolo's closed rounds of past sedute pile up over the years). Built once: every live page asks.
_NOT_CLOSED = (select(VoteRound).where(VoteRound.tavolo_id == bindparam("tavolo_id"), VoteRound.status != "closed")
               .order_by(VoteRound.id))
_NOT_CLOSED_OR_OF_SEDUTA = (select(VoteRound)
                            .where(VoteRound.tavolo_id == bindparam("tavolo_id"),
                                   or_(VoteRound.status != "closed", VoteRound.seduta_id == bindparam("seduta_id")))
                            .order_by(VoteRound.id))


def _shown_live(session: Session, tavolo_id: int, seduta_id: int | None) -> list[VoteRound]:
    """Drafts and open rounds of the tavolo, and the closed ones of ``seduta_id``, oldest first."""
    if seduta_id is None:
        return list(session.scalars(_NOT_CLOSED, {"tavolo_id": tavolo_id}))
    return list(session.scalars(_NOT_CLOSED_OR_OF_SEDUTA, {"tavolo_id": tavolo_id, "seduta_id": seduta_id}))


def votes_snapshot(session: Session, tavolo: Tavolo) -> dict[str, Any]:
    """The rounds a reconnecting client needs: drafts and open ones with turnout, and those closed
    during the live seduta with their ranking."""
    seduta = live_seduta(session, tavolo.id)
    out = []
    for vote in _shown_live(session, tavolo.id, seduta.id if seduta else None):
        entry = round_dict(vote) | {"revision": vote.revision}
        if vote.status == "closed" and vote.result:
            entry["turnout"] = vote.result["turnout"]
            entry["ranking"] = ranking_rows(vote, vote.result["tally"], vote.tie_break)
        else:
            entry["turnout"] = turnout(session, vote)
            tally = partial_tally(session, vote)
            if tally is not None:
                entry["tally"] = {"ranking": tally["ranking"], "scores": tally["scores"]}
        out.append(entry)
    return {"votazioni": out}


def round_entry(session: Session, vote: VoteRound) -> dict[str, Any]:
    """What the console, the big screen and the ballot page need of a round, live."""
    closed = vote.status == "closed" and bool(vote.result)
    if vote.result and closed:
        shown_turnout = vote.result["turnout"]
        ranking = ranking_rows(vote, vote.result["tally"], vote.tie_break)
    else:
        shown_turnout = turnout(session, vote)
        tally = partial_tally(session, vote)
        ranking = ranking_rows(vote, tally) if tally else []
    base = url_for("voting.index", tavolo_id=vote.tavolo_id)
    return {
        "id": vote.id, "title": vote.title, "method": vote.method, "status": vote.status, "secret": vote.secret,
        "partial_results": vote.partial_results, "seduta_id": vote.seduta_id, "revision": vote.revision,
        "closes_at": vote.closes_at.isoformat() if vote.closes_at else None,
        "closes_local": when(vote.closes_at) if vote.closes_at else None,
        "items": [{"bisogno_id": i.bisogno_id, "title": i.title} for i in vote.items],
        "turnout": shown_turnout, "ranking": ranking, "final": closed,
        "ballot_url": f"{base}/{vote.id}", "results_url": f"{base}/{vote.id}/risultati",
    }


LOOK_UP: Any = object()  # live_rounds' ``live`` not given: it looks the seduta in progress up


def live_rounds(session: Session, tavolo_id: int, seduta_id: int | None = None,
                live: Any = LOOK_UP) -> list[dict[str, Any]]:
    """Drafts and open rounds of the tavolo, and the closed ones of ``seduta_id`` (default: the seduta
    in progress, ``live`` when the caller has looked it up already, None for none), newest first."""
    if seduta_id is None:
        if live is LOOK_UP:
            live = live_seduta(session, tavolo_id)
        seduta_id = live.id if live else None
    return [round_entry(session, vote) for vote in reversed(_shown_live(session, tavolo_id, seduta_id))]
