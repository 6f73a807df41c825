"""Receiving applications (manifestazioni di interesse) from the public form: the window, the rules
(codice fiscale, RUNTS or transitional status, declarations, conflict of interest, tavoli), one
application per organisation and procedure (applying again before the deadline updates it, each
submission kept as a revision), the receipt by e-mail, and the RUP's protocol number.

Every problem of an application is reported at once (``Problem.errors``, {field: message}) and
nothing is written; the receipt leaves only once the application is committed.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workspace import mail, record, signals
from workspace.accounts import codice_fiscale as cf_rules
from workspace.accounts import service as accounts
from workspace.accounts.models import User
from workspace.db import utcnow
from workspace.i18n import gettext as _
from workspace.ids import parse_id
from workspace.problems import Problem, conflict, invalid, invalid_fields
from workspace.procedures import permissions
from workspace.procedures.files import StoredFile
from workspace.procedures.labels import when
from workspace.procedures.models import (
    PROCEDURE_STATUSES,
    TRANSITIONAL_STATUSES,
    Application,
    ApplicationRevision,
    Procedure,
)
from workspace.procedures.texts import COI_DECLARED, COI_NONE, DECLARATIONS

if TYPE_CHECKING:
    from workspace.tavoli.models import Tavolo

MAX_COI_DETAILS = 5_000


def applications_open(procedure: Procedure, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return (procedure.status == "candidature" and procedure.avviso_published_at is not None
            and procedure.application_deadline is not None
            and procedure.avviso_published_at <= now < procedure.application_deadline)


def check_window(procedure: Procedure, now: datetime | None = None) -> None:
    """Refuse an application outside the window, saying when it is (or was)."""
    now = now or utcnow()
    if applications_open(procedure, now):
        return
    deadline = procedure.application_deadline
    index = PROCEDURE_STATUSES.index(procedure.status)
    if deadline is not None and (now >= deadline or index > PROCEDURE_STATUSES.index("candidature")):
        raise Problem("deadline_passed", _("Il termine per presentare la candidatura è scaduto il %(d)s: la "
                                           "candidatura non può più essere accolta.", d=when(deadline)), 409)
    raise Problem("not_open", _("Le candidature per questa procedura non sono ancora aperte."), 409)


def application_tavoli(procedure: Procedure, now: datetime | None = None) -> list[Tavolo]:
    """The tavoli an organisation may choose: those the public record lists."""
    now = now or utcnow()
    listed = {i.ref_id for i in permissions.visible_items(procedure, now, "tavolo")}
    return [t for t in procedure.tavoli if t.id in listed]


@dataclass
class Cleaned:
    values: dict[str, Any]
    tavoli: list[Tavolo]


class _Checker:
    """Reads one application's data, collecting {field: message} for everything at fault."""

    def __init__(self, data: dict[str, Any]):
        self.data = data
        self.errors: dict[str, str] = {}

    def text(self, field: str, label: str, max_length: int, required: bool = True) -> str:
        value = " ".join(str(self.data.get(field) or "").split())
        if required and not value:
            self.errors[field] = _("Il campo «%(label)s» è obbligatorio.", label=label)
        elif len(value) > max_length:
            self.errors[field] = _("Il campo «%(label)s» è troppo lungo (al massimo %(n)d caratteri).",
                                   label=label, n=max_length)
        return value

    def email(self, field: str) -> str:
        try:
            return accounts.normalise_email(self.data.get(field), field=field)
        except Problem as exc:
            self.errors[field] = exc.message
            return ""

    def organisation(self, procedure: Procedure, values: dict[str, Any]) -> None:
        """Name, kind (as the avviso allows), codice fiscale, RUNTS or transitional status."""
        values["organisation_name"] = self.text("organisation_name", _("Denominazione dell'organizzazione"), 300)
        kind = str(self.data.get("organisation_kind") or "ets")
        allowed = procedure.allowed_kinds or ["ets"]
        if kind not in allowed:
            self.errors["organisation_kind"] = (
                _("Questo avviso ammette solo gli enti del Terzo settore.") if allowed == ["ets"]
                else _("Questo avviso non ammette candidature da questo tipo di organizzazione."))
        values["organisation_kind"] = kind

        cf = cf_rules.normalise(self.data.get("codice_fiscale"))
        try:
            if not cf:
                raise cf_rules.CodiceFiscaleError(_("Il codice fiscale dell'organizzazione è obbligatorio."))
            cf = cf_rules.validate_numeric(cf) if kind == "ets" else cf_rules.validate(cf)
        except cf_rules.CodiceFiscaleError as exc:
            self.errors["codice_fiscale"] = exc.message
        values["codice_fiscale"] = cf

        registration = str(self.data.get("registration") or "runts")
        section, repertorio = accounts.clean_runts(self.data.get("runts_section"), self.data.get("runts_repertorio"))
        values.update(runts_section=None, runts_repertorio=None, transitional_status=None, transitional_details="")
        if kind != "ets":
            return
        if registration == "runts":
            self.errors.update(accounts.runts_errors(section, repertorio))
            values.update(runts_section=section, runts_repertorio=repertorio)
        elif registration in TRANSITIONAL_STATUSES:
            # Not yet registered: a section may be declared (the one applied for), no number.
            if section is not None:
                self.errors.update(accounts.runts_errors(section, None, require_repertorio=False))
            values.update(transitional_status=registration, runts_section=section,
                          transitional_details=self.text("transitional_details",
                                                         _("Estremi della condizione transitoria"), 1000))
        else:
            self.errors["registration"] = _("Indicare se l'ente è iscritto al RUNTS o in quale condizione "
                                            "transitoria si trova.")

    def declarations(self, values: dict[str, Any]) -> None:
        """The self-declarations, stored with their text, and the conflict of interest."""
        given = self.data.get("declarations") or {}
        declarations = []
        for key, statement in DECLARATIONS:
            accepted = bool(given.get(key))
            if not accepted:
                self.errors[f"decl_{key}"] = _("Per candidarsi occorre rendere questa dichiarazione.")
            declarations.append({"key": key, "text": statement, "accepted": accepted})
        values["declarations"] = declarations

        coi = str(self.data.get("coi") or "")
        details = str(self.data.get("coi_details") or "").strip()
        if coi == "none":
            values.update(coi_none=True, coi_details="", coi_statement=COI_NONE)
        elif coi == "declared":
            if not details:
                self.errors["coi_details"] = _("Descrivere le situazioni di conflitto di interessi dichiarate.")
            elif len(details) > MAX_COI_DETAILS:
                self.errors["coi_details"] = _("La descrizione è troppo lunga (al massimo 5000 caratteri).")
            values.update(coi_none=False, coi_details=details, coi_statement=COI_DECLARED + details)
        else:
            self.errors["coi"] = _("La dichiarazione sul conflitto di interessi è obbligatoria: scegliere una delle "
                                   "due opzioni.")

    def tavoli(self, choosable: dict[int, Tavolo]) -> list[Tavolo]:
        wanted: list[int] = []
        for raw in self.data.get("tavoli") or []:
            tavolo_id = parse_id(raw)
            if tavolo_id is None:
                self.errors["tavoli"] = _("Tavolo non valido.")
            else:
                wanted.append(tavolo_id)
        chosen = [choosable[i] for i in dict.fromkeys(wanted) if i in choosable]
        if not wanted:
            self.errors.setdefault("tavoli", _("Scegliere almeno un tavolo a cui partecipare."))
        elif len(chosen) != len(set(wanted)):
            self.errors.setdefault("tavoli", _("Tavolo non valido: scegliere fra i tavoli indicati nell'avviso."))
        return chosen


