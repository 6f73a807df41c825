"""Who may do what with a vote. Roles are the tavolo's (workspace/tavoli/permissions.py): facilitators
prepare, open, close and tie-break rounds; who may *vote* is the round's electorate
(``electorate.voter_for``); this module says who may *read* a round's results."""
from __future__ import annotations

from sqlalchemy.orm import Session

from workspace.accounts.models import User
from workspace.i18n import gettext as _
from workspace.problems import forbidden
from workspace.tavoli import permissions
from workspace.tavoli.models import Tavolo
from workspace.voting.models import VoteRound


def audience(session: Session, vote: VoteRound, viewer: User | None) -> str | None:
    """``"member"`` (the tavolo's people: they see names), ``"public"`` (anyone, for a closed round of a
    published procedure: organisations only), or None (may not read it)."""
    if viewer is not None and permissions.can(session, viewer, "view", vote.tavolo_id):
        return "member"
    tavolo = session.get(Tavolo, vote.tavolo_id)
    if vote.status == "closed" and tavolo is not None and tavolo.procedure.published:
        return "public"
    return None


def may_read(session: Session, vote: VoteRound, viewer: User | None) -> str:
    """The viewer's audience, or a 403 Problem."""
    found = audience(session, vote, viewer)
    if found is None:
        raise forbidden(_("Non fai parte di questo tavolo."))
    return found
