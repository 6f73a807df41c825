"""Who may do what with a verbale. Used by the views, the API and the services alike.

- read a verbale that is not yet published (drafts, remarks, history): the tavolo's people
  (``tavoli.permissions`` "view"; administrators of the Ufficio di Piano act as facilitators) and
  the RUP of its procedure, who may be the one to approve it;
- write the narrative, regenerate, send for review, decide on remarks: the tavolo's facilitators;
- file a remark: whoever attended the seduta (is in its presence register) and still sits at the
  tavolo;
- approve and issue an errata: the facilitator or the RUP, as the procedure's minutes settings say
  (for "rup": the procedure's RUP, or an administrator of the Ufficio di Piano, who manages it);
- change the minutes settings of a procedure: whoever manages the procedure (its RUP or an
  administrator: ``procedures.permissions``).
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workspace.accounts.models import User
from workspace.i18n import gettext as _
from workspace.problems import forbidden
from workspace.procedures import permissions as procedure_permissions
from workspace.procedures.models import Procedure
from workspace.tavoli import permissions as tavolo_permissions
from workspace.tavoli.models import Presence, Tavolo


def can_read(session: Session, user: User | None, tavolo_id: int) -> bool:
    """The tavolo's people, and whoever manages its procedure (the RUP may have to approve)."""
    if tavolo_permissions.can(session, user, "view", tavolo_id):
        return True
    tavolo = session.get(Tavolo, tavolo_id)
    return tavolo is not None and procedure_permissions.can_manage(user, tavolo.procedure)


def require_read(session: Session, user: User | None, tavolo_id: int) -> None:
    if not can_read(session, user, tavolo_id):
        tavolo_permissions.require(session, user, "view", tavolo_id)  # its refusal, in its words


def can_write(session: Session, user: User | None, tavolo_id: int) -> bool:
    return tavolo_permissions.can(session, user, "facilitate", tavolo_id)


def require_write(session: Session, user: User | None, tavolo_id: int) -> None:
    if not can_write(session, user, tavolo_id):
        raise forbidden(_("Solo i facilitatori del tavolo possono redigere il verbale."))


def attended(session: Session, user: User | None, seduta_id: int) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return session.scalar(select(Presence.id).where(Presence.seduta_id == seduta_id,
                                                    Presence.user_id == user.id).limit(1)) is not None


def can_remark(session: Session, user: User | None, tavolo_id: int, seduta_id: int) -> bool:
    return can_read(session, user, tavolo_id) and attended(session, user, seduta_id)


def require_remark(session: Session, user: User | None, tavolo_id: int, seduta_id: int) -> None:
    require_read(session, user, tavolo_id)
    if not attended(session, user, seduta_id):
        raise forbidden(_("Le osservazioni al verbale si presentano solo da chi ha partecipato alla seduta."))


def can_approve(session: Session, user: User | None, tavolo: Tavolo, approver: str) -> bool:
    if approver == "rup":
        return procedure_permissions.can_manage(user, tavolo.procedure)
    return can_write(session, user, tavolo.id)


def require_approve(session: Session, user: User | None, tavolo: Tavolo, approver: str) -> None:
    if can_approve(session, user, tavolo, approver):
        return
    if approver == "rup":
        raise forbidden(_("In questa procedura i verbali li approva il responsabile del procedimento (RUP)."))
    raise forbidden(_("In questa procedura i verbali li approva il facilitatore del tavolo."))


def can_configure(user: User | None, procedure: Procedure) -> bool:
    return procedure_permissions.can_manage(user, procedure)


def require_configure(user: User | None, procedure: Procedure) -> None:
    if not can_configure(user, procedure):
        raise forbidden(_("Le regole dei verbali le stabilisce l'Ufficio di Piano: il responsabile del procedimento "
                          "o un amministratore."))
