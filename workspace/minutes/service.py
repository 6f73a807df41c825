"""Drafting, approving and exporting verbali; the procedure's minutes settings. The review (sending
the draft to the attendees, remarks and decisions) is in ``workspace.minutes.review``.

Every write checks permission, validates, passes ``guard_writable`` (the one guard: an approved
verbale refuses every change, whoever asks and however) and announces itself to the audit trail
(``signals.action_recorded``) in the same transaction; the changes the tavolo's people should see
live (review opened, approval) are also events of the tavolo's record. The caller commits.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workspace import record, signals
from workspace.accounts.models import User
from workspace.db import utcnow
from workspace.i18n import gettext as _
from workspace.minutes import content as contents
from workspace.minutes import document, permissions
from workspace.minutes.generation import generate, section_keys
from workspace.minutes.models import (
    APPROVERS,
    DEFAULT_APPROVER,
    DEFAULT_NAMING,
    DEFAULT_PUBLICATION_YEARS,
    DEFAULT_REVIEW_DAYS,
    NAMING_RULES,
    MinutesSettings,
    Verbale,
    VerbaleVersion,
    frozen_refusal,
)
from workspace.problems import Problem, conflict, invalid, invalid_fields, not_found
from workspace.procedures.models import Procedure
from workspace.procedures.publication import add_years
from workspace.tavoli import permissions as tavolo_permissions
from workspace.tavoli.models import Seduta, Tavolo
from workspace.text import clean as typed_text

log = logging.getLogger(__name__)

DEFAULT_SECTION_LIMIT = 20_000
MAX_REVIEW_DAYS = 60
MAX_PUBLICATION_YEARS = 10
DOCUMENT_FORMATS = ("pdf", "odt", "docx")
REGISTER_FORMATS = ("csv", "ods")


# --- lookups --------------------------------------------------------------------------------------


def get_verbale(session: Session, verbale_id: int, tavolo_id: int | None = None) -> Verbale:
    verbale = session.get(Verbale, verbale_id)
    if verbale is None or (tavolo_id is not None and verbale.tavolo_id != tavolo_id):
        raise not_found(_("Verbale inesistente."))
    return verbale


def verbale_of(session: Session, seduta_id: int) -> Verbale | None:
    """The verbale of a seduta (its first edition), if any."""
    return session.scalar(select(Verbale).where(Verbale.seduta_id == seduta_id, Verbale.edition == 1))


def errata_of(session: Session, verbale: Verbale) -> list[Verbale]:
    return list(session.scalars(select(Verbale).where(Verbale.corrects_id == verbale.id).order_by(Verbale.edition)))


def verbali_of_tavolo(session: Session, tavolo_id: int) -> list[Verbale]:
    return list(session.scalars(select(Verbale).where(Verbale.tavolo_id == tavolo_id)
                                .order_by(Verbale.seduta_id, Verbale.edition)))


def seduta_of(session: Session, verbale: Verbale) -> Seduta:
    return session.get_one(Seduta, verbale.seduta_id)


def tavolo_of(session: Session, verbale: Verbale) -> Tavolo:
    return session.get_one(Tavolo, verbale.tavolo_id)


def lock(session: Session, verbale: Verbale) -> Verbale:
    """The verbale re-read and locked: writes to one verbale run one at a time (FOR UPDATE on
    PostgreSQL; on SQLite every write transaction is already exclusive)."""
    locked = session.scalar(select(Verbale).where(Verbale.id == verbale.id).with_for_update()
                            .execution_options(populate_existing=True))
    if locked is None:
        raise not_found(_("Verbale inesistente."))
    return locked


def guard_writable(verbale: Verbale) -> None:
    """The one guard every write passes: an approved verbale (or an errata, approved when issued)
    never changes again."""
    if verbale.approved:
        raise frozen_refusal()


def announce(session: Session, actor: User | None, action: str, verbale: Verbale, **details: Any) -> None:
    """An action for the audit trail, in the caller's transaction."""
    signals.action_recorded.send(session, actor=actor, action=f"verbale.{action}", object_type="verbale",
                                 object_id=verbale.id, details={"seduta_id": verbale.seduta_id,
                                                                "tavolo_id": verbale.tavolo_id,
                                                                "edition": verbale.edition, **details})


# --- settings -------------------------------------------------------------------------------------


def settings_for(session: Session, procedure_id: int) -> MinutesSettings:
    """The procedure's settings, or the defaults (an unsaved row) when never changed."""
    found = session.get(MinutesSettings, procedure_id)
    if found is not None:
        return found
    return MinutesSettings(procedure_id=procedure_id, approver=DEFAULT_APPROVER, review_days=DEFAULT_REVIEW_DAYS,
                           naming=DEFAULT_NAMING, publication_years=DEFAULT_PUBLICATION_YEARS)


