"""Bisogni and annotations: raise, edit (versioned), change state, merge, annotate, support,
delete or moderate. Same write path as every tavolo change: permission, validation, rows, one
event — in one transaction the caller commits. The events' payloads: ``workspace.needs.payloads``
(member variants)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from workspace import record
from workspace.accounts.models import Organisation, User
from workspace.accounts.service import first_organisation
from workspace.db import utcnow
from workspace.i18n import gettext as _
from workspace.ids import parse_ids
from workspace.needs.labels import ANNOTATION_FIELD_LABELS, FIELD_LABELS
from workspace.needs.models import (
    ANNOTATION_KINDS,
    CONSOLIDATION,
    Annotation,
    AnnotationSupport,
    Bisogno,
    BisognoVersion,
)
from workspace.needs.payloads import annotation_member, bisogno_fields, bisogno_member
from workspace.problems import Problem, conflict, forbidden, invalid, not_found
from workspace.reference.models import KeyPoint, Macroarea
from workspace.tavoli import permissions
from workspace.tavoli import service as tavoli_service
from workspace.tavoli.models import Seduta, Tavolo, TavoloRole
from workspace.text import clean as typed_text

DEFAULT_TEXT_LIMIT = 20_000

# Allowed state changes; "accorpato" goes through merge_bisogno, which names the target.
TRANSITIONS = {
    "proposto": {"in_discussione", "ritirato"},
    "in_discussione": {"proposto", "ritirato"},
    "accorpato": set(),
    "ritirato": {"proposto"},
}


def text_limit() -> int:
    return int(current_app.config.get("TEXT_LIMIT", DEFAULT_TEXT_LIMIT))


def _text(value: Any, label: object, required: bool = False, limit: int | None = None) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise invalid(_("Il campo «%(f)s» deve essere un testo.", f=label))
    value = typed_text(value, label).strip()
    if required and not value:
        raise invalid(_("Il campo «%(f)s» è obbligatorio.", f=label))
    limit = limit or text_limit()
    if len(value) > limit:
        allowed, given = _thousands(limit), _thousands(len(value))
        raise Problem("too_long", _("Il campo «%(f)s» supera il limite di %(n)s caratteri (ne contiene %(c)s).",
                                    f=label, n=allowed, c=given), 413)
    return value


def _thousands(n: int) -> str:
    """Italian digit grouping: 20.000."""
    return f"{n:,}".replace(",", ".")


def get_bisogno(session: Session, bisogno_id: int, tavolo_id: int | None = None) -> Bisogno:
    bisogno = session.get(Bisogno, bisogno_id)
    if bisogno is None or (tavolo_id is not None and bisogno.tavolo_id != tavolo_id):
        raise not_found(_("Bisogno inesistente."))
    return bisogno


def get_annotation(session: Session, annotation_id: int, tavolo_id: int | None = None) -> Annotation:
    annotation = session.get(Annotation, annotation_id)
    if annotation is None or (tavolo_id is not None and annotation.bisogno.tavolo_id != tavolo_id):
        raise not_found(_("Annotazione inesistente."))
    return annotation


def speaking_for(session: Session, user: User, tavolo_id: int) -> Organisation | None:
    """The organisation a contribution is attributed to: the delegate's, else the first one."""
    return _speaking_for(session, user, permissions.tavolo_role(session, user, tavolo_id, with_organisation=True))


def _speaking_for(session: Session, user: User, row: TavoloRole | None) -> Organisation | None:
    if row is not None and row.organisation is not None:
        return row.organisation
    return first_organisation(session, user)


def _contributor(session: Session, actor: User, tavolo_id: int) -> Organisation | None:
    """The permission to contribute and the organisation spoken for, from one query (the role row
    with its organisation): a write during a live seduta is on the facilitator's critical path."""
    _role, row = permissions.require_row(session, actor, "contribute", tavolo_id)
    return _speaking_for(session, actor, row)


# --- bisogni ---------------------------------------------------------------------------------------