def check_application(session: Session, procedure: Procedure, data: dict[str, Any], *, has_proxy_file: bool,
                      now: datetime | None = None) -> tuple[Cleaned, dict[str, str]]:
    """Validate an application without writing: (cleaned values, {field: message}), every problem
    at once so the form shows them together."""
    check = _Checker(data)
    values: dict[str, Any] = {}
    check.organisation(procedure, values)
    values["organisation_email"] = check.email("organisation_email")
    values["legal_rep_name"] = check.text("legal_rep_name", _("Legale rappresentante"), 200)
    values["legal_rep_role"] = check.text("legal_rep_role", _("Carica del legale rappresentante"), 100,
                                          required=False)
    proxy = bool(data.get("signed_by_proxy"))
    values["signed_by_proxy"] = proxy
    values["proxy_name"] = check.text("proxy_name", _("Chi firma su procura"), 200) if proxy else None
    if proxy and not has_proxy_file:
        check.errors["proxy_file"] = _("Chi firma su procura deve allegare la procura (PDF o PDF firmato .p7m).")
    values["delegate_name"] = check.text("delegate_name", _("Persona delegata ai tavoli"), 200)
    values["delegate_email"] = check.email("delegate_email")
    check.declarations(values)
    chosen = check.tavoli({t.id: t for t in application_tavoli(procedure, now)})
    return Cleaned(values, chosen), check.errors


def _snapshot(application: Application) -> dict[str, Any]:
    keys = ("codice_fiscale", "organisation_name", "organisation_kind", "runts_section", "runts_repertorio",
            "transitional_status", "transitional_details", "organisation_email", "legal_rep_name",
            "legal_rep_role", "signed_by_proxy", "proxy_name", "proxy_file_name", "proxy_file_sha256",
            "delegate_name", "delegate_email", "declarations", "coi_none", "coi_details", "coi_statement")
    data = {k: getattr(application, k) for k in keys}
    data["tavoli"] = [t.id for t in application.tavoli]
    return data


