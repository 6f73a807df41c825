"""The lawful lifecycle of a co-programming procedure: initiation act, avviso, applications,
admissions, the public record and its open data.

Plain functions over a session; the caller commits (views at the end of the request). Each one
validates everything first and raises a ``Problem`` (Italian message, HTTP status) without writing
anything; writes that span several rows run in a SAVEPOINT, so a refusal half-way leaves nothing of
its own behind. Functions whose result depends on the clock take ``now=`` (tests freeze time by
passing it).

Lifecycle (forward only, one step at a time, each step logged with who and when)::

    bozza -> avviso_pubblicato -> candidature -> ammissioni -> tavoli_in_corso

* to ``avviso_pubblicato``: initiation act (number, date, file and its SHA-256), RUP, the six
  sections of the avviso, its publication date and the deadline for applications, at least one
  tavolo. The avviso and its tavoli enter the public record.
* to ``candidature``: the avviso's publication date has come and the deadline has not passed.
  Applications are accepted from then until the deadline.
* to ``ammissioni``: the deadline has passed (the window is never cut short).
* to ``tavoli_in_corso``: every application has been decided. The admitted organisations enter the
  public record.
"""
from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import force_locale, format_date, format_datetime
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workspace import mail
from workspace.accounts import codice_fiscale as cf_rules
from workspace.accounts import service as accounts
from workspace.accounts.models import ORGANISATION_KINDS, RUNTS_SECTIONS, Organisation, User
from workspace.db import utcnow
from workspace.problems import Problem, conflict, invalid, not_found
from workspace.procedures import permissions
from workspace.procedures.files import StoredFile
from workspace.procedures.models import (
    AVVISO_SECTIONS,
    DEFAULT_PUBLICATION_YEARS,
    PROCEDURE_STATUSES,
    TRANSITIONAL_STATUSES,
    Application,
    ApplicationRevision,
    Procedure,
    ProcedureTransition,
    PublicationItem,
)
from workspace.tavoli import membership
from workspace.tavoli.models import Tavolo, TavoloMember

MAX_SECTION = 20_000
MAX_MOTIVATION = 5_000
LICENSE_NAME = "CC BY 4.0"
LICENSE_URL = "https://creativecommons.org/licenses/by/4.0/"
RUNTS_SEARCH_URL = "https://servizi.lavoro.gov.it/runts/it-it/Lista-enti"

# --------------------------------------------------------------------------- labels


def status_labels() -> dict[str, str]:
    return {
        "bozza": _("Bozza"),
        "avviso_pubblicato": _("Avviso pubblicato"),
        "candidature": _("Candidature aperte"),
        "ammissioni": _("Ammissioni"),
        "tavoli_in_corso": _("Tavoli in corso"),
    }


def section_labels() -> dict[str, str]:
    return {
        "object": _("Oggetto"),
        "avviso_eligibility": _("Chi può partecipare"),
        "avviso_application": _("Come candidarsi e quali dichiarazioni"),
        "avviso_conduct": _("Tempi e modalità di svolgimento"),
        "avviso_closure": _("Come si conclude il procedimento"),
        "avviso_transparency": _("Trasparenza"),
    }


def transitional_labels() -> dict[str, str]:
    return {
        "onlus": _("ONLUS iscritta all'Anagrafe delle ONLUS, in regime transitorio (art. 101 CTS)"),
        "iscrizione_in_corso": _("Domanda di iscrizione al RUNTS presentata, in attesa di esito"),
        "impresa_sociale": _("Impresa sociale iscritta nella sezione speciale del Registro delle imprese "
                             "(art. 11, c. 3 CTS)"),
    }


def application_status_labels() -> dict[str, str]:
    return {"submitted": _("Ricevuta, da esaminare"), "admitted": _("Ammessa"), "excluded": _("Esclusa")}