def update_settings(session: Session, actor: User, procedure: Procedure, *, approver: Any, review_days: Any,
                    naming: Any, publication_years: Any) -> MinutesSettings:
    permissions.require_configure(actor, procedure)
    errors: dict[str, str] = {}
    if approver not in APPROVERS:
        errors["approver"] = _("Indicare chi approva i verbali: il facilitatore o il RUP.")
    if naming not in NAMING_RULES:
        errors["naming"] = _("Indicare come i verbali pubblicati nominano le persone.")
    if not isinstance(review_days, int) or isinstance(review_days, bool) or not 1 <= review_days <= MAX_REVIEW_DAYS:
        errors["review_days"] = _("Il periodo per le osservazioni va da 1 a %(n)s giorni.", n=MAX_REVIEW_DAYS)
    if (not isinstance(publication_years, int) or isinstance(publication_years, bool)
            or not 1 <= publication_years <= MAX_PUBLICATION_YEARS):
        errors["publication_years"] = _("La pubblicazione dura da 1 a %(n)s anni.", n=MAX_PUBLICATION_YEARS)
    if errors:
        raise invalid_fields(errors)
    settings = session.get(MinutesSettings, procedure.id)
    if settings is None:
        settings = MinutesSettings(procedure_id=procedure.id)
        session.add(settings)
    settings.approver, settings.review_days, settings.naming = approver, review_days, naming
    settings.publication_years, settings.updated_by_id, settings.updated_at = publication_years, actor.id, utcnow()
    session.flush()
    signals.action_recorded.send(session, actor=actor, action="verbale.settings_changed", object_type="procedure",
                                 object_id=procedure.id, details={"approver": approver, "review_days": review_days,
                                                                  "naming": naming,
                                                                  "publication_years": publication_years})
    return settings


# --- the draft ------------------------------------------------------------------------------------


def _version(session: Session, verbale: Verbale, actor: User | None, change: str, *, section: str | None = None,
             text: str | None = None, generated: dict | None = None) -> VerbaleVersion:
    verbale.version += 1
    entry = VerbaleVersion(verbale_id=verbale.id, number=verbale.version, change=change, section=section, text=text,
                           generated=generated, author_id=actor.id if actor else None,
                           author_name=actor.name if actor else "", at=utcnow())
    session.add(entry)
    return entry


def create_draft(session: Session, actor: User, seduta: Seduta) -> Verbale:
    """The draft verbale of a closed seduta, generated from its record."""
    permissions.require_write(session, actor, seduta.tavolo_id)
    if seduta.status != "chiusa":
        raise conflict(_("Il verbale si genera quando la seduta è chiusa."))
    if verbale_of(session, seduta.id) is not None:
        raise conflict(_("Il verbale di questa seduta esiste già: si può rigenerare finché è una bozza."))
    now = utcnow()
    generated = generate(session, seduta)
    verbale = Verbale(seduta_id=seduta.id, tavolo_id=seduta.tavolo_id, edition=1, status="bozza",
                      generated=generated, narrative={}, version=0, generated_at=now, created_at=now)
    session.add(verbale)
    session.flush()
    entry = _version(session, verbale, actor, "generato", generated=generated)
    session.flush()
    announce(session, actor, "generated", verbale, version=entry.number)
    return verbale


def draft_on_close(session: Session, *, actor: User, seduta: Seduta, **_: Any) -> None:
    """Receiver of ``signals.seduta_closed``: the draft is generated in the closing's transaction.
    A failure here must never stop a seduta from closing: it is logged, its writes undone (a
    savepoint), and the facilitator generates the draft from the verbale's page."""
    try:
        with session.begin_nested():
            create_draft(session, actor, seduta)
    except Exception:  # noqa: BLE001 — see above: the closing goes on, the page offers to generate
        log.exception("bozza del verbale della seduta %s non generata alla chiusura", seduta.id)


def regenerate(session: Session, actor: User, verbale: Verbale) -> Verbale:
    """Recompute the generated parts from the record; the narrative written so far stays."""
    permissions.require_write(session, actor, verbale.tavolo_id)
    verbale = lock(session, verbale)
    guard_writable(verbale)
    if verbale.status != "bozza":
        raise conflict(_("Il verbale è già stato inviato ai partecipanti: le parti generate non si ricalcolano più."))
    generated = generate(session, seduta_of(session, verbale))
    verbale.generated, verbale.generated_at = generated, utcnow()
    entry = _version(session, verbale, actor, "rigenerato", generated=generated)
    session.flush()
    announce(session, actor, "regenerated", verbale, version=entry.number)
    return verbale


def section_version(session: Session, verbale: Verbale, key: str) -> int:
    """The number of the last version that wrote ``key`` (0: never written)."""
    return session.scalar(select(func.max(VerbaleVersion.number)).where(
        VerbaleVersion.verbale_id == verbale.id, VerbaleVersion.section == key)) or 0