def submit_application(session: Session, procedure: Procedure, data: dict[str, Any],
                       proxy: StoredFile | None = None, now: datetime | None = None) -> tuple[Application, bool]:
    """Receive an application (server time), or update the organisation's previous one: one per
    codice fiscale and procedure. Returns (application, created). Late ones are refused (409).
    The receipt is mailed once the caller commits."""
    now = now or utcnow()
    check_window(procedure, now)
    existing = _existing(session, procedure, data)
    has_file = proxy is not None or bool(existing and existing.proxy_file_path)
    cleaned, errors = check_application(session, procedure, data, has_proxy_file=has_file, now=now)
    if errors:
        raise invalid_fields(errors)
    try:
        with session.begin_nested():
            application, created = _store(session, procedure, existing, cleaned, proxy, now)
    except IntegrityError:  # the same organisation applied concurrently: this one updates it
        existing = _existing(session, procedure, cleaned.values)
        if existing is None:
            raise
        with session.begin_nested():
            application, created = _store(session, procedure, existing, cleaned, proxy, now)
    signals.action_recorded.send(session, actor=None, action="application.submitted", object_type="application",
                                 object_id=application.id, details={"procedure_id": procedure.id,
                                                                    "revision": application.revision,
                                                                    "created": created})
    _receipt_after_commit(session, application, created)
    return application, created


def _existing(session: Session, procedure: Procedure, data: dict[str, Any]) -> Application | None:
    cf = cf_rules.normalise(data.get("codice_fiscale"))
    if not cf:
        return None
    return session.scalar(select(Application).where(Application.procedure_id == procedure.id,
                                                    Application.codice_fiscale == cf))


def _store(session: Session, procedure: Procedure, application: Application | None, cleaned: Cleaned,
           proxy: StoredFile | None, now: datetime) -> tuple[Application, bool]:
    created = application is None
    if application is None:
        application = Application(procedure=procedure, submitted_at=now, revision=0)
        session.add(application)
    elif application.status != "submitted":
        raise conflict(_("La candidatura è già stata esaminata e non si può più modificare."))
    for key, value in cleaned.values.items():
        setattr(application, key, value)
    if not application.signed_by_proxy:
        application.proxy_name = None
        application.proxy_file_path = application.proxy_file_name = application.proxy_file_sha256 = None
        application.proxy_file_size = None
    elif proxy is not None:
        application.proxy_file_path, application.proxy_file_name = proxy.path, proxy.name
        application.proxy_file_sha256, application.proxy_file_size = proxy.sha256, proxy.size
    application.tavoli = cleaned.tavoli
    application.updated_at = now
    application.revision = (application.revision or 0) + 1
    session.flush()
    session.add(ApplicationRevision(application=application, number=application.revision,
                                    data=_snapshot(application), received_at=now))
    session.flush()
    return application, created


def _receipt_after_commit(session: Session, application: Application, created: bool) -> None:
    """Acknowledge receipt to the organisation once the application is committed (a mail failure
    does not undo it). Written now, while the rows can still be read; sent after the commit."""
    procedure = application.procedure
    with force_locale("it"):
        subject = _("Candidatura ricevuta: %(title)s", title=procedure.title)
        body = mail.render_mail("procedure_received.txt", application=application, procedure=procedure,
                                created=created, received=when(application.updated_at),
                                deadline=when(procedure.application_deadline))
    # Anyone who knows a codice fiscale can update that organisation's application: the address
    # given in the previous version hears about it too, so an unwanted change does not go unnoticed.
    recipients = [application.organisation_email]
    previous = application.revisions[-2].data.get("organisation_email") if len(application.revisions) > 1 else None
    if previous and previous not in recipients:
        recipients.append(previous)
    application_id = application.id

    def send() -> None:
        for recipient in recipients:
            try:
                mail.send_mail(recipient, subject, body)
            except mail.MailError:
                current_app.logger.exception("Ricevuta della candidatura %s non inviata", application_id)

    record.on_commit(session, send)


def set_protocol(session: Session, actor: User, application: Application, number: str | None) -> None:
    """The protocol number the Ufficio di Piano gave the application (optional)."""
    permissions.require_manage(actor, application.procedure)
    number = (number or "").strip()
    if len(number) > 60:
        raise invalid(_("Il numero di protocollo è troppo lungo (al massimo 60 caratteri)."), field="protocol_number")
    application.protocol_number = number or None
    session.flush()
    signals.action_recorded.send(session, actor=actor, action="application.protocol_set", object_type="application",
                                 object_id=application.id, details={"procedure_id": application.procedure_id,
                                                                    "protocol_number": application.protocol_number})
