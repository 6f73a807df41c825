"""Priority votes of a tavolo, the life of a round: prepare, open, declare an interest, close, break ties.

Same write path as every tavolo change: permission, validation, rows and one record event in the
caller's transaction (the caller commits). Counting is done only by the pure functions of
``workspace.voting.methods`` (through ``results``); results record the method and its version.
Ballots are in ``ballots.py``, who may vote in ``electorate.py``.

Rules
-----
- A round is prepared as a *draft* (method and settings, ballot unit, secrecy, eligibility,
  visibility of partial results, conflict rule, items, times: ``rules.configure``) and **frozen
  when it opens**, together with its electorate (``electorate.compute_electorate``).
- Ballots, closing and tie-breaks of one round run one at a time: each locks the round first
  (``lock_round``: row lock on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite).
- Closing a secret round mixes its pooled ballots into the ballot box in the same transaction
  (``box.mix``); the storage is sealed once that commits (docs/secret-ballot.md).
- Conflict of interest: before voting a participant may declare an interest in an item; it is
  recorded and shown with the results and, when the round says so, that voter's ballot may not
  give that item anything (``ballots.validate_content``).

Closing
-------
A round closes when the facilitator closes it (or closes its seduta), or by itself once its closing
time has passed: ``close_due_rounds`` runs every 30 seconds in the background of ``tavoli serve``
(``live.close_due_forever``) and as ``tavoli votes close-due`` where another server runs the app
(cron, every minute). Reading never writes: between the closing time and the sweep a round is shown
in the phase "closing" (``payloads.phase``) with no final results yet, and the writes that need it
open — a ballot, a declaration of interest — are refused as closed, with nothing stored (a refusal
rolls back, so it cannot close the round on the way); the facilitator's "close" closes it at once.
"""
from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workspace import record
from workspace.accounts.models import User
from workspace.db import utcnow
from workspace.i18n import gettext as _
from workspace.problems import conflict, invalid, not_found
from workspace.tavoli import permissions
from workspace.tavoli.models import Seduta, Tavolo
from workspace.voting import box, methods
from workspace.voting.electorate import compute_electorate, has_voted, turnout, voter_for
from workspace.voting.labels import when
from workspace.voting.models import ConflictDeclaration, VoteRound
from workspace.voting.payloads import closing_payload, names, ranking_rows, round_dict
from workspace.voting.results import compute_result, jsonable, stored_result
from workspace.voting.rules import check_items, configure, round_config, set_items

NOTE_LIMIT = 2000


# --- lookups ----------------------------------------------------------------------------------------


def get_round(session: Session, round_id: int, tavolo_id: int | None = None) -> VoteRound:
    """The round (of ``tavolo_id`` when given), or a 404."""
    vote = session.get(VoteRound, round_id)
    if vote is None or (tavolo_id is not None and vote.tavolo_id != tavolo_id):
        raise not_found(_("Votazione inesistente."))
    return vote


def rounds_of(session: Session, tavolo_id: int) -> list[VoteRound]:
    """The tavolo's rounds, oldest first."""
    return list(session.scalars(select(VoteRound).where(VoteRound.tavolo_id == tavolo_id).order_by(VoteRound.id)))


def lock_round(session: Session, round_id: int) -> VoteRound:
    """The round, re-read and locked: ballots, closing and tie-breaks of one round run one at a time
    (FOR UPDATE on PostgreSQL; on SQLite every write transaction is already exclusive)."""
    vote = session.scalar(
        select(VoteRound).where(VoteRound.id == round_id).with_for_update()
        .execution_options(populate_existing=True)
    )
    if vote is None:
        raise not_found(_("Votazione inesistente."))
    return vote


# --- the draft --------------------------------------------------------------------------------------


def create_round(session: Session, actor: User, tavolo: Tavolo, title: str, method: str, bisogni: list[int], *,
                 settings: dict[str, Any] | None = None, seduta: Seduta | None = None, ballot_unit: str = "person",
                 secret: bool = False, eligibility: dict[str, Any] | None = None, partial_results: bool = False,
                 conflict_excludes: bool = True, breakdown: bool | None = None, opens_at: datetime | None = None,
                 closes_at: datetime | None = None, description: str = "",
                 op_id: str | None = None) -> tuple[VoteRound, record.TavoloEvent]:
    """A draft round on ``bisogni`` (ids of the tavolo's bisogni). ``breakdown`` defaults to on for
    open ballots and off for secret ones."""
    permissions.require(session, actor, "facilitate", tavolo.id)
    vote = VoteRound(tavolo_id=tavolo.id, created_by_id=actor.id, status="draft", revision=0, created_at=utcnow())
    cfg = {"title": title, "description": description, "method": method, "settings": settings,
           "bisogni": bisogni, "seduta_id": seduta.id if seduta is not None else None, "ballot_unit": ballot_unit,
           "secret": secret, "eligibility": eligibility, "partial_results": partial_results,
           "conflict_excludes": conflict_excludes, "breakdown": (not secret) if breakdown is None else breakdown,
           "opens_at": opens_at, "closes_at": closes_at}
    chosen = configure(session, vote, tavolo, cfg)
    session.add(vote)
    session.flush()
    set_items(session, vote, chosen)
    ev = record.append(session, tavolo.id, "vote.created", round_dict(vote), actor.id, op_id)
    return vote, ev