def _limit() -> int:
    return int(current_app.config.get("TEXT_LIMIT", DEFAULT_SECTION_LIMIT))


def clean_text(value: Any, label: str, limit: int | None = None, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise invalid(_("Il campo «%(f)s» deve essere un testo.", f=label))
    value = typed_text(value, label)
    value = "\n".join(line.rstrip() for line in value.replace("\r\n", "\n").replace("\r", "\n").split("\n")).strip()
    if required and not value:
        raise invalid(_("Il campo «%(f)s» è obbligatorio.", f=label))
    limit = limit or _limit()
    if len(value) > limit:
        raise Problem("too_long", _("Il campo «%(f)s» supera il limite di %(n)s caratteri (ne contiene %(c)s).",
                                    f=label, n=limit, c=len(value)), 413)
    return value


def save_section(session: Session, actor: User, verbale: Verbale, key: str, text: Any,
                 base_version: Any) -> VerbaleVersion | None:
    """Write one narrative section (Markdown). ``base_version`` is the section's version the writer
    started from (``section_version``); if someone saved it since, the save is refused with 409
    and nothing is lost: the page shows the newer text beside the writer's own."""
    permissions.require_write(session, actor, verbale.tavolo_id)
    verbale = lock(session, verbale)
    guard_writable(verbale)
    if key not in section_keys(verbale.generated or {}):
        raise not_found(_("Sezione del verbale inesistente."))
    if not isinstance(base_version, int) or isinstance(base_version, bool) or base_version < 0:
        raise invalid(_("Versione del testo mancante o non valida: ricarica la pagina."))
    text = clean_text(text, _("Testo"))
    current = section_version(session, verbale, key)
    if base_version != current:
        raise Problem("stale_version", _("Nel frattempo qualcun altro ha salvato questa sezione (versione %(v)s): "
                                         "il tuo testo non è stato salvato. Confrontalo con quello nuovo qui sotto "
                                         "e salva di nuovo.", v=current), 409)
    if (verbale.narrative or {}).get(key, "") == text:
        return None
    verbale.narrative = {**(verbale.narrative or {}), key: text}
    entry = _version(session, verbale, actor, "testo", section=key, text=text)
    session.flush()
    announce(session, actor, "text_saved", verbale, section=key, version=entry.number)
    return entry


# --- approval -------------------------------------------------------------------------------------


def approver_of(session: Session, verbale: Verbale) -> str:
    return settings_for(session, tavolo_of(session, verbale).procedure_id).approver


def approval_entry(session: Session, actor: User, tavolo: Tavolo, role: str, at: datetime) -> dict[str, Any]:
    tavolo_role = tavolo_permissions.tavolo_role(session, actor, tavolo.id)
    org = tavolo_role.organisation if tavolo_role and tavolo_role.organisation else (
        actor.organisations[0] if actor.organisations else None)
    return {"person": actor.name, "organisation": org.name if org else None, "role": role, "at": at.isoformat()}


def _freeze(session: Session, verbale: Verbale, content: dict[str, Any], naming: str, years: int,
            now: datetime) -> None:
    """Store the content, its hash and both PDF/A renderings (full and for publication)."""
    digest = contents.sha256(content)
    pdf = document.render(content, "pdf", document.footer_for(digest))
    public = contents.public_edition(content, naming)
    public_pdf = document.render(public, "pdf", document.footer_for(digest, public=True))
    verbale.content, verbale.content_sha256 = content, digest
    verbale.pdf, verbale.pdf_sha256 = pdf, contents.file_sha256(pdf)
    verbale.public_pdf, verbale.public_pdf_sha256 = public_pdf, contents.file_sha256(public_pdf)
    verbale.naming = naming
    verbale.published_from, verbale.published_until = now, add_years(now, years)


def approve(session: Session, actor: User, verbale: Verbale, now: datetime | None = None) -> Verbale:
    """Approve after review: every remark decided. Freezes the verbale (content, SHA-256, PDF/A)."""
    tavolo = tavolo_of(session, verbale)
    settings = settings_for(session, tavolo.procedure_id)
    permissions.require_approve(session, actor, tavolo, settings.approver)
    verbale = lock(session, verbale)
    guard_writable(verbale)
    if verbale.status != "in_revisione":
        raise conflict(_("Il verbale si approva dopo averlo inviato ai partecipanti per le osservazioni."))
    open_remarks = [r for r in verbale.remarks if r.status == "aperta"]
    if open_remarks:
        raise conflict(_("Restano %(n)s osservazioni da accogliere o respingere prima dell'approvazione.",
                         n=len(open_remarks)))
    now = now or utcnow()
    approval = approval_entry(session, actor, tavolo, settings.approver, now)
    content = contents.assemble(verbale, approval)
    _freeze(session, verbale, content, settings.naming, settings.publication_years, now)
    verbale.status, verbale.approved_at, verbale.approved_by_id = "approvato", now, actor.id
    verbale.approver_role = settings.approver
    session.flush()
    record.append(session, verbale.tavolo_id, "verbale.approved", {
        "verbale_id": verbale.id, "seduta_id": verbale.seduta_id, "sha256": verbale.content_sha256,
        "approved_at": now.isoformat()}, actor.id)
    announce(session, actor, "approved", verbale, sha256=verbale.content_sha256, pdf_sha256=verbale.pdf_sha256,
             approver=settings.approver)
    return verbale


def issue_errata(session: Session, actor: User, verbale: Verbale, corrections: Any, reason: Any,
                 now: datetime | None = None) -> Verbale:
    """A correction of an approved verbale: a new, linked record citing the original's id and hash,
    approved (and so frozen) when issued by whoever approves the procedure's verbali."""
    tavolo = tavolo_of(session, verbale)
    settings = settings_for(session, tavolo.procedure_id)
    permissions.require_approve(session, actor, tavolo, settings.approver)
    if not verbale.approved or verbale.is_errata:
        raise conflict(_("Un'errata corrige si emette solo per un verbale approvato."))
    errors: dict[str, str] = {}
    try:
        corrections = clean_text(corrections, _("Correzioni"), required=True)
    except Problem as problem:
        errors["corrections"] = problem.message
    try:
        reason = clean_text(reason, _("Motivazione"), limit=2000, required=True)
    except Problem as problem:
        errors["reason"] = problem.message
    if errors:
        raise invalid_fields(errors)
    now = now or utcnow()
    edition = (session.scalar(select(func.max(Verbale.edition)).where(Verbale.seduta_id == verbale.seduta_id))
               or 1) + 1
    errata = Verbale(seduta_id=verbale.seduta_id, tavolo_id=verbale.tavolo_id, edition=edition,
                     corrects_id=verbale.id, status="bozza", generated={}, narrative={}, version=0,
                     generated_at=now, created_at=now)
    session.add(errata)
    session.flush()
    approval = approval_entry(session, actor, tavolo, settings.approver, now)
    content = contents.errata_content(verbale, edition, errata.id, corrections, reason, approval)
    _version(session, errata, actor, "errata", text=corrections)
    _freeze(session, errata, content, settings.naming, settings.publication_years, now)
    errata.status, errata.approved_at, errata.approved_by_id = "approvato", now, actor.id
    errata.approver_role = settings.approver
    session.flush()
    record.append(session, verbale.tavolo_id, "verbale.errata", {
        "verbale_id": errata.id, "corrects": verbale.id, "seduta_id": verbale.seduta_id,
        "sha256": errata.content_sha256, "corrects_sha256": verbale.content_sha256}, actor.id)
    announce(session, actor, "errata_issued", errata, corrects=verbale.id, corrects_sha256=verbale.content_sha256,
             sha256=errata.content_sha256)
    return errata


# --- documents ------------------------------------------------------------------------------------


def current_content(verbale: Verbale) -> dict[str, Any]:
    """The frozen content of an approved verbale, or the draft as it stands."""
    return verbale.content if verbale.approved and verbale.content else contents.assemble(verbale)


def document_bytes(verbale: Verbale, fmt: str, public: bool = False) -> bytes:
    """The verbale in ``fmt``: the stored PDF/A once approved, otherwise rendered from its content.
    ``public``: the edition for publication (approved verbali only)."""
    from workspace.exports import check_format

    fmt = check_format(fmt, DOCUMENT_FORMATS + ("html",)).name
    if verbale.approved and fmt == "pdf":
        stored = verbale.public_pdf if public else verbale.pdf
        if stored is not None:
            return stored
    body = current_content(verbale)
    if public:
        body = contents.public_edition(body, verbale.naming or DEFAULT_NAMING)
    footer = document.footer_for(verbale.content_sha256 if verbale.approved else None, verbale.version, public)
    return document.render(body, fmt, footer)


def register_bytes(verbale: Verbale, fmt: str) -> bytes:
    from workspace.exports import check_format, render_table

    fmt = check_format(fmt, REGISTER_FORMATS).name
    return render_table(document.register_sheet(current_content(verbale)), fmt, allowed=REGISTER_FORMATS)


def record_export(session: Session, actor: User | None, verbale: Verbale, what: str, fmt: str, channel: str) -> None:
    """An export of an official document is an action for the audit trail (``what``: "verbale" or
    "registro"; ``channel``: "web" or "cli")."""
    announce(session, actor, "exported", verbale, what=what, format=fmt, channel=channel, status=verbale.status,
             sha256=verbale.content_sha256)