def _apply_fields(session: Session, bisogno: Bisogno, tavolo: Tavolo, data: dict[str, Any]) -> None:
    """Validate every field before touching the row, so a refusal leaves nothing half-changed."""
    title = _text(data.get("title"), FIELD_LABELS["title"], required=True, limit=300)
    description = _text(data.get("description"), FIELD_LABELS["description"])
    target = _text(data.get("target_population"), FIELD_LABELS["target_population"], limit=2000)
    source = _text(data.get("evidence_source"), FIELD_LABELS["evidence_source"], limit=2000)
    figure = _text(data.get("evidence_figure"), FIELD_LABELS["evidence_figure"], limit=200)
    year = data.get("evidence_year")
    if year in ("", None):
        year = None
    else:
        try:
            year = int(year)
        except (TypeError, ValueError):
            raise invalid(_("L'anno del dato deve essere un numero.")) from None
        if not 1990 <= year <= utcnow().year:
            raise invalid(_("L'anno del dato deve essere compreso fra 1990 e l'anno in corso."))
    consolidation = data.get("consolidation") or "nuovo"
    if consolidation not in CONSOLIDATION:
        raise invalid(_("Indicare se il bisogno è consolidato o nuovo."))

    tavolo_codes = {m.code for m in tavolo.macroaree}
    primary_code = data.get("macroarea") or (sorted(tavolo_codes)[0] if len(tavolo_codes) == 1 else None)
    if primary_code not in tavolo_codes:
        raise invalid(_("La macroarea principale deve essere una di quelle del tavolo."))
    transversal_codes = [c for c in (data.get("transversal") or []) if c != primary_code]
    transversal = list(session.scalars(select(Macroarea).where(Macroarea.code.in_(transversal_codes),
                                                               Macroarea.status == "active")))
    if len(transversal) != len(set(transversal_codes)):
        raise invalid(_("Macroarea trasversale non valida."))
    allowed_areas = {primary_code, *transversal_codes}
    kp_ids = parse_ids(data.get("key_points"), _("Punto chiave non valido."))
    key_points = list(session.scalars(select(KeyPoint).where(KeyPoint.id.in_(kp_ids))))
    if len(key_points) != len(set(kp_ids)) or any(k.macroarea_code not in allowed_areas for k in key_points):
        raise invalid(_("I punti chiave vanno scelti fra quelli ufficiali delle macroaree del bisogno."))
    comune_ids = parse_ids(data.get("comuni"), _("Il territorio va scelto fra i Comuni dell'Ambito."))
    comuni = list(session.scalars(select(Organisation).where(Organisation.id.in_(comune_ids),
                                                             Organisation.kind == "comune")))
    ambito = tavolo.procedure.ambito_code
    if len(comuni) != len(set(comune_ids)) or any(c.ambito_code != ambito for c in comuni):
        raise invalid(_("Il territorio va scelto fra i Comuni dell'Ambito."))
    if data.get("whole_ambito") and comuni:
        raise invalid(_("Indicare l'intero Ambito oppure i singoli Comuni, non entrambi."))

    bisogno.title, bisogno.description, bisogno.target_population = title, description, target
    bisogno.evidence_source, bisogno.evidence_figure, bisogno.evidence_year = source, figure, year
    bisogno.consolidation = consolidation
    bisogno.macroarea_code = primary_code
    bisogno.transversal, bisogno.key_points, bisogno.comuni = transversal, key_points, comuni
    bisogno.whole_ambito = bool(data.get("whole_ambito"))


def _snapshot_version(session: Session, bisogno: Bisogno, change: str, actor: User) -> None:
    session.add(BisognoVersion(bisogno_id=bisogno.id, version=bisogno.version, data=bisogno_fields(bisogno),
                               change=change, author_id=actor.id, at=utcnow()))


def create_bisogno(session: Session, actor: User, tavolo: Tavolo, data: dict[str, Any],
                   op_id: str | None = None, now: datetime | None = None) -> tuple[Bisogno, record.TavoloEvent]:
    organisation = _contributor(session, actor, tavolo.id)
    seduta = tavoli_service.check_contribution_window(session, tavolo, now)
    bisogno = Bisogno(tavolo_id=tavolo.id, seduta_id=seduta.id if seduta else None, author_id=actor.id,
                      organisation=organisation, version=1)
    # Validated before being added to the session: a refusal writes nothing.
    _apply_fields(session, bisogno, tavolo, data)
    bisogno.created_at = bisogno.updated_at = utcnow()
    session.add(bisogno)
    session.flush()
    _snapshot_version(session, bisogno, "creato", actor)
    ev = record.append(session, tavolo.id, "bisogno.created", bisogno_member(bisogno), actor.id, op_id)
    return bisogno, ev


