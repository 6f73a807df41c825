"""Privacy rules: the notice's acknowledgement, the personal-data export, account deletion.

**Acknowledgement.** The processing rests on a task in the public interest (art. 6.1.e GDPR: the
co-programming procedure of art. 55 CTS), not on consent: what is recorded is that the person has
*read* a given version of the information notice, and when (``User.privacy_version`` and
``User.privacy_accepted_at``). A new version is shown again at the next login.

**Export** (art. 15, and 20 in spirit): everything stored about the person, as JSON, and nothing
about anybody else: other people's names in the records they took part in are left out, and no
password or token hash is ever exported.

**Deletion** (art. 17 within the limits of art. 17.3.b): what the person did *for an organisation*
is the administrative record of the procedure and stays — their bisogni, annotations, supports and
presences keep ``author_id``/``user_id`` and their ``organisation_id`` — but the person behind it
is pseudonymised:

- the account: name -> ``Persona eliminata #<id>``, e-mail -> a unique address under the reserved
  ``.invalid`` domain (RFC 2606, never deliverable), no password, a new ``login_id`` (every open
  session and remember-me cookie dies), inactive, not admin, no last-login time;
- access: memberships and tavolo roles are removed (the organisational link lives on in each
  contribution's ``organisation_id``), pending and used single-use links are deleted;
- copies of the name and address: in the tavolo's event record (``author`` of their bisogni and
  annotations, ``name`` next to their ``user_id`` in presence snapshots, and any text), in the
  bisogno version history, and in the free text of bisogni and annotations. Free text is rewritten
  only for a full name (at least two words) or the e-mail address, never for a single word.

Other modules whose records copy a person's name register a function with
:func:`register_pseudonymiser` (and :func:`register_exporter` for the export), so this module needs
to know nobody.
"""
from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from workspace.accounts.models import AccessToken, User, new_login_id
from workspace.db import utcnow
from workspace.needs.models import Annotation, AnnotationSupport, Bisogno, BisognoVersion
from workspace.procedures.models import Procedure
from workspace.record import TavoloEvent
from workspace.tavoli.models import Presence, Seduta, Tavolo, TavoloRole

EXPORT_FORMAT = "tavoli-dati-personali/1"
PSEUDONYM_DOMAIN = "eliminata.invalid"  # RFC 2606: .invalid never resolves, mail cannot go out
_BATCH = 500


