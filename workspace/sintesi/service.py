"""Drafting, reviewing, approving and exporting the documento di sintesi.

Every write checks permission, passes ``guard_writable`` (an approved documento never changes) and
the procedure's closure (``procedures.closure.require_open``; the flush guard behind it makes it
impossible to forget), validates, and announces itself to the audit trail in the same transaction.
The caller commits.

Approval freezes the content as reviewed: if the data changed after the last generation, approval
is refused until the RUP recalculates (and the reviewers see the new figures). It stores the
canonical content (JSON), its SHA-256 and the PDF/A with its own SHA-256, then concludes the
procedure (``procedures.lifecycle.conclude``) in the same transaction.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workspace import signals
from workspace.accounts.models import User
from workspace.db import utcnow
from workspace.i18n import gettext as _
from workspace.minutes import content as contents
from workspace.minutes.service import clean_text
from workspace.problems import Problem, conflict, invalid, not_found
from workspace.procedures import closure, lifecycle
from workspace.procedures.models import Procedure
from workspace.sintesi import document, permissions
from workspace.sintesi.generation import generate
from workspace.sintesi.models import DocumentoSintesi, SintesiVersion, frozen_refusal
from workspace.tavoli.models import Seduta
from workspace.voting.models import VoteRound

DOCUMENT_FORMATS = ("pdf", "odt", "docx")
READY_STATUS = "tavoli_in_corso"


# --------------------------------------------------------------------------- lookups


def get_procedure(session: Session, procedure_id: int) -> Procedure:
    procedure = session.get(Procedure, procedure_id)
    if procedure is None:
        raise not_found(_("Procedura inesistente."))
    return procedure


def documento_of(session: Session, procedure: Procedure) -> DocumentoSintesi | None:
    return session.scalar(select(DocumentoSintesi).where(DocumentoSintesi.procedure_id == procedure.id))


def lock(session: Session, documento: DocumentoSintesi) -> DocumentoSintesi:
    """Re-read and locked (FOR UPDATE on PostgreSQL): writes to one documento run one at a time."""
    locked = session.scalar(select(DocumentoSintesi).where(DocumentoSintesi.id == documento.id).with_for_update()
                            .execution_options(populate_existing=True))
    if locked is None:
        raise not_found(_("Documento di sintesi inesistente."))
    return locked


def guard_writable(documento: DocumentoSintesi) -> None:
    if documento.approved:
        raise frozen_refusal()


def announce(session: Session, actor: User | None, action: str, documento: DocumentoSintesi, **details: Any) -> None:
    signals.action_recorded.send(session, actor=actor, action=f"sintesi.{action}", object_type="documento_sintesi",
                                 object_id=documento.id, details={"procedure_id": documento.procedure_id, **details})


def _version(session: Session, documento: DocumentoSintesi, actor: User | None, change: str, *,
             text: str | None = None, generated: dict | None = None, now: datetime | None = None) -> SintesiVersion:
    documento.version = (documento.version or 0) + 1
    entry = SintesiVersion(documento=documento, number=documento.version, change=change, text=text,
                           generated=generated, author_id=actor.id if actor else None,
                           author_name=actor.name if actor else "", at=now or utcnow())
    session.add(entry)
    return entry


def _writable(session: Session, actor: User, procedure: Procedure) -> None:
    permissions.require_manage(actor, procedure)
    closure.require_open(procedure)


# --------------------------------------------------------------------------- drafting


def create_draft(session: Session, actor: User, procedure: Procedure, now: datetime | None = None) -> DocumentoSintesi:
    """Generate the draft from the data (once per procedure; then ``regenerate``)."""
    _writable(session, actor, procedure)
    if procedure.status != READY_STATUS:
        raise conflict(_("Il documento di sintesi si redige quando i tavoli sono in corso (stato attuale della "
                         "procedura: «%(s)s»).", s=_status(procedure)))
    if documento_of(session, procedure) is not None:
        raise conflict(_("Il documento di sintesi di questa procedura esiste già."))
    now = now or utcnow()
    generated = generate(session, procedure)
    documento = DocumentoSintesi(procedure_id=procedure.id, status="bozza", generated=generated, introduction="",
                                 version=0, generated_at=now, created_at=now)
    session.add(documento)
    _version(session, documento, actor, "generato", generated=generated, now=now)
    session.flush()
    announce(session, actor, "generated", documento, version=documento.version)
    return documento


def regenerate(session: Session, actor: User, documento: DocumentoSintesi,
               now: datetime | None = None) -> DocumentoSintesi:
    """Read the data again (the introduction stays)."""
    procedure = get_procedure(session, documento.procedure_id)
    _writable(session, actor, procedure)
    documento = lock(session, documento)
    guard_writable(documento)
    now = now or utcnow()
    generated = generate(session, procedure)
    if generated == documento.generated:
        return documento
    documento.generated, documento.generated_at = generated, now
    _version(session, documento, actor, "rigenerato", generated=generated, now=now)
    session.flush()
    announce(session, actor, "regenerated", documento, version=documento.version)
    return documento


def save_introduction(session: Session, actor: User, documento: DocumentoSintesi, text: Any, base_version: Any,
                      now: datetime | None = None) -> SintesiVersion | None:
    """The RUP's introduction (Markdown). ``base_version`` is the documento's version the writer
    started from; if it changed since, the save is refused with 409 and nothing is lost (the page
    shows the newer text beside the writer's)."""
    procedure = get_procedure(session, documento.procedure_id)
    _writable(session, actor, procedure)
    documento = lock(session, documento)
    guard_writable(documento)
    if not isinstance(base_version, int) or isinstance(base_version, bool) or base_version < 0:
        raise invalid(_("Versione del testo mancante o non valida: ricarica la pagina."))
    text = clean_text(text, _("Introduzione"))
    if base_version != documento.version:
        raise Problem("stale_version", _("Nel frattempo il documento è stato modificato (versione %(v)s): il tuo "
                                         "testo non è stato salvato. Confrontalo con quello nuovo qui sotto e salva di "
                                         "nuovo.", v=documento.version), 409)
    if text == documento.introduction:
        return None
    documento.introduction = text
    entry = _version(session, documento, actor, "introduzione", text=text, now=now)
    session.flush()
    announce(session, actor, "introduction_saved", documento, version=entry.number)
    return entry


def send_for_review(session: Session, actor: User, documento: DocumentoSintesi,
                    now: datetime | None = None) -> DocumentoSintesi:
    """The draft becomes readable by every member of the procedure's tavoli."""
    procedure = get_procedure(session, documento.procedure_id)
    _writable(session, actor, procedure)
    documento = lock(session, documento)
    guard_writable(documento)
    if documento.status != "bozza":
        raise conflict(_("Il documento di sintesi è già in revisione."))
    if not (documento.introduction or "").strip():
        raise invalid(_("Scrivi l'introduzione prima di inviare il documento in revisione."))
    now = now or utcnow()
    documento.status, documento.review_opened_at = "in_revisione", now
    _version(session, documento, actor, "revisione", now=now)
    session.flush()
    announce(session, actor, "sent_for_review", documento, version=documento.version)
    return documento


# --------------------------------------------------------------------------- approval


def _status(procedure: Procedure) -> str:
    from workspace.procedures.labels import STATUS_LABELS

    return str(STATUS_LABELS.get(procedure.status, procedure.status))


def open_business(session: Session, procedure: Procedure) -> list[str]:
    """What still runs in the procedure (a seduta in progress, a vote open): it must end first."""
    tavoli = [t.id for t in procedure.tavoli]
    if not tavoli:
        return []
    missing: list[str] = []
    live = session.scalar(select(Seduta).where(Seduta.tavolo_id.in_(tavoli), Seduta.status == "in_corso").limit(1))
    if live is not None:
        missing.append(_("la seduta n. %(n)s del tavolo «%(t)s» è in corso", n=live.number, t=live.tavolo.title))
    vote = session.scalar(select(VoteRound).where(VoteRound.tavolo_id.in_(tavoli), VoteRound.status == "open")
                          .limit(1))
    if vote is not None:
        missing.append(_("la votazione «%(t)s» è aperta", t=vote.title))
    return missing


def assemble(documento: DocumentoSintesi, approval: dict[str, Any] | None = None) -> dict[str, Any]:
    """The canonical content: the generated data, the introduction and (once approved) who and when."""
    return {**(documento.generated or {}), "introduction": documento.introduction or "", "version": documento.version,
            "approval": approval}


def approve(session: Session, actor: User, documento: DocumentoSintesi, now: datetime | None = None) -> DocumentoSintesi:
    """Approve after review: freeze (content, SHA-256, PDF/A) and conclude the procedure."""
    procedure = get_procedure(session, documento.procedure_id)
    _writable(session, actor, procedure)
    documento = lock(session, documento)
    guard_writable(documento)
    if documento.status != "in_revisione":
        raise conflict(_("Il documento di sintesi si approva dopo averlo inviato in revisione ai tavoli."))
    if procedure.status != READY_STATUS:
        raise conflict(_("Si conclude solo una procedura con i tavoli in corso (stato attuale: «%(s)s»).",
                         s=_status(procedure)))
    running = open_business(session, procedure)
    if running:
        raise conflict(_("Non si può ancora approvare il documento di sintesi: %(what)s.", what="; ".join(running)))
    if generate(session, procedure) != documento.generated:
        raise conflict(_("I dati della procedura sono cambiati dopo l'ultima generazione: ricalcola il documento "
                         "di sintesi, così che i tavoli ne vedano le cifre aggiornate, poi approvalo."))
    now = now or utcnow()
    approval = {"person": actor.name, "role": "rup", "at": now.isoformat()}
    _version(session, documento, actor, "approvato", now=now)
    content = assemble(documento, approval)
    digest = contents.sha256(content)
    pdf = document.render(content, "pdf", document.footer_for(digest))
    documento.content, documento.content_sha256 = content, digest
    documento.pdf, documento.pdf_sha256 = pdf, contents.file_sha256(pdf)
    documento.status, documento.approved_at, documento.approved_by_id = "approvato", now, actor.id
    session.flush()
    lifecycle.conclude(session, actor, procedure, document="documento_sintesi", sha256=digest, now=now)
    announce(session, actor, "approved", documento, sha256=digest, pdf_sha256=documento.pdf_sha256)
    return documento


# --------------------------------------------------------------------------- documents


def current_content(documento: DocumentoSintesi) -> dict[str, Any]:
    return documento.content if documento.approved and documento.content else assemble(documento)


def footer(documento: DocumentoSintesi) -> str:
    return document.footer_for(documento.content_sha256 if documento.approved else None, documento.version)


def document_bytes(documento: DocumentoSintesi, fmt: str) -> bytes:
    """The stored PDF/A once approved; otherwise (and for ODT/DOCX) rendered from the content."""
    from workspace.exports import check_format

    fmt = check_format(fmt, DOCUMENT_FORMATS + ("html",)).name
    if documento.approved and fmt == "pdf" and documento.pdf is not None:
        return documento.pdf
    return document.render(current_content(documento), fmt, footer(documento))


def record_export(session: Session, actor: User | None, documento: DocumentoSintesi, fmt: str, channel: str) -> None:
    announce(session, actor, "exported", documento, format=fmt, channel=channel, status=documento.status,
             sha256=documento.content_sha256)