# The self-declarations (DPR 445/2000). A legal text: stored with the application exactly as declared,
# in Italian, the language of the procedure.
DECLARATIONS: tuple[tuple[str, str], ...] = (
    ("veridicita", "Consapevole delle sanzioni penali previste dall'art. 76 del DPR 445/2000 per le "
                   "dichiarazioni mendaci, dichiaro ai sensi degli artt. 46 e 47 del medesimo DPR che i dati "
                   "indicati in questa candidatura sono veritieri."),
    ("poteri", "Dichiaro di essere il legale rappresentante dell'organizzazione oppure di agire in base a "
               "una procura valida, allegata alla candidatura."),
    ("requisiti", "Dichiaro che l'organizzazione possiede i requisiti di partecipazione indicati "
                  "nell'avviso e, se ente del Terzo settore, che è iscritta al RUNTS nella sezione indicata "
                  "o si trova nella condizione transitoria dichiarata."),
    ("territorio", "Dichiaro che l'organizzazione opera nel territorio dell'Ambito e nelle aree di "
                   "intervento dei tavoli scelti."),
    ("avviso", "Dichiaro di aver letto l'avviso e di accettarne le condizioni, comprese le modalità di "
               "svolgimento dei tavoli e la pubblicazione degli esiti."),
    ("gratuita", "Dichiaro di essere consapevole che la partecipazione è gratuita e non attribuisce "
                 "vantaggi nelle successive procedure di co-progettazione o di affidamento."),
    ("privacy", "Dichiaro di aver letto l'informativa sul trattamento dei dati personali (art. 13 del "
                "Regolamento UE 2016/679)."),
)
COI_NONE = ("Dichiaro che non sussistono situazioni, anche potenziali, di conflitto di interessi "
            "dell'organizzazione, del legale rappresentante o della persona delegata rispetto "
            "all'oggetto della procedura.")
COI_DECLARED = ("Dichiaro le seguenti situazioni, anche potenziali, di conflitto di interessi rispetto "
                "all'oggetto della procedura: ")


def when(moment: datetime | None) -> str:
    """A moment in Europe/Rome, as people read it: 15 gennaio 2025, 12:00."""
    return format_datetime(moment, "d MMMM yyyy, HH:mm") if moment else ""


def day(moment: date | datetime | None) -> str:
    return format_date(moment, "d MMMM yyyy") if moment else ""


def add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


class InvalidData(Problem):
    """Several fields at fault at once: ``errors`` is {field: message}; ``message`` the first one."""

    def __init__(self, errors: dict[str, str], status: int = 422):
        super().__init__("invalid", next(iter(errors.values())), status)
        self.errors = errors


# --------------------------------------------------------------------------- lookups


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


# --------------------------------------------------------------------------- the draft


def _require_draft(procedure: Procedure, what: str) -> None:
    if procedure.status != "bozza":
        raise conflict(_("%(what)s non si può più modificare: l'avviso è già stato pubblicato (stato: "
                         "«%(status)s»).", what=what, status=status_labels()[procedure.status]))


def _clean(value: str | None, max_length: int) -> str:
    return (value or "").strip()[:max_length + 1]


def update_act(session: Session, actor: User, procedure: Procedure, *, number: str | None,
               act_date: date | None, stored: StoredFile | None = None, now: datetime | None = None) -> None:
    """The initiation act: number, date and (optionally a new) file with its SHA-256."""
    permissions.require_manage(actor, procedure)
    _require_draft(procedure, _("L'atto di avvio"))
    now = now or utcnow()
    errors: dict[str, str] = {}
    number = _clean(number, 60)
    if not number:
        errors["act_number"] = _("Il numero dell'atto di avvio è obbligatorio.")
    elif len(number) > 60:
        errors["act_number"] = _("Il numero dell'atto è troppo lungo (al massimo 60 caratteri).")
    if act_date is None:
        errors["act_date"] = _("La data dell'atto di avvio è obbligatoria.")
    elif act_date > now.date() + timedelta(days=1):
        errors["act_date"] = _("La data dell'atto di avvio non può essere nel futuro.")
    if errors:
        raise InvalidData(errors)
    procedure.act_number, procedure.act_date = number, act_date
    if stored is not None:
        procedure.act_file_path, procedure.act_file_name = stored.path, stored.name
        procedure.act_file_sha256, procedure.act_file_size = stored.sha256, stored.size
    session.flush()


def set_rup(session: Session, actor: User, procedure: Procedure, rup: User | None) -> None:
    permissions.require_manage(actor, procedure)
    if rup is None and procedure.status != "bozza":
        raise invalid(_("Dopo la pubblicazione dell'avviso la procedura deve avere un responsabile (RUP)."))
    if rup is not None and not rup.active:
        raise invalid(_("L'account scelto come RUP è disattivato."))
    procedure.rup = rup
    session.flush()