class PrivacyError(Exception):
    """A refused operation: Italian ``message``, HTTP ``status``, the form ``field`` at fault."""

    def __init__(self, message: str, status: int = 422, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field


# --------------------------------------------------------------------------- the notice


def notice_pending(user: User, version: str) -> bool:
    """True when ``user`` has not yet read this version of the information notice."""
    return getattr(user, "privacy_version", None) != version


def accept_notice(session: Session, user: User, version: str, *, now: datetime | None = None) -> None:
    """Record that ``user`` has read ``version`` of the notice (the latest reading wins)."""
    user.privacy_version = version
    user.privacy_accepted_at = now or utcnow()
    session.flush()


# --------------------------------------------------------------------------- export

Exporter = Callable[[Session, User], Any]
_exporters: dict[str, Exporter] = {}


def register_exporter(key: str, fn: Exporter) -> None:
    """Add ``key`` to every export, computed by ``fn(session, user)`` (JSON-serialisable, and only
    about that person)."""
    _exporters[key] = fn


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _org(org) -> dict[str, Any] | None:
    return {"id": org.id, "name": org.name, "kind": org.kind} if org is not None else None


def export_personal_data(session: Session, user: User, *, notice_version: str | None = None,
                         now: datetime | None = None) -> dict[str, Any]:
    """Everything stored about ``user`` (see the module docstring); no hashes, no one else."""
    uid = user.id
    tavoli = {t.id: t.title for t in session.scalars(select(Tavolo))}

    bisogni = list(session.scalars(select(Bisogno).where(Bisogno.author_id == uid).order_by(Bisogno.id)))
    annotations = list(session.scalars(select(Annotation).where(Annotation.author_id == uid)
                                       .order_by(Annotation.id)))
    versions = list(session.scalars(select(BisognoVersion).where(BisognoVersion.author_id == uid)
                                    .order_by(BisognoVersion.id)))
    supports = list(session.scalars(select(AnnotationSupport).where(AnnotationSupport.user_id == uid)
                                    .order_by(AnnotationSupport.id)))
    roles = list(session.scalars(select(TavoloRole).where(TavoloRole.user_id == uid).order_by(TavoloRole.id)))
    presences = list(session.scalars(select(Presence).where(Presence.user_id == uid).order_by(Presence.id)))
    tokens = list(session.scalars(
        select(AccessToken)
        .where(or_(AccessToken.user_id == uid, func.lower(AccessToken.email) == user.email.lower()))
        .order_by(AccessToken.id)))
    events = list(session.scalars(select(TavoloEvent).where(TavoloEvent.actor_id == uid)
                                  .order_by(TavoloEvent.tavolo_id, TavoloEvent.seq)))
    procedures = list(session.scalars(select(Procedure).where(Procedure.rup_id == uid).order_by(Procedure.id)))

    data: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "generated_at": _iso(now or utcnow()),
        "account": {
            "id": uid,
            "name": user.name,
            "email": user.email,
            "is_admin": user.is_admin,
            "active": user.active,
            "has_password": user.password_hash is not None,
            "created_at": _iso(user.created_at),
            "last_login_at": _iso(user.last_login_at),
            "pseudonymised_at": _iso(user.pseudonymised_at),
        },
        "privacy_notice": {
            "version_read": user.privacy_version,
            "read_at": _iso(user.privacy_accepted_at),
            "current_version": notice_version,
        },
        "memberships": [
            {"organisation": _org(m.organisation), "role": m.role, "since": _iso(m.created_at)}
            for m in sorted(user.memberships, key=lambda m: m.id)
        ],
        "tavolo_roles": [
            {"tavolo_id": r.tavolo_id, "tavolo": tavoli.get(r.tavolo_id), "role": r.role,
             "organisation": _org(r.organisation), "digest": r.digest,
             "last_visit_at": _iso(r.last_visit_at), "last_digest_at": _iso(r.last_digest_at)}
            for r in roles
        ],
        "presences": [_presence(p, tavoli) for p in presences],
        "bisogni": [_bisogno(b) for b in bisogni],
        "bisogno_changes": [
            {"bisogno_id": v.bisogno_id, "version": v.version, "change": v.change, "at": _iso(v.at)}
            for v in versions
        ],
        "annotations": [_annotation(a) for a in annotations],
        "supports": [
            {"annotation_id": s.annotation_id, "organisation": _org(s.organisation), "at": _iso(s.at)}
            for s in supports
        ],
        # What the person did at each tavolo, without the payloads: those may name other people.
        "events": [
            {"tavolo_id": e.tavolo_id, "tavolo": tavoli.get(e.tavolo_id), "seq": e.seq, "kind": e.kind,
             "object_id": e.payload.get("id") if isinstance(e.payload, dict) else None, "at": _iso(e.at)}
            for e in events
        ],
        "access_tokens": [
            {"kind": t.kind, "email": t.email, "name": t.name, "organisation": _org(t.organisation),
             "grants_admin": t.grants_admin, "created_at": _iso(t.created_at),
             "expires_at": _iso(t.expires_at), "used_at": _iso(t.used_at)}
            for t in tokens
        ],
        "procedures_as_rup": [{"id": p.id, "title": p.title, "ambito_code": p.ambito_code} for p in procedures],
    }
    for key, fn in _exporters.items():
        data[key] = fn(session, user)
    return data


def _presence(p: Presence, tavoli: dict[int, str]) -> dict[str, Any]:
    seduta: Seduta = p.seduta
    return {
        "tavolo_id": seduta.tavolo_id, "tavolo": tavoli.get(seduta.tavolo_id),
        "seduta_id": seduta.id, "seduta_number": seduta.number, "seduta_starts_at": _iso(seduta.starts_at),
        "organisation": _org(p.organisation), "role": p.role, "mode": p.mode,
        # "manual": marked by the facilitator (who is not named here).
        "source": p.source, "joined_at": _iso(p.joined_at), "left_at": _iso(p.left_at),
    }


def _bisogno(b: Bisogno) -> dict[str, Any]:
    return {
        "id": b.id, "tavolo_id": b.tavolo_id, "seduta_id": b.seduta_id, "macroarea": b.macroarea_code,
        "title": b.title, "description": b.description, "target_population": b.target_population,
        "whole_ambito": b.whole_ambito, "evidence_source": b.evidence_source,
        "evidence_figure": b.evidence_figure, "evidence_year": b.evidence_year,
        "consolidation": b.consolidation, "status": b.status, "organisation": _org(b.organisation),
        "version": b.version, "created_at": _iso(b.created_at), "updated_at": _iso(b.updated_at),
    }


