"""Finding procedures and applications: for the RUP (what they manage) and for the public (what the
public record shows at a moment). Unknown or unpublished ones are a 404 ``Problem``.

The writes live beside this module, one responsibility each: ``lifecycle`` (creation, the draft,
the steps), ``publication`` (the public record and its windows), ``applications`` (receiving
them), ``admissions`` (deciding them, with the mails and the delegate's invitation) and
``opendata`` (the aggregates in CSV).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from workspace.accounts.models import User
from workspace.db import utcnow
from workspace.i18n import gettext as _
from workspace.problems import not_found
from workspace.procedures import permissions
from workspace.procedures.models import Application, Procedure


def get_procedure(session: Session, procedure_id: int) -> Procedure:
    procedure = session.get(Procedure, procedure_id)
    if procedure is None:
        raise not_found(_("Procedura inesistente."))
    return procedure


def get_application(session: Session, procedure: Procedure, application_id: int) -> Application:
    application = session.get(Application, application_id)
    if application is None or application.procedure_id != procedure.id:
        raise not_found(_("Candidatura inesistente."))
    return application


def managed_procedures(session: Session, user: User) -> list[Procedure]:
    query = select(Procedure).order_by(Procedure.id.desc())
    if not user.is_admin:
        query = query.where(Procedure.rup_id == user.id)
    return list(session.scalars(query))


def all_procedures(session: Session) -> list[Procedure]:
    """Every procedure, newest first (the Ufficio di Piano's set-up page)."""
    return list(session.scalars(select(Procedure).order_by(Procedure.id.desc())))


def public_procedures(session: Session, now: datetime | None = None) -> list[Procedure]:
    now = now or utcnow()
    candidates = session.scalars(
        select(Procedure).where(Procedure.status != "bozza").order_by(Procedure.id.desc())
    )
    return [p for p in candidates if permissions.is_public(p, now)]


def get_public_procedure(session: Session, procedure_id: int, now: datetime | None = None) -> Procedure:
    """The procedure if its public record shows anything at ``now``; otherwise 404 (an unpublished
    procedure does not reveal that it exists)."""
    procedure = session.get(Procedure, procedure_id)
    if procedure is None or not permissions.is_public(procedure, now or utcnow()):
        raise not_found(_("Procedura inesistente o non pubblicata."))
    return procedure
