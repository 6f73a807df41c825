"""The RUP's decision on each application, and what follows from it.

Admission links (or creates) the organisation, makes it member of the tavoli it chose and invites
its delegate by link (or, if the delegate already belongs to the organisation, makes them delegate
at once); the applicant is notified either way. All or nothing: if any step fails (an e-mail too),
nothing is kept. The delegate who follows the link joins the tavoli.

Each decision and each accepted invitation is announced to the audit trail
(``signals.action_recorded``) in its transaction.
"""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import Session

from workspace import mail, signals
from workspace.accounts import links as account_links
from workspace.accounts import service as accounts
from workspace.accounts.models import Organisation, User
from workspace.db import utcnow
from workspace.i18n import gettext as _
from workspace.problems import Problem, conflict, invalid, invalid_fields, not_found
from workspace.procedures import permissions
from workspace.procedures.labels import APPLICATION_STATUS_LABELS, STATUS_LABELS
from workspace.procedures.models import Application
from workspace.tavoli import membership

MAX_MOTIVATION = 5_000


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _send(to: str, subject: str, template: str, **context: Any) -> None:
    try:
        mail.send_mail(to, subject, mail.render_mail(template, **context))
    except mail.MailError as exc:
        raise Problem("mail_failed", exc.message, 503) from exc


def decide(session: Session, actor: User, application: Application, decision: str, motivation: str | None,
           now: datetime | None = None) -> Application:
    """Admit or exclude, with a mandatory motivation (see the module's note)."""
    procedure = application.procedure
    permissions.require_manage(actor, procedure)
    now = now or utcnow()
    if decision not in ("admitted", "excluded"):
        raise invalid(_("Decisione non valida: ammettere o escludere."), field="decision")
    if procedure.status != "ammissioni":
        raise conflict(_("Le candidature si esaminano nella fase «%(phase)s», dopo la scadenza (stato attuale: "
                         "«%(now)s»).", phase=STATUS_LABELS["ammissioni"], now=STATUS_LABELS[procedure.status]))
    if application.status != "submitted":
        raise conflict(_("La candidatura di «%(org)s» è già stata decisa (%(status)s).",
                         org=application.organisation_name,
                         status=APPLICATION_STATUS_LABELS[application.status].lower()))
    motivation = (motivation or "").strip()
    if not motivation:
        raise invalid_fields({"motivation": _("La motivazione è obbligatoria, sia per ammettere sia per escludere.")})
    if len(motivation) > MAX_MOTIVATION:
        raise invalid_fields({"motivation": _("La motivazione è troppo lunga (al massimo %(n)d caratteri).",
                                              n=MAX_MOTIVATION)})
    with session.begin_nested():
        application.status, application.motivation = decision, motivation
        application.decided_by_id, application.decided_by_name, application.decided_at = actor.id, actor.name, now
        with force_locale("it"):
            if decision == "admitted":
                _admit(session, actor, application)
            else:
                _send(application.organisation_email,
                      _("Esito della candidatura: %(title)s", title=procedure.title),
                      "procedure_excluded.txt", application=application, procedure=procedure,
                      outcome=APPLICATION_STATUS_LABELS["excluded"],
                      public_url=mail.external_url("procedures.public", procedure_id=procedure.id))
        session.flush()
        signals.action_recorded.send(session, actor=actor, action=f"application.{decision}",
                                     object_type="application", object_id=application.id,
                                     details={"procedure_id": procedure.id,
                                              "organisation_id": application.organisation_id})
    return application


def _organisation_for(session: Session, actor: User, application: Application) -> Organisation:
    """The organisation record of an admitted application: the one with its codice fiscale, or a new
    one from the data declared (RUNTS data are not asked again)."""
    org = session.scalar(select(Organisation).where(Organisation.codice_fiscale == application.codice_fiscale))
    if org is not None:
        return org
    if application.transitional_status:
        # accounts' rules require a repertorio number for an ETS; a declared transitional status has none.
        org = Organisation(name=application.organisation_name, kind=application.organisation_kind,
                           ambito_code=None, codice_fiscale=application.codice_fiscale,
                           runts_section=application.runts_section, runts_repertorio=None,
                           email=application.organisation_email)
        session.add(org)
        session.flush()
        accounts.announce(session, actor, "organisation.created", "organisation", org.id, kind=org.kind,
                          ambito_code=None)
        return org
    try:
        return accounts.create_organisation(
            session, name=application.organisation_name, kind=application.organisation_kind,
            codice_fiscale=application.codice_fiscale, runts_section=application.runts_section,
            runts_repertorio=application.runts_repertorio, email=application.organisation_email, actor=actor,
        )
    except Problem as exc:
        raise Problem("invalid", exc.message, exc.status) from exc


