"""What the procedures area tells the privacy area about a person, through the named signals.

- ``personal_data_requested``: the procedures the person is RUP of, and the applications that
  name them, with only the parts that concern them (never the other people the same application
  names). An application names the person when its delegate's address is theirs, or when it is an
  application of one of their organisations and its delegate, legal representative or proxy has
  their name: a name alone could be somebody else's;
- ``person_pseudonymised``: applications, their revisions and the procedure's log stay (they are
  the administrative record of the procedure); the copies of the name and address go: in the
  people's fields of the applications that name the person (and of their revisions), in the free
  text of every application (a full name or the e-mail address only, see
  ``privacy.service.Scrubber``), and the name written next to the person's decisions and steps of
  a procedure (whatever name they were taken with).

Connected in ``workspace.procedures.register``.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from workspace.accounts.models import User
from workspace.privacy.service import Scrubber, batched
from workspace.procedures.models import Application, ApplicationRevision, Procedure, ProcedureTransition

#: Where an application names people (and their addresses), and its free text.
_PEOPLE = ("legal_rep_name", "proxy_name", "delegate_name", "delegate_email", "organisation_email")
_TEXTS = ("transitional_details", "coi_details", "coi_statement", "motivation")


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


# --------------------------------------------------------------------------- export


def _naming(user: User) -> ColumnElement[bool]:
    """The applications that name ``user`` (see the module docstring)."""
    by_address = func.lower(Application.delegate_email) == user.email.lower()
    organisations = [m.organisation_id for m in user.memberships]
    if not organisations:
        return by_address
    by_name = and_(Application.organisation_id.in_(organisations), or_(
        Application.delegate_name == user.name, Application.legal_rep_name == user.name,
        Application.proxy_name == user.name))
    return or_(by_address, by_name)


def personal_data(session: Session, *, user: User, **_: Any) -> dict[str, Any]:
    procedures = session.scalars(select(Procedure).where(Procedure.rup_id == user.id).order_by(Procedure.id))
    applications = session.scalars(select(Application).where(_naming(user)).order_by(Application.id))
    return {
        "procedures_as_rup": [{"id": p.id, "title": p.title, "ambito_code": p.ambito_code} for p in procedures],
        "applications": [_application(a, user) for a in applications],
    }


def _application(a: Application, user: User) -> dict[str, Any]:
    name, email = user.name, user.email.lower()
    out: dict[str, Any] = {
        "id": a.id, "procedure_id": a.procedure_id, "procedure": a.procedure.title,
        "organisation": a.organisation_name, "codice_fiscale": a.codice_fiscale,
        "status": a.status, "submitted_at": _iso(a.submitted_at), "updated_at": _iso(a.updated_at),
        "decided_at": _iso(a.decided_at), "named_as": [],
    }
    if a.delegate_email.lower() == email or a.delegate_name == name:
        out["named_as"].append("delegate")
        out["delegate"] = {"name": a.delegate_name, "email": a.delegate_email}
    if a.legal_rep_name == name:
        out["named_as"].append("legal_representative")
        out["legal_representative"] = {"name": a.legal_rep_name, "role": a.legal_rep_role}
    if a.signed_by_proxy and a.proxy_name == name:
        out["named_as"].append("proxy")
        out["proxy"] = {"name": a.proxy_name}
    return out


# --------------------------------------------------------------------------- pseudonymisation


def pseudonymise(session: Session, *, user: User, scrubber: Scrubber, **_: Any) -> int:
    """Rows changed: applications, their revisions and the steps of the procedures' log."""
    naming = set(session.scalars(select(Application.id).where(_naming(user))))
    changed = 0
    for application in batched(session, Application):
        columns = (*_PEOPLE, *_TEXTS) if application.id in naming else _TEXTS
        touched = scrubber.rewrite_columns([application], columns)
        if application.decided_by_id == user.id and application.decided_by_name != scrubber.replacement:
            application.decided_by_name = scrubber.replacement  # whatever name the decision was taken with
            touched = 1
        changed += touched
    for revision in batched(session, ApplicationRevision):
        keys = (*_PEOPLE, *_TEXTS) if revision.application_id in naming else _TEXTS
        data = revision.data
        new = {k: scrubber.json(v) if k in keys else v for k, v in data.items()}
        if new != data:
            revision.data = new  # a new object: SQLAlchemy does not see in-place changes to JSON
            changed += 1
    steps = cast("CursorResult[Any]", session.execute(
        update(ProcedureTransition)
        .where(ProcedureTransition.actor_id == user.id, ProcedureTransition.actor_name != scrubber.replacement)
        .values(actor_name=scrubber.replacement).execution_options(synchronize_session=False)))
    return changed + (steps.rowcount or 0)
