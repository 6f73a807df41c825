"""Who may do what with the documento di sintesi.

The RUP of the procedure (or an administrator of the Ufficio di Piano) generates it, writes its
introduction, sends it for review and approves it. While in review and once approved, every member
of the procedure's tavoli (facilitators, delegates, observers) may read it; a draft only the RUP.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workspace.accounts.permissions import is_authenticated
from workspace.i18n import gettext as _
from workspace.problems import forbidden
from workspace.procedures import permissions as procedure_permissions
from workspace.procedures.models import Procedure
from workspace.sintesi.models import DocumentoSintesi
from workspace.tavoli.models import Tavolo, TavoloRole


def can_manage(user, procedure: Procedure) -> bool:
    return procedure_permissions.can_manage(user, procedure)


def require_manage(user, procedure: Procedure) -> None:
    if not can_manage(user, procedure):
        raise forbidden(_("Solo il responsabile del procedimento (RUP) o un amministratore dell'Ufficio di Piano "
                          "può redigere e approvare il documento di sintesi."))


def is_member(session: Session, user, procedure: Procedure) -> bool:
    if not is_authenticated(user):
        return False
    return session.scalar(select(TavoloRole.id).join(Tavolo, Tavolo.id == TavoloRole.tavolo_id).where(
        Tavolo.procedure_id == procedure.id, TavoloRole.user_id == user.id).limit(1)) is not None


def can_read(session: Session, user, procedure: Procedure, documento: DocumentoSintesi | None) -> bool:
    if can_manage(user, procedure):
        return True
    return documento is not None and documento.status != "bozza" and is_member(session, user, procedure)


def require_read(session: Session, user, procedure: Procedure, documento: DocumentoSintesi | None) -> None:
    if not can_read(session, user, procedure, documento):
        raise forbidden(_("Il documento di sintesi è visibile ai membri dei tavoli della procedura dopo l'invio in "
                          "revisione."))
