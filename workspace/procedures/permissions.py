"""Who may start and manage a procedure, and what the public may see. Small named predicates; the
views and the services ask the same questions in the same words.

An administrator of the Ufficio di Piano starts a procedure; its RUP (responsabile del procedimento)
or an administrator manages it. The public sees a procedure only once its avviso is published, and
then only the items of its publication log whose window is open.
"""
from __future__ import annotations

from datetime import datetime

from workspace.accounts.permissions import is_admin, is_authenticated
from workspace.i18n import gettext as _
from workspace.problems import forbidden
from workspace.procedures.models import PROCEDURE_STATUSES, Procedure


def can_create(user) -> bool:
    """Procedures are started by the Ufficio di Piano: its administrators."""
    return is_admin(user)


def require_create(user) -> None:
    if not can_create(user):
        raise forbidden(_("Solo un amministratore dell'Ufficio di Piano può avviare una procedura."))


def is_rup(user, procedure: Procedure) -> bool:
    return is_authenticated(user) and procedure.rup_id is not None and procedure.rup_id == user.id


def can_manage(user, procedure: Procedure) -> bool:
    return is_admin(user) or is_rup(user, procedure)


def require_manage(user, procedure: Procedure) -> None:
    if not can_manage(user, procedure):
        raise forbidden(_("Solo il responsabile del procedimento (RUP) o un amministratore dell'Ufficio di "
                          "Piano può gestire questa procedura."))


def avviso_out(procedure: Procedure) -> bool:
    """The avviso has been published (the procedure is past its draft)."""
    return PROCEDURE_STATUSES.index(procedure.status) >= PROCEDURE_STATUSES.index("avviso_pubblicato")


def visible_items(procedure: Procedure, now: datetime, kind: str | None = None) -> list:
    """The publication items whose window is open at ``now`` (none while in draft)."""
    if not avviso_out(procedure):
        return []
    return [item for item in procedure.publications
            if item.visible_at(now) and (kind is None or item.kind == kind)]


def is_public(procedure: Procedure, now: datetime) -> bool:
    """The public page exists while at least one of its items is published."""
    return bool(visible_items(procedure, now))