def update_avviso(session: Session, actor: User, procedure: Procedure, *, sections: dict[str, str | None],
                  published_at: datetime | None, deadline: datetime | None,
                  allowed_kinds: list[str] | None = None) -> None:
    """The avviso's six sections, publication date, deadline and who may apply. Only in draft;
    missing sections are allowed here (a draft is saved as it is) and checked on publication."""
    permissions.require_manage(actor, procedure)
    _require_draft(procedure, _("L'avviso"))
    labels = section_labels()
    errors: dict[str, str] = {}
    clean: dict[str, str] = {}
    for key in AVVISO_SECTIONS:
        text = (sections.get(key) or "").strip()
        if len(text) > MAX_SECTION:
            errors[key] = _("La sezione «%(s)s» è troppo lunga (al massimo %(n)d caratteri).",
                            s=labels[key], n=MAX_SECTION)
        clean[key] = text
    if published_at and deadline and deadline <= published_at:
        errors["application_deadline"] = _("La scadenza delle candidature deve seguire la data di "
                                           "pubblicazione dell'avviso.")
    kinds = list(dict.fromkeys(allowed_kinds if allowed_kinds is not None else procedure.allowed_kinds or []))
    if not kinds:
        errors["allowed_kinds"] = _("Indicare chi può candidarsi (almeno gli enti del Terzo settore).")
    elif any(k not in ORGANISATION_KINDS for k in kinds):
        errors["allowed_kinds"] = _("Tipo di organizzazione non valido.")
    if errors:
        raise InvalidData(errors)
    for key, text in clean.items():
        setattr(procedure, key, text)
    procedure.avviso_published_at, procedure.application_deadline = published_at, deadline
    procedure.allowed_kinds = kinds
    session.flush()


# --------------------------------------------------------------------------- lifecycle


def next_status(procedure: Procedure) -> str | None:
    index = PROCEDURE_STATUSES.index(procedure.status)
    return PROCEDURE_STATUSES[index + 1] if index + 1 < len(PROCEDURE_STATUSES) else None


def missing_for(procedure: Procedure, target: str, now: datetime | None = None) -> list[str]:
    """What stands between the procedure and ``target`` (the next status), in Italian."""
    now = now or utcnow()
    missing: list[str] = []
    if target == "avviso_pubblicato":
        if not procedure.act_number:
            missing.append(_("il numero dell'atto di avvio"))
        if not procedure.act_date:
            missing.append(_("la data dell'atto di avvio"))
        if not procedure.act_file_path or not procedure.act_file_sha256:
            missing.append(_("il file dell'atto di avvio (con la sua impronta SHA-256)"))
        if procedure.rup_id is None:
            missing.append(_("il responsabile del procedimento (RUP)"))
        labels = section_labels()
        for key in AVVISO_SECTIONS:
            if not (getattr(procedure, key) or "").strip():
                missing.append(_("la sezione «%(s)s» dell'avviso", s=labels[key]))
        if procedure.avviso_published_at is None:
            missing.append(_("la data di pubblicazione dell'avviso"))
        if procedure.application_deadline is None:
            missing.append(_("la scadenza delle candidature"))
        elif procedure.avviso_published_at and procedure.application_deadline <= procedure.avviso_published_at:
            missing.append(_("una scadenza delle candidature successiva alla pubblicazione dell'avviso"))
        if not procedure.tavoli:
            missing.append(_("almeno un tavolo tematico a cui candidarsi"))
    elif target == "candidature":
        if procedure.avviso_published_at and now < procedure.avviso_published_at:
            missing.append(_("la data di pubblicazione dell'avviso (%(d)s) non è ancora arrivata",
                             d=when(procedure.avviso_published_at)))
        if procedure.application_deadline and now >= procedure.application_deadline:
            missing.append(_("una scadenza non ancora passata (era %(d)s)", d=when(procedure.application_deadline)))
    elif target == "ammissioni":
        if procedure.application_deadline and now < procedure.application_deadline:
            missing.append(_("la scadenza delle candidature (%(d)s) non è ancora passata",
                             d=when(procedure.application_deadline)))
    elif target == "tavoli_in_corso":
        pending = [a for a in procedure.applications if a.status == "submitted"]
        if pending:
            missing.append(_("la decisione su %(n)d candidature ancora da esaminare (%(names)s)", n=len(pending),
                             names=", ".join(a.organisation_name for a in pending[:5])
                             + ("…" if len(pending) > 5 else "")))
    return missing