def may_edit(session: Session, actor: User, bisogno: Bisogno) -> bool:
    if permissions.can(session, actor, "facilitate", bisogno.tavolo_id):
        return True
    if not permissions.can(session, actor, "contribute", bisogno.tavolo_id):
        return False
    org = speaking_for(session, actor, bisogno.tavolo_id)
    return bisogno.author_id == actor.id or (org is not None and org.id == bisogno.organisation_id)


def update_bisogno(session: Session, actor: User, bisogno: Bisogno, data: dict[str, Any],
                   expected_version: int | None = None, op_id: str | None = None) -> record.TavoloEvent:
    if not may_edit(session, actor, bisogno):
        raise forbidden(_("Può modificare il bisogno solo chi lo ha proposto, la sua organizzazione o un facilitatore."))
    if bisogno.status in ("accorpato", "ritirato"):
        raise conflict(_("Un bisogno accorpato o ritirato non si modifica."))
    if expected_version is not None and expected_version != bisogno.version:
        raise conflict(_("Il bisogno è stato modificato nel frattempo da un'altra persona (versione %(v)s): "
                         "ricarica e riapplica le tue modifiche.", v=bisogno.version))
    tavoli_service.check_contribution_window(session, bisogno_tavolo(session, bisogno))
    merged = {**bisogno_fields(bisogno), **data}
    _apply_fields(session, bisogno, bisogno_tavolo(session, bisogno), merged)
    bisogno.version += 1
    bisogno.updated_at = utcnow()
    session.flush()
    _snapshot_version(session, bisogno, "modificato", actor)
    return record.append(session, bisogno.tavolo_id, "bisogno.updated", bisogno_member(bisogno), actor.id, op_id)


def set_status(session: Session, actor: User, bisogno: Bisogno, status: str,
               op_id: str | None = None) -> record.TavoloEvent:
    if status not in TRANSITIONS:
        raise invalid(_("Stato non valido."))
    if status == "ritirato" and not may_edit(session, actor, bisogno):
        raise forbidden(_("Può ritirare il bisogno solo chi lo ha proposto, la sua organizzazione o un facilitatore."))
    if status != "ritirato":
        permissions.require(session, actor, "facilitate", bisogno.tavolo_id)
    if status not in TRANSITIONS[bisogno.status]:
        raise conflict(_("Passaggio di stato non consentito: da «%(a)s» a «%(b)s».", a=bisogno.status, b=status))
    bisogno.status = status
    bisogno.version += 1
    bisogno.updated_at = utcnow()
    session.flush()
    _snapshot_version(session, bisogno, "stato", actor)
    return record.append(session, bisogno.tavolo_id, "bisogno.status", bisogno_member(bisogno), actor.id, op_id)


def merge_bisogno(session: Session, actor: User, bisogno: Bisogno, into: Bisogno,
                  op_id: str | None = None) -> record.TavoloEvent:
    """Merge a bisogno into another of the same tavolo; its annotations stay where they are,
    and the link is kept both ways so nothing said is lost."""
    permissions.require(session, actor, "facilitate", bisogno.tavolo_id)
    if into.tavolo_id != bisogno.tavolo_id or into.id == bisogno.id:
        raise invalid(_("Si può accorpare solo in un altro bisogno dello stesso tavolo."))
    if bisogno.status in ("accorpato", "ritirato") or into.status in ("accorpato", "ritirato"):
        raise conflict(_("Non si accorpano bisogni già accorpati o ritirati."))
    bisogno.status, bisogno.merged_into_id = "accorpato", into.id
    bisogno.version += 1
    bisogno.updated_at = utcnow()
    session.flush()
    _snapshot_version(session, bisogno, "accorpato", actor)
    return record.append(session, bisogno.tavolo_id, "bisogno.merged", bisogno_member(bisogno) | {"into": into.id},
                         actor.id, op_id)


def spotlight(session: Session, actor: User, seduta: Seduta, bisogno_id: int | None,
              op_id: str | None = None) -> record.TavoloEvent:
    """The facilitator puts a bisogno on the big screen (or clears it)."""
    permissions.require(session, actor, "facilitate", seduta.tavolo_id)
    if seduta.status != "in_corso":
        raise conflict(_("La seduta non è in corso."))
    if bisogno_id is not None:
        get_bisogno(session, bisogno_id, seduta.tavolo_id)
    seduta.spotlight_bisogno_id = bisogno_id
    session.flush()
    return record.append(session, seduta.tavolo_id, "spotlight.set",
                         {"seduta_id": seduta.id, "bisogno_id": bisogno_id}, actor.id, op_id)