def update_round(session: Session, actor: User, vote: VoteRound, changes: dict[str, Any],
                 op_id: str | None = None) -> record.TavoloEvent:
    """Change a draft: ``changes`` holds any keys of :func:`rules.round_config`."""
    permissions.require(session, actor, "facilitate", vote.tavolo_id)
    vote = lock_round(session, vote.id)
    if vote.status != "draft":
        raise conflict(_("La votazione è già stata aperta: le sue regole non si modificano più."))
    unknown = sorted(set(changes) - set(round_config(vote)))
    if unknown:
        raise invalid(_("Campo non previsto: %(k)s.", k=", ".join(unknown)))
    cfg = {**round_config(vote), **changes}
    tavolo = session.get_one(Tavolo, vote.tavolo_id)
    with session.no_autoflush:
        chosen = configure(session, vote, tavolo, cfg)
    set_items(session, vote, chosen)
    return record.append(session, vote.tavolo_id, "vote.updated", round_dict(vote), actor.id, op_id)


# --- opening ----------------------------------------------------------------------------------------


def open_round(session: Session, actor: User, vote: VoteRound, op_id: str | None = None,
               now: datetime | None = None) -> record.TavoloEvent:
    """Freeze the rules, the items' titles and the electorate, and start accepting ballots."""
    permissions.require(session, actor, "facilitate", vote.tavolo_id)
    vote = lock_round(session, vote.id)
    now = now or utcnow()
    if vote.status != "draft":
        raise conflict(_("La votazione è già aperta.") if vote.status == "open" else _("La votazione è chiusa."))
    if vote.seduta_id is not None:
        seduta = session.get(Seduta, vote.seduta_id)
        if seduta is None or seduta.status != "in_corso":
            raise conflict(_("La seduta di questa votazione non è in corso: avviala prima di aprire il voto."))
    if vote.closes_at is not None and vote.past_closing(now):
        raise conflict(_("La data di chiusura (%(d)s) è già passata: correggila prima di aprire il voto.",
                         d=when(vote.closes_at)))
    tavolo = session.get_one(Tavolo, vote.tavolo_id)
    chosen = check_items(session, tavolo, [i.bisogno_id for i in vote.items])
    voters = compute_electorate(session, vote)
    if not voters:
        raise conflict(_("Con queste regole nessuno ha diritto di voto: rivedi gli aventi diritto."))
    for item, b in zip(vote.items, chosen, strict=True):
        item.title = b.title
    vote.electorate = {"voters": voters}
    vote.status, vote.opened_at = "open", now
    if vote.opens_at is None:
        vote.opens_at = now
    session.flush()
    payload = round_dict(vote) | {"turnout": turnout(session, vote)}
    return record.append(session, vote.tavolo_id, "vote.opened", payload, actor.id, op_id)


# --- conflict of interest ---------------------------------------------------------------------------


def declare_interest(session: Session, actor: User, vote: VoteRound, bisogno_id: int, note: str = "",
                     op_id: str | None = None, now: datetime | None = None
                     ) -> tuple[ConflictDeclaration, record.TavoloEvent]:
    """Record that ``actor`` has an interest in an item, before voting."""
    permissions.require(session, actor, "view", vote.tavolo_id)
    vote = lock_round(session, vote.id)
    now = now or utcnow()
    if vote.status == "closed" or (vote.status == "open" and vote.past_closing(now)):
        raise conflict(_("La votazione è chiusa."))
    if bisogno_id not in {i.bisogno_id for i in vote.items}:
        raise invalid(_("La voce indicata non è fra quelle in votazione."))
    if not isinstance(note, str) or len(note.strip()) > NOTE_LIMIT:
        raise invalid(_("La nota supera i %(n)s caratteri.", n=NOTE_LIMIT))
    voter = voter_for(session, vote, actor)
    if has_voted(session, vote, voter.key):
        raise conflict(_("La scheda è già stata espressa: l'interesse va dichiarato prima del voto."))
    existing = session.scalar(select(ConflictDeclaration.id).where(
        ConflictDeclaration.round_id == vote.id, ConflictDeclaration.bisogno_id == bisogno_id,
        ConflictDeclaration.user_id == actor.id))
    if existing is not None:
        raise conflict(_("Hai già dichiarato un interesse su questa voce."))
    declaration = ConflictDeclaration(round_id=vote.id, bisogno_id=bisogno_id, user_id=actor.id,
                                      organisation_id=voter.organisation_id, voter_key=voter.key,
                                      note=note.strip(), declared_at=now)
    session.add(declaration)
    session.flush()
    title = next((i.title for i in vote.items if i.bisogno_id == bisogno_id), "")
    users, orgs = names(session, [actor.id], [voter.organisation_id])
    payload = {"round_id": vote.id, "bisogno_id": bisogno_id, "title": title, "person": users.get(actor.id),
               "organisation": orgs.get(voter.organisation_id) if voter.organisation_id else None,
               "note": declaration.note, "excludes": vote.conflict_excludes,
               "declared_at": declaration.declared_at.isoformat()}
    return declaration, record.append(session, vote.tavolo_id, "vote.interest_declared", payload, actor.id, op_id)


