"""Who may see and change the esiti of a procedure's previous programming.

- enter, edit, delete and import the previous objectives and their esiti: whoever manages the
  procedure (its RUP or an administrator of the Ufficio di Piano: ``procedures.permissions``);
- read them (page, exports, download): those, and the people of the procedure's tavoli (any role:
  facilitator, delegate, observer), who work on the new programming;
- the public reads them once the procedure is published (``public.py``), without logging in.

A procedure that has reached its final state ("conclusa") is frozen: nothing changes any more.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workspace.accounts.models import User
from workspace.i18n import gettext as _
from workspace.problems import Problem, forbidden
from workspace.procedures import permissions as procedure_permissions
from workspace.procedures.models import Procedure
from workspace.tavoli.models import Tavolo, TavoloRole

FROZEN_STATUSES = frozenset({"conclusa"})


def can_edit(user: User | None, procedure: Procedure) -> bool:
    return procedure_permissions.can_manage(user, procedure)


def require_manage(user: User | None, procedure: Procedure) -> None:
    """The Ufficio di Piano's side of the esiti (403 for anyone else), frozen or not."""
    if not can_edit(user, procedure):
        raise forbidden(_("Gli esiti della precedente programmazione li inserisce l'Ufficio di Piano: il "
                          "responsabile del procedimento (RUP) o un amministratore."))


def require_edit(user: User | None, procedure: Procedure) -> None:
    """A write: the Ufficio di Piano (403), on a procedure not yet concluded (409)."""
    require_manage(user, procedure)
    if procedure.status in FROZEN_STATUSES:
        raise Problem("frozen", _("La procedura è conclusa: gli esiti non si possono più modificare."), 409)


def sits_at_a_tavolo(session: Session, user: User | None, procedure: Procedure) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return session.scalar(
        select(TavoloRole.id).join(Tavolo, Tavolo.id == TavoloRole.tavolo_id)
        .where(Tavolo.procedure_id == procedure.id, TavoloRole.user_id == user.id).limit(1)) is not None


def can_read(session: Session, user: User | None, procedure: Procedure) -> bool:
    return can_edit(user, procedure) or sits_at_a_tavolo(session, user, procedure)


def require_read(session: Session, user: User | None, procedure: Procedure) -> None:
    if not can_read(session, user, procedure):
        raise forbidden(_("Gli esiti della precedente programmazione sono visibili all'Ufficio di Piano e a chi "
                          "partecipa ai tavoli della procedura."))


def public_procedure(session: Session, procedure_id: int) -> Procedure:
    """The procedure if the public may read its esiti: published (the procedures area's flag) and
    with a public record open now; otherwise a 404 that does not say whether it exists."""
    from workspace.problems import not_found
    from workspace.procedures import service as procedures

    procedure = procedures.get_public_procedure(session, procedure_id)
    if not procedure.published:
        raise not_found(_("Procedura inesistente o non pubblicata."))
    return procedure
