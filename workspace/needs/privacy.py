"""What the needs area tells the privacy area about a person, through the named signals.

- ``personal_data_requested``: the person's bisogni, their changes to bisogni, annotations and
  supports (never other people's contributions);
- ``person_pseudonymised``: the bisogni, annotations and supports stay, attributed to the same
  organisation; the copies of the name go: in the version history, in the ``author`` of the
  record's events about the person's bisogni and annotations (whatever name they were written
  with), and in the free text of every bisogno and annotation (a full name or the e-mail address
  only, see ``privacy.service.Scrubber``).

Connected in ``workspace.needs.register``.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from workspace.accounts.models import User
from workspace.accounts.payloads import organisation_ref
from workspace.needs.models import Annotation, AnnotationSupport, Bisogno, BisognoVersion
from workspace.privacy.service import Scrubber, batched
from workspace.record import TavoloEvent

_BISOGNO_TEXTS = ("title", "description", "target_population", "evidence_source", "evidence_figure")
_ANNOTATION_TEXTS = ("body", "deletion_reason")


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


# --------------------------------------------------------------------------- export


def personal_data(session: Session, *, user: User, **_: Any) -> dict[str, Any]:
    uid = user.id
    bisogni = session.scalars(select(Bisogno).where(Bisogno.author_id == uid).order_by(Bisogno.id))
    versions = session.scalars(select(BisognoVersion).where(BisognoVersion.author_id == uid)
                               .order_by(BisognoVersion.id))
    annotations = session.scalars(select(Annotation).where(Annotation.author_id == uid).order_by(Annotation.id))
    supports = session.scalars(select(AnnotationSupport).where(AnnotationSupport.user_id == uid)
                               .order_by(AnnotationSupport.id))
    return {
        "bisogni": [_bisogno(b) for b in bisogni],
        "bisogno_changes": [
            {"bisogno_id": v.bisogno_id, "version": v.version, "change": v.change, "at": _iso(v.at)}
            for v in versions
        ],
        "annotations": [_annotation(a) for a in annotations],
        "supports": [
            {"annotation_id": s.annotation_id, "organisation": organisation_ref(s.organisation), "at": _iso(s.at)}
            for s in supports
        ],
    }


def _bisogno(b: Bisogno) -> dict[str, Any]:
    return {
        "id": b.id, "tavolo_id": b.tavolo_id, "seduta_id": b.seduta_id, "macroarea": b.macroarea_code,
        "title": b.title, "description": b.description, "target_population": b.target_population,
        "whole_ambito": b.whole_ambito, "evidence_source": b.evidence_source,
        "evidence_figure": b.evidence_figure, "evidence_year": b.evidence_year,
        "consolidation": b.consolidation, "status": b.status, "organisation": organisation_ref(b.organisation),
        "version": b.version, "created_at": _iso(b.created_at), "updated_at": _iso(b.updated_at),
    }


def _annotation(a: Annotation) -> dict[str, Any]:
    return {
        "id": a.id, "bisogno_id": a.bisogno_id, "parent_id": a.parent_id, "kind": a.kind, "body": a.body,
        "organisation": organisation_ref(a.organisation), "created_at": _iso(a.created_at),
        "deleted_at": _iso(a.deleted_at), "moderated": a.moderated,
        "deletion_reason": a.deletion_reason if a.moderated else None,
    }


# --------------------------------------------------------------------------- pseudonymisation


def pseudonymise(session: Session, *, user: User, scrubber: Scrubber, **_: Any) -> int:
    """Rows changed: versions, events naming the person as author, bisogni and annotations."""
    return (_scrub_authors(session, user, scrubber) + _scrub_versions(session, scrubber)
            + _scrub_free_text(session, scrubber))


def _scrub_authors(session: Session, user: User, scrubber: Scrubber) -> int:
    """``author`` of the events about the person's bisogni and annotations, as written then."""
    bisogni = set(session.scalars(select(Bisogno.id).where(Bisogno.author_id == user.id)))
    annotations = set(session.scalars(select(Annotation.id).where(Annotation.author_id == user.id)))
    if not bisogni and not annotations:
        return 0
    changed = 0
    ours = or_(TavoloEvent.kind.like("bisogno.%"), TavoloEvent.kind.like("annotation.%"))
    for ev in batched(session, TavoloEvent, ours):
        payload = ev.payload
        if not isinstance(payload, dict) or "author" not in payload:
            continue
        mine = bisogni if ev.kind.startswith("bisogno.") else annotations
        if payload.get("id") in mine and payload["author"] != scrubber.replacement:
            ev.payload = {**payload, "author": scrubber.replacement}  # a new object: JSON is not tracked in place
            changed += 1
    return changed


def _scrub_versions(session: Session, scrubber: Scrubber) -> int:
    changed = 0
    for version in batched(session, BisognoVersion):
        new = scrubber.json(version.data)
        if new != version.data:
            version.data = new
            changed += 1
    return changed


def _scrub_free_text(session: Session, scrubber: Scrubber) -> int:
    if not scrubber.rewrites_text:
        return 0
    changed = 0
    for model, columns in ((Bisogno, _BISOGNO_TEXTS), (Annotation, _ANNOTATION_TEXTS)):
        changed += scrubber.rewrite_columns(batched(session, model), columns)
    return changed