def transition(session: Session, actor: User, procedure: Procedure, target: str,
               now: datetime | None = None) -> ProcedureTransition:
    """Move the procedure one step forward, logging who and when; refused with the missing data."""
    permissions.require_manage(actor, procedure)
    now = now or utcnow()
    labels = status_labels()
    if target not in PROCEDURE_STATUSES:
        raise invalid(_("Stato della procedura non valido."))
    current = PROCEDURE_STATUSES.index(procedure.status)
    wanted = PROCEDURE_STATUSES.index(target)
    if wanted <= current:
        raise conflict(_("La procedura è già nello stato «%(now)s»: si può solo andare avanti, mai tornare a "
                         "«%(to)s».", now=labels[procedure.status], to=labels[target]))
    if wanted != current + 1:
        raise conflict(_("Da «%(now)s» si passa solo a «%(next)s»: non si possono saltare fasi.",
                         now=labels[procedure.status], next=labels[PROCEDURE_STATUSES[current + 1]]))
    missing = missing_for(procedure, target, now)
    if missing:
        raise invalid(_("Non si può passare a «%(to)s»: manca %(what)s.", to=labels[target],
                        what="; ".join(missing)))
    with session.begin_nested():
        step = ProcedureTransition(procedure=procedure, from_status=procedure.status, to_status=target,
                                   actor_id=actor.id, actor_name=actor.name, at=now)
        session.add(step)
        procedure.status = target
        if target == "avviso_pubblicato":
            start = procedure.avviso_published_at
            _publish(session, actor, procedure, "avviso", 0, procedure.title, start, now)
            for tavolo in procedure.tavoli:
                _publish(session, actor, procedure, "tavolo", tavolo.id, tavolo.title, start, now)
        elif target == "tavoli_in_corso":
            for application in procedure.applications:
                if application.status == "admitted":
                    _publish(session, actor, procedure, "ammissione", application.id,
                             application.organisation_name, now, now)
        session.flush()
    return step


# --------------------------------------------------------------------------- publication log


def _publish(session: Session, actor: User | None, procedure: Procedure, kind: str, ref_id: int, title: str,
             start: datetime, now: datetime) -> PublicationItem:
    existing = session.scalar(select(PublicationItem).where(
        PublicationItem.procedure_id == procedure.id, PublicationItem.kind == kind, PublicationItem.ref_id == ref_id))
    if existing is not None:
        return existing
    item = PublicationItem(procedure=procedure, kind=kind, ref_id=ref_id, title=title[:300], published_from=start,
                           published_until=add_years(start, DEFAULT_PUBLICATION_YEARS),
                           created_by_id=actor.id if actor else None, created_at=now, updated_at=now)
    session.add(item)
    session.flush()
    return item


def unpublished_tavoli(procedure: Procedure) -> list[Tavolo]:
    published = {i.ref_id for i in procedure.publications if i.kind == "tavolo"}
    return [t for t in procedure.tavoli if t.id not in published]


def publish_tavolo(session: Session, actor: User, procedure: Procedure, tavolo: Tavolo,
                   now: datetime | None = None) -> PublicationItem:
    """A tavolo instituted after the avviso was published joins the public record (and the form)."""
    permissions.require_manage(actor, procedure)
    if tavolo.procedure_id != procedure.id:
        raise not_found(_("Tavolo inesistente."))
    if not permissions.avviso_out(procedure):
        raise conflict(_("I tavoli si pubblicano con l'avviso."))
    now = now or utcnow()
    return _publish(session, actor, procedure, "tavolo", tavolo.id, tavolo.title, now, now)


def set_publication_window(session: Session, actor: User, item: PublicationItem, start: datetime | None,
                           end: datetime | None, now: datetime | None = None) -> None:
    """Change when an item of the public record starts and stops being shown (end = now withdraws it)."""
    permissions.require_manage(actor, item.procedure)
    errors: dict[str, str] = {}
    if start is None:
        errors["published_from"] = _("La data di inizio della pubblicazione è obbligatoria.")
    if end is None:
        errors["published_until"] = _("La data di fine della pubblicazione è obbligatoria.")
    elif start is not None and end <= start:
        errors["published_until"] = _("La pubblicazione deve terminare dopo il suo inizio.")
    if errors:
        raise InvalidData(errors)
    item.published_from, item.published_until = start, end
    item.updated_at = now or utcnow()
    session.flush()