def bisogno_tavolo(session: Session, bisogno: Bisogno) -> Tavolo:
    return tavoli_service.get_tavolo(session, bisogno.tavolo_id)


# --- annotations -----------------------------------------------------------------------------------


def add_annotation(session: Session, actor: User, bisogno: Bisogno, kind: str, body: str,
                   parent_id: int | None = None, op_id: str | None = None) -> tuple[Annotation, record.TavoloEvent]:
    organisation = _contributor(session, actor, bisogno.tavolo_id)
    if kind not in ANNOTATION_KINDS:
        raise invalid(_("Tipo di annotazione non valido."))
    body = _text(body, ANNOTATION_FIELD_LABELS["body"], required=True)
    if bisogno.status in ("accorpato", "ritirato"):
        raise conflict(_("Il bisogno è accorpato o ritirato: annotare il bisogno in cui è confluito."))
    # Held until the end: the closure guard of the two flushes below finds it loaded (the session
    # keeps objects only while someone refers to them).
    tavolo = bisogno_tavolo(session, bisogno)
    tavoli_service.check_contribution_window(session, tavolo)
    if parent_id is not None:
        parent = session.get(Annotation, parent_id)
        if parent is None or parent.bisogno_id != bisogno.id:
            raise invalid(_("Si può rispondere solo a un'annotazione dello stesso bisogno."))
    annotation = Annotation(bisogno_id=bisogno.id, parent_id=parent_id, kind=kind, body=body,
                            author_id=actor.id, organisation=organisation, created_at=utcnow(),
                            supports=[])  # new: nobody supports it yet (no query to find out)
    session.add(annotation)
    session.flush()
    ev = record.append(session, bisogno.tavolo_id, "annotation.created", annotation_member(annotation), actor.id, op_id)
    return annotation, ev


def delete_annotation(session: Session, actor: User, annotation: Annotation, reason: str = "",
                      op_id: str | None = None) -> record.TavoloEvent:
    """Soft deletion: the author withdraws it, or a facilitator moderates it with a reason."""
    tavolo_id = annotation.bisogno.tavolo_id
    if annotation.deleted_at is not None:
        raise conflict(_("L'annotazione è già stata eliminata."))
    if annotation.author_id == actor.id and permissions.can(session, actor, "view", tavolo_id):
        moderated = False
    else:
        permissions.require(session, actor, "facilitate", tavolo_id)
        reason = _text(reason, ANNOTATION_FIELD_LABELS["reason"], required=True, limit=1000)
        moderated = True
    annotation.deleted_at, annotation.deleted_by_id = utcnow(), actor.id
    annotation.deletion_reason, annotation.moderated = (reason or None), moderated
    session.flush()
    return record.append(session, tavolo_id, "annotation.deleted", annotation_member(annotation), actor.id, op_id)


def toggle_support(session: Session, actor: User, annotation: Annotation, support: bool,
                   op_id: str | None = None) -> record.TavoloEvent:
    """One support per organisation: any of its delegates can give or withdraw it."""
    tavolo_id = annotation.bisogno.tavolo_id
    permissions.require(session, actor, "contribute", tavolo_id)
    if annotation.deleted_at is not None:
        raise conflict(_("L'annotazione è stata eliminata."))
    org = speaking_for(session, actor, tavolo_id)
    if org is None:
        raise forbidden(_("Il sostegno si dà a nome di un'organizzazione: non ne rappresenti nessuna."))
    existing = session.scalar(select(AnnotationSupport).where(AnnotationSupport.annotation_id == annotation.id,
                                                             AnnotationSupport.organisation_id == org.id))
    if support and existing is None:
        session.add(AnnotationSupport(annotation_id=annotation.id, organisation_id=org.id, user_id=actor.id,
                                      at=utcnow()))
    elif not support and existing is not None:
        session.delete(existing)
    session.flush()
    session.refresh(annotation)
    return record.append(session, tavolo_id, "annotation.supported", annotation_member(annotation), actor.id, op_id)


# --- reading -------------------------------------------------------------------------------------