def _annotation(a: Annotation) -> dict[str, Any]:
    return {
        "id": a.id, "bisogno_id": a.bisogno_id, "parent_id": a.parent_id, "kind": a.kind, "body": a.body,
        "organisation": _org(a.organisation), "created_at": _iso(a.created_at),
        "deleted_at": _iso(a.deleted_at), "moderated": a.moderated,
        "deletion_reason": a.deletion_reason if a.moderated else None,
    }


# --------------------------------------------------------------------------- pseudonymisation


def pseudonym(user_id: int) -> str:
    return f"Persona eliminata #{user_id}"


def placeholder_email(user_id: int) -> str:
    return f"persona-eliminata-{user_id}@{PSEUDONYM_DOMAIN}"


class Scrubber:
    """Replaces one person's name and e-mail address in texts and JSON documents.

    A string equal to the name is always replaced. Inside longer texts the name is replaced only when
    it is specific enough (two words or more, five characters or more): "Anna" must not turn every
    "Anna" of a report into a pseudonym. The e-mail address is replaced everywhere, in any case.
    """

    def __init__(self, user_id: int, name: str, email: str, replacement: str, replacement_email: str):
        self.user_id = user_id
        self.name = name
        self.replacement = replacement
        pieces: list[tuple[str, str, bool]] = []  # (text, replacement, case-insensitive)
        if len(name.strip()) >= 5 and len(name.split()) >= 2:
            for variant in {name, html.escape(name), html.escape(name, quote=False)}:
                pieces.append((variant, replacement, False))
        if email:
            pieces.append((email, replacement_email, True))
        self._map = {}
        alternatives = []
        for text, repl, fold in sorted(pieces, key=lambda p: -len(p[0])):
            key = text.lower() if fold else text
            if key in self._map:
                continue
            self._map[key] = repl
            alternatives.append(f"(?i:{re.escape(text)})" if fold else re.escape(text))
        self._pattern = re.compile("|".join(alternatives)) if alternatives else None

    @property
    def rewrites_text(self) -> bool:
        return self._pattern is not None

    def text(self, value: str) -> str:
        if value == self.name:
            return self.replacement
        if self._pattern is None or not value:
            return value
        return self._pattern.sub(lambda m: self._map.get(m.group(0), self._map.get(m.group(0).lower(), "")),
                                 value)

    def json(self, value: Any) -> Any:
        """A scrubbed copy: strings rewritten, and ``name`` next to this person's ``user_id``."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.json(v) for v in value]
        if isinstance(value, dict):
            out = {k: self.json(v) for k, v in value.items()}
            if out.get("user_id") == self.user_id and isinstance(out.get("name"), str):
                out["name"] = self.replacement
            return out
        return value


Pseudonymiser = Callable[[Session, User, Scrubber], int]
_pseudonymisers: list[Pseudonymiser] = []


def register_pseudonymiser(fn: Pseudonymiser) -> None:
    """``fn(session, user, scrubber)`` rewrites the copies of a person's name that a module keeps
    (returns how many rows changed). Called before the account itself is pseudonymised, so
    ``user.name``/``user.email`` are still the real ones; ``scrubber`` knows both replacements."""
    if fn not in _pseudonymisers:
        _pseudonymisers.append(fn)


@dataclass
class Pseudonymisation:
    user_id: int
    name: str
    events: int = 0
    versions: int = 0
    texts: int = 0
    memberships: int = 0
    roles: int = 0
    tokens: int = 0
    other: int = 0
    mail_files: int = 0
    details: dict[str, int] = field(default_factory=dict)


def _batched(session: Session, model, *where):
    """Rows of ``model`` in primary-key order, a batch at a time (safe to modify while iterating)."""
    last = 0
    while True:
        rows = list(session.scalars(select(model).where(model.id > last, *where).order_by(model.id).limit(_BATCH)))
        if not rows:
            return
        yield from rows
        last = rows[-1].id


def _scrub_events(session: Session, scrubber: Scrubber, bisogni: set[int], annotations: set[int]) -> int:
    changed = 0
    for ev in _batched(session, TavoloEvent):
        payload = ev.payload
        if not isinstance(payload, dict):
            continue
        new = scrubber.json(payload)
        object_id = new.get("id")
        if "author" in new and (
            (ev.kind.startswith("bisogno.") and object_id in bisogni)
            or (ev.kind.startswith("annotation.") and object_id in annotations)
        ):
            new["author"] = scrubber.replacement
        if new != payload:
            ev.payload = new  # a new object: SQLAlchemy does not see in-place changes to JSON
            changed += 1
    return changed


def _scrub_versions(session: Session, scrubber: Scrubber) -> int:
    changed = 0
    for version in _batched(session, BisognoVersion):
        new = scrubber.json(version.data)
        if new != version.data:
            version.data = new
            changed += 1
    return changed


_BISOGNO_TEXTS = ("title", "description", "target_population", "evidence_source", "evidence_figure")
_ANNOTATION_TEXTS = ("body", "deletion_reason")


def _scrub_free_text(session: Session, scrubber: Scrubber) -> int:
    if not scrubber.rewrites_text:
        return 0
    changed = 0
    for model, columns in ((Bisogno, _BISOGNO_TEXTS), (Annotation, _ANNOTATION_TEXTS)):
        for row in _batched(session, model):
            touched = False
            for column in columns:
                value = getattr(row, column)
                if isinstance(value, str):
                    new = scrubber.text(value)
                    if new != value:
                        setattr(row, column, new)
                        touched = True
            changed += touched
    return changed


def pseudonymise_user(session: Session, user: User, *, now: datetime | None = None) -> Pseudonymisation:
    """Pseudonymise ``user`` as described in the module docstring. No checks: see ``delete_account``."""
    now = now or utcnow()
    uid = user.id
    report = Pseudonymisation(user_id=uid, name=pseudonym(uid))
    scrubber = Scrubber(uid, user.name, user.email, pseudonym(uid), placeholder_email(uid))
    session.flush()

    bisogni = set(session.scalars(select(Bisogno.id).where(Bisogno.author_id == uid)))
    annotations = set(session.scalars(select(Annotation.id).where(Annotation.author_id == uid)))
    report.events = _scrub_events(session, scrubber, bisogni, annotations)
    report.versions = _scrub_versions(session, scrubber)
    report.texts = _scrub_free_text(session, scrubber)
    for fn in _pseudonymisers:
        count = int(fn(session, user, scrubber) or 0)
        report.other += count
        report.details[getattr(fn, "__qualname__", repr(fn))] = count

    for membership in list(user.memberships):
        session.delete(membership)
        report.memberships += 1
    report.roles = session.execute(delete(TavoloRole).where(TavoloRole.user_id == uid)).rowcount or 0
    report.tokens = session.execute(
        delete(AccessToken).where(or_(AccessToken.user_id == uid,
                                      func.lower(AccessToken.email) == user.email.lower()))
    ).rowcount or 0

    user.name = pseudonym(uid)
    user.email = placeholder_email(uid)
    user.password_hash = None
    user.login_id = new_login_id()
    user.active = False
    user.is_admin = False
    user.last_login_at = None
    user.pseudonymised_at = now
    session.flush()
    session.expire_all()  # relationships loaded before the bulk deletes must be read again
    return report


def check_deletion(session: Session, user: User, confirmation: str | None) -> None:
    """Refuse unless ``confirmation`` is the account's e-mail address and someone can still administer."""
    typed = (confirmation or "").strip().lower()
    if not typed:
        raise PrivacyError(_("Per confermare scrivi l'indirizzo e-mail del tuo account."), 422, "email")
    if typed != user.email.lower():
        raise PrivacyError(
            _("L'indirizzo scritto non è quello del tuo account: l'account non è stato eliminato."), 422, "email"
        )
    if user.pseudonymised_at is not None:
        raise PrivacyError(_("Questo account è già stato eliminato."), 409)
    if user.is_admin:
        others = session.scalar(select(func.count()).select_from(User).where(
            User.is_admin.is_(True), User.active.is_(True), User.id != user.id)) or 0
        if not others:
            raise PrivacyError(
                _("Sei l'unica amministratrice o l'unico amministratore attivo: prima di eliminare l'account "
                  "invita un'altra persona come amministratrice (comando «tavoli admin invite»)."),
                409,
            )


def delete_account(session: Session, user: User, confirmation: str | None, *,
                   now: datetime | None = None) -> Pseudonymisation:
    """The person's own request: checks (:func:`check_deletion`), then :func:`pseudonymise_user`."""
    check_deletion(session, user, confirmation)
    return pseudonymise_user(session, user, now=now)


def forget_mail(mail_dir: str | Path, email: str) -> int:
    """Delete the messages written to ``MAIL_DIR`` for ``email`` (mail-to-file mode); returns how many."""
    directory = Path(mail_dir)
    if not directory.is_dir():
        return 0
    target = email.strip().lower()
    removed = 0
    for path in directory.glob("*.eml"):
        try:
            message = message_from_bytes(path.read_bytes(), policy=default_policy)
            recipients = str(message.get("To", "")).lower()
        except (OSError, ValueError):
            continue
        if target and target in recipients:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