# --------------------------------------------------------------------------- applications


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
    values: dict
    tavoli: list[Tavolo]


def check_application(session: Session, procedure: Procedure, data: dict, *, has_proxy_file: bool,
                      now: datetime | None = None) -> tuple[Cleaned, dict[str, str]]:
    """Validate an application without writing: (cleaned values, {field: message}), every problem
    at once so the form shows them together."""
    errors: dict[str, str] = {}
    values: dict = {}

    def text(field: str, label: str, max_length: int, required: bool = True) -> str:
        value = " ".join(str(data.get(field) or "").split())
        if required and not value:
            errors[field] = _("Il campo «%(label)s» è obbligatorio.", label=label)
        elif len(value) > max_length:
            errors[field] = _("Il campo «%(label)s» è troppo lungo (al massimo %(n)d caratteri).",
                              label=label, n=max_length)
        return value

    def email(field: str) -> str:
        try:
            return accounts.normalise_email(data.get(field), field=field)
        except accounts.AccountError as exc:
            errors[field] = exc.message
            return ""

    values["organisation_name"] = text("organisation_name", _("Denominazione dell'organizzazione"), 300)
    kind = str(data.get("organisation_kind") or "ets")
    allowed = procedure.allowed_kinds or ["ets"]
    if kind not in allowed:
        errors["organisation_kind"] = (
            _("Questo avviso ammette solo gli enti del Terzo settore.") if allowed == ["ets"]
            else _("Questo avviso non ammette candidature da questo tipo di organizzazione."))
    values["organisation_kind"] = kind

    cf = cf_rules.normalise(data.get("codice_fiscale"))
    try:
        if not cf:
            raise cf_rules.CodiceFiscaleError(_("Il codice fiscale dell'organizzazione è obbligatorio."))
        cf = cf_rules.validate_numeric(cf) if kind == "ets" else cf_rules.validate(cf)
    except cf_rules.CodiceFiscaleError as exc:
        errors["codice_fiscale"] = exc.message
    values["codice_fiscale"] = cf

    registration = str(data.get("registration") or "runts")
    section, repertorio = accounts.clean_runts(data.get("runts_section"), data.get("runts_repertorio"))
    values.update(runts_section=None, runts_repertorio=None, transitional_status=None, transitional_details="")
    if kind == "ets":
        if registration == "runts":
            errors.update(accounts.runts_errors(section, repertorio))
            values.update(runts_section=section, runts_repertorio=repertorio)
        elif registration in TRANSITIONAL_STATUSES:
            # Not yet registered: a section may be declared (the one applied for), no number.
            if section is not None:
                errors.update(accounts.runts_errors(section, None, require_repertorio=False))
            values.update(transitional_status=registration, runts_section=section,
                          transitional_details=text("transitional_details",
                                                    _("Estremi della condizione transitoria"), 1000))
        else:
            errors["registration"] = _("Indicare se l'ente è iscritto al RUNTS o in quale condizione "
                                       "transitoria si trova.")
    values["organisation_email"] = email("organisation_email")
    values["legal_rep_name"] = text("legal_rep_name", _("Legale rappresentante"), 200)
    values["legal_rep_role"] = text("legal_rep_role", _("Carica del legale rappresentante"), 100, required=False)
    proxy = bool(data.get("signed_by_proxy"))
    values["signed_by_proxy"] = proxy
    values["proxy_name"] = text("proxy_name", _("Chi firma su procura"), 200) if proxy else None
    if proxy and not has_proxy_file:
        errors["proxy_file"] = _("Chi firma su procura deve allegare la procura (PDF o PDF firmato .p7m).")
    values["delegate_name"] = text("delegate_name", _("Persona delegata ai tavoli"), 200)
    values["delegate_email"] = email("delegate_email")

    given = data.get("declarations") or {}
    declarations = []
    for key, statement in DECLARATIONS:
        accepted = bool(given.get(key))
        if not accepted:
            errors[f"decl_{key}"] = _("Per candidarsi occorre rendere questa dichiarazione.")
        declarations.append({"key": key, "text": statement, "accepted": accepted})
    values["declarations"] = declarations

    coi = str(data.get("coi") or "")
    details = str(data.get("coi_details") or "").strip()
    if coi == "none":
        values.update(coi_none=True, coi_details="", coi_statement=COI_NONE)
    elif coi == "declared":
        if not details:
            errors["coi_details"] = _("Descrivere le situazioni di conflitto di interessi dichiarate.")
        elif len(details) > 5000:
            errors["coi_details"] = _("La descrizione è troppo lunga (al massimo 5000 caratteri).")
        values.update(coi_none=False, coi_details=details, coi_statement=COI_DECLARED + details)
    else:
        errors["coi"] = _("La dichiarazione sul conflitto di interessi è obbligatoria: scegliere una delle due "
                          "opzioni.")

    choosable = {t.id: t for t in application_tavoli(procedure, now)}
    wanted: list[int] = []
    for raw in data.get("tavoli") or []:
        try:
            wanted.append(int(raw))
        except (TypeError, ValueError):
            errors["tavoli"] = _("Tavolo non valido.")
    chosen = [choosable[i] for i in dict.fromkeys(wanted) if i in choosable]
    if not wanted:
        errors.setdefault("tavoli", _("Scegliere almeno un tavolo a cui partecipare."))
    elif len(chosen) != len(set(wanted)):
        errors.setdefault("tavoli", _("Tavolo non valido: scegliere fra i tavoli indicati nell'avviso."))
    return Cleaned(values, chosen), errors