def bisogni_of(session: Session, tavolo_id: int) -> list[Bisogno]:
    return list(session.scalars(select(Bisogno).where(Bisogno.tavolo_id == tavolo_id).order_by(Bisogno.id)))


# The first-join snapshot is bounded whatever the tavolo holds: what a screen shows first (the latest
# bisogni and contributions, the one in the spotlight); a client pages through the rest (``page``).
# Every joining client receives it: at 50 bisogni and 100 annotations it weighed ~100 KB, sent 300
# times in a join storm (the server's CPU, and the phones'); 20 and 40 (~40 KB) fill a laptop's screen.
SNAPSHOT_BISOGNI = 20
SNAPSHOT_ANNOTATIONS = 40
PAGE_LIMIT = 200



def _bisogno_load() -> tuple:
    """What a bisogno's payload reads, loaded with it (a page is a handful of queries, not hundreds)."""
    return (selectinload(Bisogno.transversal), selectinload(Bisogno.key_points), selectinload(Bisogno.comuni),
            joinedload(Bisogno.author), joinedload(Bisogno.organisation))


def _annotation_load() -> tuple:
    return (joinedload(Annotation.author), joinedload(Annotation.organisation),
            selectinload(Annotation.supports).joinedload(AnnotationSupport.organisation))


def bisogni_page(session: Session, tavolo_id: int, before_id: int | None = None,
                 limit: int = PAGE_LIMIT) -> list[Bisogno]:
    """The tavolo's bisogni, newest first, with ids below ``before_id``."""
    query = select(Bisogno).where(Bisogno.tavolo_id == tavolo_id)
    if before_id is not None:
        query = query.where(Bisogno.id < before_id)
    return list(session.scalars(query.options(*_bisogno_load()).order_by(Bisogno.id.desc()).limit(limit)))


def annotations_page(session: Session, tavolo_id: int, before_id: int | None = None, limit: int = PAGE_LIMIT,
                     bisogno_id: int | None = None) -> list[Annotation]:
    """The annotations of the tavolo's bisogni (or of one of them), newest first, ids below ``before_id``."""
    query = select(Annotation).join(Bisogno, Bisogno.id == Annotation.bisogno_id).where(Bisogno.tavolo_id == tavolo_id)
    if bisogno_id is not None:
        query = query.where(Annotation.bisogno_id == bisogno_id)
    if before_id is not None:
        query = query.where(Annotation.id < before_id)
    return list(session.scalars(query.options(*_annotation_load()).order_by(Annotation.id.desc()).limit(limit)))


def needs_snapshot(session: Session, tavolo: Tavolo) -> dict[str, Any]:
    """The latest bisogni and annotations, the spotlight's bisogno and its latest annotations, and in
    ``paged`` how many there are in all: the client fetches the others with ``page``."""
    bisogni = bisogni_page(session, tavolo.id, limit=SNAPSHOT_BISOGNI)
    annotations = annotations_page(session, tavolo.id, limit=SNAPSHOT_ANNOTATIONS)
    seduta = tavoli_service.live_seduta(session, tavolo.id)
    spotlight = seduta.spotlight_bisogno_id if seduta is not None else None
    if spotlight is not None:
        if all(b.id != spotlight for b in bisogni):
            bisogni += session.scalars(select(Bisogno).where(Bisogno.id == spotlight).options(*_bisogno_load())).all()
        seen = {a.id for a in annotations}
        annotations += [a for a in annotations_page(session, tavolo.id, limit=SNAPSHOT_ANNOTATIONS,
                                                    bisogno_id=spotlight) if a.id not in seen]
    bisogni_total = session.scalar(select(func.count()).select_from(Bisogno).where(Bisogno.tavolo_id == tavolo.id))
    annotations_total = session.scalar(select(func.count()).select_from(Annotation)
                                       .join(Bisogno, Bisogno.id == Annotation.bisogno_id)
                                       .where(Bisogno.tavolo_id == tavolo.id))
    bisogni.sort(key=lambda b: b.id)
    annotations.sort(key=lambda a: (a.bisogno_id, a.id))
    return {
        "bisogni": [bisogno_member(b) for b in bisogni],
        "annotations": [annotation_member(a) for a in annotations],
        "paged": {"bisogni": {"total": bisogni_total or 0, "included": len(bisogni)},
                  "annotations": {"total": annotations_total or 0, "included": len(annotations)}},
    }
