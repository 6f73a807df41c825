"""The review of a draft verbale: the facilitator sends it to the attendees (a notice on the tavolo's
page, a live event of the tavolo's record, and an e-mail to each attendee once the change is
committed); during the review window the attendees file remarks (osservazioni) on the whole
verbale or on one section; the facilitator accepts or rejects each, always with a reason.
Everything is kept and listed in the approved verbale's annex (``content.assemble``).

Narrative edits stay possible during the review (an accepted remark is usually worked into the
text); the generated parts no longer change once the draft went out.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from workspace import mail, record
from workspace.accounts.models import User
from workspace.db import utcnow
from workspace.i18n import gettext as _
from workspace.minutes import permissions
from workspace.minutes.generation import section_keys
from workspace.minutes.labels import when
from workspace.minutes.models import Verbale, VerbaleRemark
from workspace.minutes.service import (
    MAX_REVIEW_DAYS,
    announce,
    clean_text,
    guard_writable,
    lock,
    seduta_of,
    settings_for,
    tavolo_of,
)
from workspace.problems import conflict, invalid, not_found
from workspace.tavoli import permissions as tavolo_permissions
from workspace.tavoli.models import Presence

log = logging.getLogger(__name__)

REMARK_LIMIT = 5_000
REASON_LIMIT = 2_000


def get_remark(session: Session, remark_id: int, verbale: Verbale) -> VerbaleRemark:
    remark = session.get(VerbaleRemark, remark_id)
    if remark is None or remark.verbale_id != verbale.id:
        raise not_found(_("Osservazione inesistente."))
    return remark


def review_open(verbale: Verbale, now: datetime | None = None) -> bool:
    """Remarks are accepted: the draft is out and its window has not closed."""
    return (verbale.status == "in_revisione" and verbale.review_closes_at is not None
            and (now or utcnow()) < verbale.review_closes_at)


def attendees(session: Session, verbale: Verbale) -> list[User]:
    """The people in the seduta's presence register (once each), who still sit at the tavolo."""
    ids = list(dict.fromkeys(session.scalars(select(Presence.user_id).where(Presence.seduta_id == verbale.seduta_id)
                                             .order_by(Presence.joined_at, Presence.id))))
    people = [session.get(User, i) for i in ids]
    return [p for p in people if p is not None and p.active
            and tavolo_permissions.can(session, p, "view", verbale.tavolo_id)]


def send_for_review(session: Session, actor: User, verbale: Verbale, days: Any = None,
                    now: datetime | None = None) -> Verbale:
    """Send the draft to the attendees for ``days`` (default: the procedure's review window)."""
    permissions.require_write(session, actor, verbale.tavolo_id)
    verbale = lock(session, verbale)
    guard_writable(verbale)
    if verbale.status != "bozza":
        raise conflict(_("Il verbale è già stato inviato ai partecipanti."))
    tavolo = tavolo_of(session, verbale)
    if days in (None, ""):
        days = settings_for(session, tavolo.procedure_id).review_days
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_REVIEW_DAYS:
        raise invalid(_("Il periodo per le osservazioni va da 1 a %(n)s giorni.", n=MAX_REVIEW_DAYS))
    now = now or utcnow()
    verbale.status, verbale.review_days = "in_revisione", days
    verbale.review_opened_at, verbale.review_closes_at = now, now + timedelta(days=days)
    session.flush()
    seduta = seduta_of(session, verbale)
    record.append(session, verbale.tavolo_id, "verbale.review_opened", {
        "verbale_id": verbale.id, "seduta_id": seduta.id, "seduta_number": seduta.number,
        "closes_at": verbale.review_closes_at.isoformat()}, actor.id)
    announce(session, actor, "sent_for_review", verbale, days=days, closes_at=verbale.review_closes_at.isoformat())
    _mail_after_commit(session, verbale, attendees(session, verbale))
    return verbale