def _snapshot(application: Application) -> dict:
    keys = ("codice_fiscale", "organisation_name", "organisation_kind", "runts_section", "runts_repertorio",
            "transitional_status", "transitional_details", "organisation_email", "legal_rep_name",
            "legal_rep_role", "signed_by_proxy", "proxy_name", "proxy_file_name", "proxy_file_sha256",
            "delegate_name", "delegate_email", "declarations", "coi_none", "coi_details", "coi_statement")
    data = {k: getattr(application, k) for k in keys}
    data["tavoli"] = [t.id for t in application.tavoli]
    return data


def submit_application(session: Session, procedure: Procedure, data: dict, proxy: StoredFile | None = None,
                       now: datetime | None = None) -> tuple[Application, bool]:
    """Receive an application (server time), or update the organisation's previous one: one per
    codice fiscale and procedure. Returns (application, created). Late ones are refused (409)."""
    now = now or utcnow()
    check_window(procedure, now)
    existing = _existing(session, procedure, data)
    has_file = proxy is not None or bool(existing and existing.proxy_file_path)
    cleaned, errors = check_application(session, procedure, data, has_proxy_file=has_file, now=now)
    if errors:
        raise InvalidData(errors)
    try:
        with session.begin_nested():
            application, created = _store(session, procedure, existing, cleaned, proxy, now)
    except IntegrityError:  # the same organisation applied concurrently: this one updates it
        existing = _existing(session, procedure, cleaned.values)
        if existing is None:
            raise
        with session.begin_nested():
            application, created = _store(session, procedure, existing, cleaned, proxy, now)
    return application, created


def _existing(session: Session, procedure: Procedure, data: dict) -> Application | None:
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


def set_protocol(session: Session, actor: User, application: Application, number: str | None) -> None:
    permissions.require_manage(actor, application.procedure)
    number = (number or "").strip()
    if len(number) > 60:
        raise InvalidData({"protocol_number": _("Il numero di protocollo è troppo lungo (al massimo 60 "
                                                "caratteri).")})
    application.protocol_number = number or None
    session.flush()


# --------------------------------------------------------------------------- admissions


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _send(to: str, subject: str, template: str, **context) -> None:
    try:
        mail.send_mail(to, subject, mail.render_mail(template, **context))
    except mail.MailError as exc:
        raise Problem("mail_failed", exc.message, 503) from exc


def _organisation_for(session: Session, application: Application) -> Organisation:
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
        return org
    try:
        return accounts.create_organisation(
            session, name=application.organisation_name, kind=application.organisation_kind,
            codice_fiscale=application.codice_fiscale, runts_section=application.runts_section,
            runts_repertorio=application.runts_repertorio, email=application.organisation_email,
        )
    except accounts.AccountError as exc:
        raise Problem("invalid", exc.message, exc.status) from exc


def _grant_tavoli(session: Session, actor: User, application: Application, user: User) -> None:
    """The person becomes delegate of the organisation at each tavolo it chose (a person who already
    has another role at a tavolo keeps it)."""
    for tavolo in application.tavoli:
        membership.admit_organisation(session, actor, tavolo, application.organisation, user)


