"""Who may do what with a vote. Roles are the tavolo's (workspace/tavoli/permissions.py): facilitators
prepare, open, close and tie-break rounds; who may *vote* is the round's electorate
(service.voter_for); this module says who may *read* a round's results."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from workspace.accounts.models import User
from workspace.problems import forbidden
from workspace.tavoli import permissions
from workspace.tavoli.models import Tavolo
from workspace.voting.models import VoteRound


def may_read(session: Session, vote: VoteRound, viewer: User | None) -> str:
    """``"member"`` (the tavolo's people: sees names), ``"public"`` (anyone, for a closed round of a
    published procedure: organisations only), otherwise a 403 Problem."""
    if viewer is not None and permissions.can(session, viewer, "view", vote.tavolo_id):
        return "member"
    tavolo = session.get(Tavolo, vote.tavolo_id)
    if vote.status == "closed" and tavolo is not None and tavolo.procedure.published:
        return "public"
    raise forbidden(_("Non fai parte di questo tavolo."))
