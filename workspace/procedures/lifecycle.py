"""The life of a procedure: its creation by the Ufficio di Piano, the draft (initiation act, RUP,
avviso) and the steps forward.

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

Every function checks permission, validates everything before writing and raises a ``Problem``
(several fields at once: ``errors``) without writing anything; each change is announced to the
audit trail (``signals.action_recorded``) in its transaction. The caller commits. Functions whose
result depends on the clock take ``now=`` (tests freeze time by passing it).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from workspace import signals
from workspace.accounts.models import ORGANISATION_KINDS, User
from workspace.db import utcnow
from workspace.i18n import gettext as _
from workspace.problems import conflict, invalid, invalid_fields
from workspace.procedures import permissions
from workspace.procedures.files import StoredFile
from workspace.procedures.labels import SECTION_LABELS, STATUS_LABELS, when
from workspace.procedures.models import (
    AVVISO_SECTIONS,
    FINAL_STATUS,
    PROCEDURE_STATUSES,
    TRIENNI,
    Procedure,
    ProcedureTransition,
)
from workspace.procedures.publication import publish
from workspace.reference.models import Ambito

MAX_TITLE = 300
MAX_OBJECT = 5_000
MAX_SECTION = 20_000


def _announce(session: Session, actor: User, action: str, procedure: Procedure, **details) -> None:
    signals.action_recorded.send(session, actor=actor, action=action, object_type="procedure",
                                 object_id=procedure.id, details=details)


# --------------------------------------------------------------------------- creation


def create_procedure(session: Session, actor: User, ambito_code: str, title: str, *, rup: User | None = None,
                     object_: str = "", triennium: str = TRIENNI[0], published: bool = False) -> Procedure:
    """A new procedure in draft, started by an administrator of the Ufficio di Piano."""
    permissions.require_create(actor)
    title, object_ = (title or "").strip(), (object_ or "").strip()
    errors: dict[str, str] = {}
    if not title:
        errors["title"] = _("Il titolo della procedura è obbligatorio.")
    elif len(title) > MAX_TITLE:
        errors["title"] = _("Il titolo è troppo lungo (al massimo %(n)d caratteri).", n=MAX_TITLE)
    if len(object_) > MAX_OBJECT:
        errors["object"] = _("L'oggetto è troppo lungo (al massimo %(n)d caratteri).", n=MAX_OBJECT)
    if not ambito_code or session.get(Ambito, ambito_code) is None:
        errors["ambito_code"] = _("Ambito territoriale inesistente: scegliere fra gli Ambiti della Lombardia.")
    if triennium not in TRIENNI:
        errors["triennium"] = _("Triennio di programmazione non valido.")
    if rup is not None and not rup.active:
        errors["rup_id"] = _("L'account scelto come RUP è disattivato.")
    if errors:
        raise invalid_fields(errors)
    procedure = Procedure(ambito_code=ambito_code, title=title, object=object_, triennium=triennium,
                          rup=rup, published=published)
    session.add(procedure)
    session.flush()
    _announce(session, actor, "procedure.created", procedure, title=title, ambito_code=ambito_code,
              triennium=triennium, rup_id=rup.id if rup else None)
    return procedure


# --------------------------------------------------------------------------- the draft


def _require_draft(procedure: Procedure, what: str) -> None:
    if procedure.status != "bozza":
        raise conflict(_("%(what)s non si può più modificare: l'avviso è già stato pubblicato (stato: "
                         "«%(status)s»).", what=what, status=STATUS_LABELS[procedure.status]))


def update_act(session: Session, actor: User, procedure: Procedure, *, number: str | None,
               act_date: date | None, stored: StoredFile | None = None, now: datetime | None = None) -> None:
    """The initiation act: number, date and (optionally a new) file with its SHA-256."""
    permissions.require_manage(actor, procedure)
    _require_draft(procedure, _("L'atto di avvio"))
    now = now or utcnow()
    errors: dict[str, str] = {}
    number = (number or "").strip()
    if not number:
        errors["act_number"] = _("Il numero dell'atto di avvio è obbligatorio.")
    elif len(number) > 60:
        errors["act_number"] = _("Il numero dell'atto è troppo lungo (al massimo 60 caratteri).")
    if act_date is None:
        errors["act_date"] = _("La data dell'atto di avvio è obbligatoria.")
    elif act_date > now.date() + timedelta(days=1):
        errors["act_date"] = _("La data dell'atto di avvio non può essere nel futuro.")
    if errors:
        raise invalid_fields(errors)
    procedure.act_number, procedure.act_date = number, act_date
    if stored is not None:
        procedure.act_file_path, procedure.act_file_name = stored.path, stored.name
        procedure.act_file_sha256, procedure.act_file_size = stored.sha256, stored.size
    session.flush()
    _announce(session, actor, "procedure.act_updated", procedure, act_number=number,
              act_date=act_date.isoformat() if act_date else None, act_file_sha256=procedure.act_file_sha256)


def set_rup(session: Session, actor: User, procedure: Procedure, rup: User | None) -> None:
    permissions.require_manage(actor, procedure)
    if rup is None and procedure.status != "bozza":
        raise invalid(_("Dopo la pubblicazione dell'avviso la procedura deve avere un responsabile (RUP)."),
                      field="rup_id")
    if rup is not None and not rup.active:
        raise invalid(_("L'account scelto come RUP è disattivato."), field="rup_id")
    if procedure.rup_id == (rup.id if rup else None):
        return
    procedure.rup = rup
    session.flush()
    _announce(session, actor, "procedure.rup_set", procedure, rup_id=rup.id if rup else None)


def update_avviso(session: Session, actor: User, procedure: Procedure, *, sections: dict[str, str | None],
                  published_at: datetime | None, deadline: datetime | None,
                  allowed_kinds: list[str] | None = None) -> None:
    """The avviso's six sections, publication date, deadline and who may apply. Only in draft;
    missing sections are allowed here (a draft is saved as it is) and checked on publication."""
    permissions.require_manage(actor, procedure)
    _require_draft(procedure, _("L'avviso"))
    errors: dict[str, str] = {}
    clean: dict[str, str] = {}
    for key in AVVISO_SECTIONS:
        text = (sections.get(key) or "").strip()
        if len(text) > MAX_SECTION:
            errors[key] = _("La sezione «%(s)s» è troppo lunga (al massimo %(n)d caratteri).",
                            s=SECTION_LABELS[key], n=MAX_SECTION)
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
        raise invalid_fields(errors)
    for key, text in clean.items():
        setattr(procedure, key, text)
    procedure.avviso_published_at, procedure.application_deadline = published_at, deadline
    procedure.allowed_kinds = kinds
    session.flush()
    _announce(session, actor, "procedure.avviso_updated", procedure,
              avviso_published_at=published_at.isoformat() if published_at else None,
              application_deadline=deadline.isoformat() if deadline else None, allowed_kinds=kinds)


# --------------------------------------------------------------------------- the steps


def next_status(procedure: Procedure) -> str | None:
    """The next step taken by hand (the last one, "conclusa", is the approval of the documento di
    sintesi: ``conclude``)."""
    index = PROCEDURE_STATUSES.index(procedure.status)
    following = PROCEDURE_STATUSES[index + 1] if index + 1 < len(PROCEDURE_STATUSES) else None
    return None if following == FINAL_STATUS else following


def _missing_for_publication(procedure: Procedure) -> list[str]:
    missing: list[str] = []
    if not procedure.act_number:
        missing.append(_("il numero dell'atto di avvio"))
    if not procedure.act_date:
        missing.append(_("la data dell'atto di avvio"))
    if not procedure.act_file_path or not procedure.act_file_sha256:
        missing.append(_("il file dell'atto di avvio (con la sua impronta SHA-256)"))
    if procedure.rup_id is None:
        missing.append(_("il responsabile del procedimento (RUP)"))
    for key in AVVISO_SECTIONS:
        if not (getattr(procedure, key) or "").strip():
            missing.append(_("la sezione «%(s)s» dell'avviso", s=SECTION_LABELS[key]))
    if procedure.avviso_published_at is None:
        missing.append(_("la data di pubblicazione dell'avviso"))
    if procedure.application_deadline is None:
        missing.append(_("la scadenza delle candidature"))
    elif procedure.avviso_published_at and procedure.application_deadline <= procedure.avviso_published_at:
        missing.append(_("una scadenza delle candidature successiva alla pubblicazione dell'avviso"))
    if not procedure.tavoli:
        missing.append(_("almeno un tavolo tematico a cui candidarsi"))
    return missing


def missing_for(procedure: Procedure, target: str, now: datetime | None = None) -> list[str]:
    """What stands between the procedure and ``target`` (the next status), in Italian."""
    now = now or utcnow()
    missing: list[str] = []
    if target == "avviso_pubblicato":
        missing = _missing_for_publication(procedure)
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
    if target not in PROCEDURE_STATUSES:
        raise invalid(_("Stato della procedura non valido."))
    current = PROCEDURE_STATUSES.index(procedure.status)
    wanted = PROCEDURE_STATUSES.index(target)
    if wanted <= current:
        raise conflict(_("La procedura è già nello stato «%(now)s»: si può solo andare avanti, mai tornare a "
                         "«%(to)s».", now=STATUS_LABELS[procedure.status], to=STATUS_LABELS[target]))
    if wanted != current + 1:
        raise conflict(_("Da «%(now)s» si passa solo a «%(next)s»: non si possono saltare fasi.",
                         now=STATUS_LABELS[procedure.status], next=STATUS_LABELS[PROCEDURE_STATUSES[current + 1]]))
    if target == FINAL_STATUS:
        raise conflict(_("La procedura si conclude approvando il documento di sintesi, non con un passaggio di "
                         "stato."))
    missing = missing_for(procedure, target, now)
    if missing:
        raise invalid(_("Non si può passare a «%(to)s»: manca %(what)s.", to=STATUS_LABELS[target],
                        what="; ".join(missing)))
    with session.begin_nested():
        step = ProcedureTransition(procedure=procedure, from_status=procedure.status, to_status=target,
                                   actor_id=actor.id, actor_name=actor.name, at=now)
        session.add(step)
        procedure.status = target
        session.flush()
        _announce(session, actor, "procedure.status_changed", procedure, **{"from": step.from_status, "to": target})
        if target == "avviso_pubblicato" and procedure.avviso_published_at is not None:
            start = procedure.avviso_published_at
            publish(session, actor, procedure, "avviso", 0, procedure.title, start, now)
            for tavolo in procedure.tavoli:
                publish(session, actor, procedure, "tavolo", tavolo.id, tavolo.title, start, now)
        elif target == "tavoli_in_corso":
            for application in procedure.applications:
                if application.status == "admitted":
                    publish(session, actor, procedure, "ammissione", application.id,
                            application.organisation_name, now, now)
        session.flush()
    return step


def conclude(session: Session, actor: User, procedure: Procedure, *, document: str, sha256: str,
             now: datetime | None = None) -> ProcedureTransition:
    """The last step: the procedure becomes "conclusa". Called by the area of the documento di sintesi
    when it approves it (``document``: its kind, ``sha256``: its hash), in the same transaction as
    the frozen document. From then on nothing in the procedure changes (``closure``)."""
    permissions.require_manage(actor, procedure)
    if procedure.status != "tavoli_in_corso":
        raise conflict(_("Si conclude solo una procedura con i tavoli in corso (stato attuale: «%(s)s»).",
                         s=STATUS_LABELS[procedure.status]))
    now = now or utcnow()
    step = ProcedureTransition(procedure=procedure, from_status=procedure.status, to_status=FINAL_STATUS,
                               actor_id=actor.id, actor_name=actor.name, at=now)
    session.add(step)
    procedure.status = FINAL_STATUS
    session.flush()
    _announce(session, actor, "procedure.status_changed", procedure, **{"from": step.from_status,
                                                                         "to": FINAL_STATUS, "document": document,
                                                                         "sha256": sha256})
    return step