def _mail_after_commit(session: Session, verbale: Verbale, people: list[User]) -> None:
    """One e-mail to each attendee, sent only if the review really opened (after commit). The
    messages are rendered now, inside the transaction: rendering reads the database (the layout's
    context), which a committed session no longer allows."""
    tavolo = tavolo_of(session, verbale)
    seduta = seduta_of(session, verbale)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    link = mail.external_url("minutes.verbale", tavolo_id=tavolo.id, verbale_id=verbale.id)
    subject = _("Verbale della seduta n. %(n)s da rivedere – %(t)s", n=seduta.number, t=tavolo.title)
    messages = [(p.email, mail.render_mail("verbale_review.txt", name=p.name, tavolo=tavolo.title,
                                           number=seduta.number, link=link, closes=when(verbale.review_closes_at)))
                for p in people]

    def deliver() -> None:
        for address, body in messages:
            try:
                mail.send_mail(address, subject, body)
            except mail.MailError:
                log.warning("e-mail di revisione del verbale %s non inviata a %s", verbale.id, address)

    def send() -> None:
        # A commit happens inside the request's (or the command's) app context; a new context
        # pushed here would tear the request's database session down when it ends.
        if has_app_context():
            deliver()
        else:
            with app.app_context():
                deliver()

    record.on_commit(session, send)


def file_remark(session: Session, actor: User, verbale: Verbale, section: Any, text: Any,
                now: datetime | None = None) -> VerbaleRemark:
    """An attendee's remark, on the whole verbale (``section`` None or "") or on one section."""
    permissions.require_remark(session, actor, verbale.tavolo_id, verbale.seduta_id)
    verbale = lock(session, verbale)
    guard_writable(verbale)
    now = now or utcnow()
    if verbale.status != "in_revisione":
        raise conflict(_("Le osservazioni si presentano quando il verbale è inviato ai partecipanti."))
    if not review_open(verbale, now):
        raise conflict(_("Il periodo per le osservazioni si è chiuso il %(d)s.", d=when(verbale.review_closes_at)))
    section = section or None
    if section is not None and section not in section_keys(verbale.generated or {}):
        raise invalid(_("Sezione del verbale inesistente."))
    text = clean_text(text, _("Osservazione"), limit=REMARK_LIMIT, required=True)
    role = tavolo_permissions.tavolo_role(session, actor, verbale.tavolo_id)
    org = role.organisation if role and role.organisation else (actor.organisations[0] if actor.organisations
                                                                 else None)
    remark = VerbaleRemark(verbale_id=verbale.id, section=section, text=text, author_id=actor.id,
                           author_name=actor.name, organisation_id=org.id if org else None,
                           organisation_name=org.name if org else None,
                           role=tavolo_permissions.role_name(session, actor, verbale.tavolo_id),
                           against_version=verbale.version, filed_at=now, status="aperta")
    session.add(remark)
    session.flush()
    announce(session, actor, "remark_filed", verbale, remark_id=remark.id, section=section)
    return remark


def decide_remark(session: Session, actor: User, verbale: Verbale, remark: VerbaleRemark, accept: Any,
                  reason: Any, now: datetime | None = None) -> VerbaleRemark:
    """The facilitator accepts or rejects a remark, with a reason (both ways)."""
    permissions.require_write(session, actor, verbale.tavolo_id)
    verbale = lock(session, verbale)
    guard_writable(verbale)
    if remark.verbale_id != verbale.id:
        raise not_found(_("Osservazione inesistente."))
    if verbale.status != "in_revisione":
        raise conflict(_("Le osservazioni si esaminano durante la revisione del verbale."))
    if remark.status != "aperta":
        raise conflict(_("Questa osservazione è già stata esaminata."))
    if not isinstance(accept, bool):
        raise invalid(_("Indicare se l'osservazione è accolta o respinta."))
    reason = clean_text(reason, _("Motivazione"), limit=REASON_LIMIT, required=True)
    remark.status = "accolta" if accept else "respinta"
    remark.reason, remark.decided_by_id, remark.decided_by_name = reason, actor.id, actor.name
    remark.decided_at = now or utcnow()
    session.flush()
    announce(session, actor, "remark_accepted" if accept else "remark_rejected", verbale, remark_id=remark.id)
    return remark