def _grant_tavoli(session: Session, actor: User, application: Application, org: Organisation,
                  user: User) -> None:
    """The person becomes delegate of the organisation at each tavolo it chose (a person who already
    has another role at a tavolo keeps it); recorded on each tavolo with ``actor`` as author."""
    for tavolo in application.tavoli:
        membership.admit_organisation(session, actor, tavolo, org, user)


def _admit(session: Session, actor: User, application: Application) -> None:
    procedure = application.procedure
    org = _organisation_for(session, actor, application)
    application.organisation = org
    for tavolo in application.tavoli:
        membership.admit_organisation(session, actor, tavolo, org)
    person = accounts.find_user(session, application.delegate_email)
    tavolo_links = [(t.title, mail.external_url("tavoli.home", tavolo_id=t.id)) for t in application.tavoli]
    if person is not None and person.active and accounts.is_member(session, person, org):
        _grant_tavoli(session, actor, application, org, person)
        _send(person.email, _("Partecipazione ai tavoli: %(title)s", title=procedure.title),
              "procedure_delegate_added.txt", application=application, procedure=procedure, tavoli=tavolo_links)
    else:
        raw = account_links.issue_token(session, "invitation", application.delegate_email,
                                   name=application.delegate_name, user=person, organisation=org, created_by=actor)
        application.invitation_token_hash = _hash(raw)
        session.flush()
        lifetime_days = int(current_app.config.get("INVITATION_DAYS", 14))
        _send(application.delegate_email, _("Invito ai tavoli di co-programmazione: %(org)s", org=org.name),
              "procedure_invitation.txt", application=application, procedure=procedure, tavoli=tavolo_links,
              link=mail.external_url("procedures.invitation", token=raw), days=lifetime_days)
    _send(application.organisation_email, _("Esito della candidatura: %(title)s", title=procedure.title),
          "procedure_admitted.txt", application=application, procedure=procedure,
          outcome=APPLICATION_STATUS_LABELS["admitted"], tavoli=tavolo_links)


# --------------------------------------------------------------------------- the delegate's invitation


def invitation_application(session: Session, raw: str) -> Application:
    """The admitted application behind a delegate's invitation link (404 if the link is unknown)."""
    application = None
    if raw and len(raw) <= account_links.MAX_TOKEN_LENGTH:
        application = session.scalar(select(Application).where(Application.invitation_token_hash == _hash(raw)))
    if application is None or application.status != "admitted":
        raise not_found(_("Il link non è valido. Controlla di averlo copiato per intero dall'e-mail ricevuta."))
    try:
        account_links.peek_token(session, raw, "invitation")
    except Problem as exc:
        raise Problem("invalid_link", exc.message, exc.status) from exc
    return application


def accept_invitation(session: Session, raw: str, *, name: str | None = None,
                      password: str | None = None) -> tuple[User, Application]:
    """The delegate joins through the link: account (or existing one), delegate of the organisation,
    and delegate at each tavolo the organisation chose. Returns the person to log in."""
    application = invitation_application(session, raw)
    org = application.organisation
    if org is None:  # deleted since the admission
        raise Problem("invalid_link", _("L'organizzazione di questa candidatura non è più registrata: "
                                        "rivolgersi all'Ufficio di Piano."), 410)
    with session.begin_nested():
        try:
            user = account_links.accept_invitation(session, raw, password=password, name=name)
        except Problem as exc:
            if exc.errors:
                raise invalid_fields(exc.errors, exc.status) from exc
            raise Problem("invalid", exc.message, exc.status) from exc
        _grant_tavoli(session, user, application, org, user)
        session.flush()
        signals.action_recorded.send(session, actor=user, action="application.invitation_accepted",
                                     object_type="application", object_id=application.id,
                                     details={"procedure_id": application.procedure_id,
                                              "organisation_id": application.organisation_id})
    return user, application