# --- closing ----------------------------------------------------------------------------------------


def _close(session: Session, vote: VoteRound, actor_id: int | None, op_id: str | None,
           now: datetime) -> record.TavoloEvent:
    if vote.secret:
        box.mix(session, vote)  # the pool into the ballot box, before counting it
    vote.result = compute_result(session, vote) | {"computed_at": now.isoformat()}
    vote.status, vote.closed_at = "closed", now
    session.flush()
    return record.append(session, vote.tavolo_id, "vote.closed", closing_payload(session, vote), actor_id, op_id)


def close_round(session: Session, actor: User, vote: VoteRound, op_id: str | None = None,
                now: datetime | None = None) -> record.TavoloEvent:
    """Stop accepting ballots, count them and store the result (method and version included)."""
    permissions.require(session, actor, "facilitate", vote.tavolo_id)
    vote = lock_round(session, vote.id)
    if vote.status != "open":
        raise conflict(_("La votazione non è aperta.") if vote.status == "draft" else _("La votazione è già chiusa."))
    return _close(session, vote, actor.id, op_id, now or utcnow())


def _due(vote: VoteRound, now: datetime) -> bool:
    return vote.status == "open" and vote.past_closing(now)


def close_if_due(session: Session, vote: VoteRound, now: datetime | None = None) -> record.TavoloEvent | None:
    """Close an open round whose closing time has passed (nobody's action: actor None)."""
    now = now or utcnow()
    if not _due(vote, now):
        return None
    vote = lock_round(session, vote.id)
    if not _due(vote, now):
        return None
    return _close(session, vote, None, None, now)


def close_due_rounds(session: Session, now: datetime | None = None) -> list[record.TavoloEvent]:
    """Close every open round past its closing time; meant to run periodically (caller commits)."""
    now = now or utcnow()
    due = session.scalars(select(VoteRound).where(VoteRound.status == "open", VoteRound.closes_at.is_not(None),
                                                  VoteRound.closes_at <= now).order_by(VoteRound.id)).all()
    return [ev for vote in due if (ev := close_if_due(session, vote, now)) is not None]


# --- tie-break --------------------------------------------------------------------------------------


def tie_break(session: Session, actor: User, vote: VoteRound, seed: str | None = None, op_id: str | None = None,
              now: datetime | None = None) -> record.TavoloEvent:
    """Split the ties of a closed round's ranking by the deterministic draw of ``methods.break_ties``
    (seed given by the facilitator, e.g. drawn in the room, or random); recorded once."""
    permissions.require(session, actor, "facilitate", vote.tavolo_id)
    vote = lock_round(session, vote.id)
    if vote.status != "closed" or not vote.result:
        raise conflict(_("Lo spareggio si fa dopo la chiusura della votazione."))
    if vote.tie_break:
        raise conflict(_("Lo spareggio di questa votazione è già stato fatto."))
    if seed is None:
        seed = secrets.token_hex(8)
    if not isinstance(seed, str) or not seed.strip() or len(seed) > 100:
        raise invalid(_("Il seme dello spareggio è un testo da 1 a 100 caratteri."))
    result = stored_result(vote)
    if not [g for g in result.ranking if len(g) > 1]:
        raise conflict(_("Non ci sono pari merito da spareggiare."))
    broken = methods.break_ties(result, seed)
    vote.tie_break = jsonable({**broken.extra["tie_break"], "ranking": broken.ranking, "by": actor.id,
                               "at": (now or utcnow()).isoformat()})
    session.flush()
    payload = {"round_id": vote.id, "tie_break": vote.tie_break,
               "ranking": ranking_rows(vote, vote.result["tally"], vote.tie_break)}
    return record.append(session, vote.tavolo_id, "vote.tie_break", payload, actor.id, op_id)

