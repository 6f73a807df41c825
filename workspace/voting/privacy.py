"""What the voting area tells the privacy area about a person, through the named signals.

- ``personal_data_requested``: the person's attributed (open) ballots, the rounds they took part
  in and their declarations of a conflict of interest. Of a secret round only the fact that the
  person took part is exported: no time, no group, no content (nothing stored could link a person
  to a secret ballot anyway: see ``workspace.voting.models``).
- ``person_pseudonymised``: ballots, participations and declarations stay (they are the count and
  the record of the vote); the copies of the name in free text go (declarations' notes, the
  titles and descriptions of rounds and the bisogno titles copied onto ballots), a full name or the
  e-mail address only (see ``privacy.service.Scrubber``). The record's ``vote.*`` events are
  rewritten by privacy with every other event.

Connected in ``workspace.voting.register``.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workspace.accounts.models import Organisation, User
from workspace.accounts.payloads import organisation_ref
from workspace.privacy.service import Scrubber, batched
from workspace.tavoli.models import Tavolo
from workspace.voting.models import ConflictDeclaration, OpenBallot, Participation, VoteRound, VoteRoundItem


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


# --------------------------------------------------------------------------- export


def personal_data(session: Session, *, user: User, **_: Any) -> dict[str, Any]:
    uid = user.id
    ballots = list(session.scalars(
        select(OpenBallot).join(VoteRound, VoteRound.id == OpenBallot.round_id)
        .where(OpenBallot.user_id == uid, VoteRound.secret.is_(False)).order_by(OpenBallot.id)))
    participations = list(session.scalars(select(Participation).where(Participation.user_id == uid)
                                          .order_by(Participation.round_id)))
    conflicts = list(session.scalars(select(ConflictDeclaration).where(ConflictDeclaration.user_id == uid)
                                     .order_by(ConflictDeclaration.id)))
    rows: list[OpenBallot | Participation | ConflictDeclaration] = [*ballots, *participations, *conflicts]
    round_ids = {row.round_id for row in rows}
    rounds = {r.id: r for r in session.scalars(select(VoteRound).where(VoteRound.id.in_(round_ids)))}
    titles = {t.id: t.title for t in session.scalars(
        select(Tavolo).where(Tavolo.id.in_({r.tavolo_id for r in rounds.values()})))}
    orgs = {o.id: o for o in session.scalars(select(Organisation).where(Organisation.id.in_(
        {row.organisation_id for row in rows if row.organisation_id})))}

    def about(round_id: int) -> dict[str, Any]:
        vote = rounds[round_id]
        return {"round_id": vote.id, "round": vote.title, "tavolo_id": vote.tavolo_id,
                "tavolo": titles.get(vote.tavolo_id), "secret": vote.secret}

    def took_part(p: Participation) -> dict[str, Any]:
        if rounds[p.round_id].secret:
            return {**about(p.round_id), "took_part": True}
        return {**about(p.round_id), "took_part": True,
                "for": "organisation" if p.voter_key.startswith("o:") else "person",
                "organisation": organisation_ref(orgs.get(p.organisation_id)) if p.organisation_id else None,
                "voted_at": _iso(p.voted_at)}

    return {
        "vote_ballots": [
            {**about(b.round_id), "for": "organisation" if b.voter_key.startswith("o:") else "person",
             "organisation": organisation_ref(orgs.get(b.organisation_id)) if b.organisation_id else None,
             "content": b.content, "cast_at": _iso(b.cast_at), "updated_at": _iso(b.updated_at)}
            for b in ballots
        ],
        "vote_participations": [took_part(p) for p in participations],
        "vote_conflicts": [
            {**about(c.round_id), "bisogno_id": c.bisogno_id, "note": c.note,
             "organisation": organisation_ref(orgs.get(c.organisation_id)) if c.organisation_id else None,
             "declared_at": _iso(c.declared_at)}
            for c in conflicts
        ],
    }


# --------------------------------------------------------------------------- pseudonymisation


def pseudonymise(session: Session, *, user: User, scrubber: Scrubber, **_: Any) -> int:
    """Rows whose free text named the person."""
    if not scrubber.rewrites_text:
        return 0
    return (scrubber.rewrite_columns(batched(session, ConflictDeclaration), ("note",))
            + scrubber.rewrite_columns(batched(session, VoteRound), ("title", "description"))
            + scrubber.rewrite_columns(batched(session, VoteRoundItem), ("title",)))