def decide(session: Session, actor: User, application: Application, decision: str, motivation: str | None,
           now: datetime | None = None) -> Application:
    """Admit or exclude, with a mandatory motivation. Admission links (or creates) the organisation,
    makes it member of the tavoli it chose and invites its delegate by link; the applicant is
    notified either way. All or nothing: if any step fails (an e-mail too), nothing is kept."""
    procedure = application.procedure
    permissions.require_manage(actor, procedure)
    now = now or utcnow()
    if decision not in ("admitted", "excluded"):
        raise invalid(_("Decisione non valida: ammettere o escludere."))
    if procedure.status != "ammissioni":
        raise conflict(_("Le candidature si esaminano nella fase «%(phase)s», dopo la scadenza (stato attuale: "
                         "«%(now)s»).", phase=status_labels()["ammissioni"], now=status_labels()[procedure.status]))
    if application.status != "submitted":
        raise conflict(_("La candidatura di «%(org)s» è già stata decisa (%(status)s).",
                         org=application.organisation_name,
                         status=application_status_labels()[application.status].lower()))
    motivation = (motivation or "").strip()
    if not motivation:
        raise InvalidData({"motivation": _("La motivazione è obbligatoria, sia per ammettere sia per escludere.")})
    if len(motivation) > MAX_MOTIVATION:
        raise InvalidData({"motivation": _("La motivazione è troppo lunga (al massimo %(n)d caratteri).",
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
                      public_url=mail.external_url("procedures.public", procedure_id=procedure.id))
        session.flush()
    return application


def _admit(session: Session, actor: User, application: Application) -> None:
    procedure = application.procedure
    org = _organisation_for(session, application)
    application.organisation = org
    for tavolo in application.tavoli:
        membership.admit_organisation(session, actor, tavolo, org)
    person = accounts.find_user(session, application.delegate_email)
    tavolo_links = [(t.title, mail.external_url("tavoli.home", tavolo_id=t.id)) for t in application.tavoli]
    if person is not None and person.active and accounts.is_member(session, person, org):
        _grant_tavoli(session, actor, application, person)
        _send(person.email, _("Partecipazione ai tavoli: %(title)s", title=procedure.title),
              "procedure_delegate_added.txt", application=application, procedure=procedure, tavoli=tavolo_links)
    else:
        raw = accounts.issue_token(session, "invitation", application.delegate_email,
                                   name=application.delegate_name, user=person, organisation=org, created_by=actor)
        application.invitation_token_hash = _hash(raw)
        session.flush()
        lifetime_days = int(current_app.config.get("INVITATION_DAYS", 14))
        _send(application.delegate_email, _("Invito ai tavoli di co-programmazione: %(org)s", org=org.name),
              "procedure_invitation.txt", application=application, procedure=procedure, tavoli=tavolo_links,
              link=mail.external_url("procedures.invitation", token=raw), days=lifetime_days)
    _send(application.organisation_email, _("Esito della candidatura: %(title)s", title=procedure.title),
          "procedure_admitted.txt", application=application, procedure=procedure, tavoli=tavolo_links)


def invitation_application(session: Session, raw: str) -> Application:
    """The admitted application behind a delegate's invitation link (404 if the link is unknown)."""
    application = None
    if raw and len(raw) <= accounts.MAX_TOKEN_LENGTH:
        application = session.scalar(select(Application).where(Application.invitation_token_hash == _hash(raw)))
    if application is None or application.status != "admitted":
        raise not_found(_("Il link non è valido. Controlla di averlo copiato per intero dall'e-mail ricevuta."))
    try:
        accounts.peek_token(session, raw, "invitation")
    except accounts.AccountError as exc:
        raise Problem("invalid_link", exc.message, exc.status) from exc
    return application


def accept_invitation(session: Session, raw: str, *, name: str | None = None,
                      password: str | None = None) -> tuple[User, Application]:
    """The delegate joins through the link: account (or existing one), delegate of the organisation,
    and delegate at each tavolo the organisation chose. Returns the person to log in."""
    application = invitation_application(session, raw)
    with session.begin_nested():
        try:
            user = accounts.accept_invitation(session, raw, password=password, name=name)
        except accounts.AccountError as exc:
            problem = InvalidData(exc.errors, exc.status) if exc.errors else Problem("invalid", exc.message,
                                                                                      exc.status)
            raise problem from exc
        _grant_tavoli(session, user, application, user)
        session.flush()
    return user, application


def notify_received(application: Application, created: bool) -> None:
    """Acknowledge receipt to the organisation (after commit; a mail failure does not undo it)."""
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
    for recipient in recipients:
        try:
            mail.send_mail(recipient, subject, body)
        except mail.MailError:
            current_app.logger.exception("Ricevuta della candidatura %s non inviata", application.id)


# --------------------------------------------------------------------------- open data


def neutralise(value):
    """A cell that a spreadsheet would read as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value and value[0] in "=+-@\t\r":
        return "'" + value
    return value


def open_data_rows(session: Session, procedure: Procedure, now: datetime | None = None) -> list[dict]:
    """Aggregates only (no person, no single organisation): bisogni per macroarea, participation
    per organisation type, applications by outcome once the admissions are over."""
    from workspace.accounts.labels import KIND_LABELS, RUNTS_LABELS
    from workspace.needs.models import Bisogno
    from workspace.reference.models import Macroarea

    now = now or utcnow()
    rows: list[dict] = []

    def row(indicator: str, code: str, label: str, value: int) -> None:
        rows.append({"indicatore": indicator, "codice": code, "descrizione": str(label), "valore": value})

    tavolo_ids = [t.id for t in procedure.tavoli]
    counts = dict(session.execute(
        select(Bisogno.macroarea_code, func.count(Bisogno.id))
        .where(Bisogno.tavolo_id.in_(tavolo_ids), Bisogno.status.not_in(("ritirato", "accorpato")))
        .group_by(Bisogno.macroarea_code)
    ).all()) if tavolo_ids else {}
    codes = sorted({m.code for t in procedure.tavoli for m in t.macroaree} | set(counts))
    names = dict(session.execute(select(Macroarea.code, Macroarea.name).where(Macroarea.code.in_(codes))).all())
    for code in codes:
        row("bisogni_per_macroarea", code, names.get(code, code), int(counts.get(code, 0)))

    kinds = dict(session.execute(
        select(Organisation.kind, func.count(func.distinct(Organisation.id)))
        .join(TavoloMember, TavoloMember.organisation_id == Organisation.id)
        .where(TavoloMember.tavolo_id.in_(tavolo_ids)).group_by(Organisation.kind)
    ).all()) if tavolo_ids else {}
    for kind in ORGANISATION_KINDS:
        if kind in kinds:
            row("organizzazioni_ai_tavoli_per_tipo", kind, KIND_LABELS[kind], int(kinds[kind]))

    if PROCEDURE_STATUSES.index(procedure.status) >= PROCEDURE_STATUSES.index("tavoli_in_corso"):
        outcome = {s: 0 for s in ("submitted", "admitted", "excluded")}
        sections: dict[str, int] = {}
        transitional = transitional_labels()
        for application in procedure.applications:
            outcome[application.status] += 1
            if application.status == "admitted" and application.organisation_kind == "ets":
                key = application.transitional_status or application.runts_section or "altri_ets"
                sections[key] = sections.get(key, 0) + 1
        row("candidature", "ricevute", _("Candidature ricevute"), len(procedure.applications))
        row("candidature", "ammesse", _("Candidature ammesse"), outcome["admitted"])
        row("candidature", "escluse", _("Candidature escluse"), outcome["excluded"])
        for key in (*RUNTS_SECTIONS, *transitional):
            if key in sections:
                label = RUNTS_LABELS.get(key) or transitional.get(key)
                row("ets_ammessi_per_sezione_runts", key, label, sections[key])
    return rows


CSV_COLUMNS = ("procedura", "ambito", "indicatore", "codice", "descrizione", "valore", "aggiornato_al", "licenza")


def open_data_csv(session: Session, procedure: Procedure, now: datetime | None = None) -> bytes:
    """The aggregates as CSV: UTF-8 with BOM (Excel reads the accents), RFC 4180, formulas
    neutralised, the licence (CC BY 4.0) on every row so it travels with any extract."""
    now = now or utcnow()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    stamp = now.replace(microsecond=0).isoformat()
    for r in open_data_rows(session, procedure, now):
        writer.writerow([neutralise(v) for v in (
            procedure.id, procedure.ambito_code, r["indicatore"], r["codice"], r["descrizione"], r["valore"],
            stamp, f"{LICENSE_NAME} {LICENSE_URL}")])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
