"""Privacy rules: the notice's acknowledgement, the personal-data export, account deletion.

**Acknowledgement.** The processing rests on a task in the public interest (art. 6.1.e GDPR: the
co-programming procedure of art. 55 CTS), not on consent: what is recorded is that the person has
*read* a given version of the information notice, and when (``User.privacy_version`` and
``User.privacy_accepted_at``). A new version is shown again at the next login.

**Export** (art. 15, and 20 in spirit): everything stored about the person, as JSON, and nothing
about anybody else: other people's names in the records they took part in are left out, and no
password or token hash is ever exported. This module exports the account, its memberships and
single-use links; every other area adds its part as a receiver of
``workspace.signals.personal_data_requested`` (tavoli, needs, voting, procedures: their
``privacy.py``).

**Deletion** (art. 17 within the limits of art. 17.3.b): what the person did *for an organisation*
is the administrative record of the procedure and stays — their bisogni, annotations, supports,
presences, ballots and applications keep their ids and their ``organisation_id`` — but the person
behind it is pseudonymised:

- the account: name -> ``Persona eliminata #<id>``, e-mail -> a unique address under the reserved
  ``.invalid`` domain (RFC 2606, never deliverable), no password, a new ``login_id`` (every open
  session and remember-me cookie dies), inactive, not admin, no last-login time;
- access: memberships are removed here, tavolo roles by the tavoli area (the organisational link
  lives on in each contribution's ``organisation_id``), pending and used single-use links are
  deleted;
- copies of the name and address: in the tavolo's event record (here: ``name`` next to their
  ``user_id`` in presence snapshots, and any text), and wherever an area keeps one, rewritten by
  that area as a receiver of ``workspace.signals.person_pseudonymised`` with the
  :class:`Scrubber` it is given (the bisogno version history and the ``author`` of the person's
  bisogni and annotations, free texts, applications...). Free text is rewritten only for a full
  name (at least two words) or the e-mail address, never for a single word.

So this module knows no area above accounts: the others come to it through the signals.
"""
from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from workspace import closure, signals
from workspace.accounts.models import AccessToken, LoginSession, User, new_login_id
from workspace.accounts.payloads import organisation_ref
from workspace.db import utcnow
from workspace.i18n import gettext as _
from workspace.problems import Problem, conflict, invalid
from workspace.record import TavoloEvent

EXPORT_FORMAT = "tavoli-dati-personali/1"
PSEUDONYM_DOMAIN = "eliminata.invalid"  # RFC 2606: .invalid never resolves, mail cannot go out
_BATCH = 500

Row = TypeVar("Row")


# --------------------------------------------------------------------------- the notice


def accept_notice(session: Session, user: User, version: str, *, now: datetime | None = None) -> None:
    """Record that ``user`` has read ``version`` of the notice (the latest reading wins)."""
    user.privacy_version = version
    user.privacy_accepted_at = now or utcnow()
    session.flush()


# --------------------------------------------------------------------------- export


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _tokens_of(user: User) -> ColumnElement[bool]:
    return or_(AccessToken.user_id == user.id, func.lower(AccessToken.email) == user.email.lower())


def export_personal_data(session: Session, user: User, *, notice_version: str | None = None,
                         now: datetime | None = None) -> dict[str, Any]:
    """Everything stored about ``user`` (see the module docstring); no hashes, no one else."""
    tokens = session.scalars(select(AccessToken).where(_tokens_of(user)).order_by(AccessToken.id))
    data: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "generated_at": _iso(now or utcnow()),
        "account": {
            "id": user.id,
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
            {"organisation": organisation_ref(m.organisation), "role": m.role, "since": _iso(m.created_at)}
            for m in sorted(user.memberships, key=lambda m: m.id)
        ],
        "access_tokens": [
            {"kind": t.kind, "email": t.email, "name": t.name, "organisation": organisation_ref(t.organisation),
             "grants_admin": t.grants_admin, "created_at": _iso(t.created_at),
             "expires_at": _iso(t.expires_at), "used_at": _iso(t.used_at)}
            for t in tokens
        ],
        # Each login (browser, device) and when it ended; never its key.
        "logins": [
            {"created_at": _iso(lg.created_at), "ended_at": _iso(lg.ended_at), "remember": lg.remember}
            for lg in session.scalars(select(LoginSession).where(LoginSession.user_id == user.id)
                                      .order_by(LoginSession.id))
        ],
    }
    # Each area's part: tavolo roles, presences and events, bisogni, votes, applications...
    data.update(signals.collect(signals.personal_data_requested, session, user=user))
    return data


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
        self._map: dict[str, str] = {}
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

    def rewrite_columns(self, rows: Iterable[Any], columns: Sequence[str]) -> int:
        """Rewrite the text ``columns`` of each row in place; returns how many rows changed."""
        changed = 0
        for row in rows:
            touched = False
            for column in columns:
                value = getattr(row, column)
                if isinstance(value, str):
                    new = self.text(value)
                    if new != value:
                        setattr(row, column, new)
                        touched = True
            changed += touched
        return changed

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


def batched(session: Session, model: type[Row], *where: Any) -> Iterator[Row]:
    """Rows of ``model`` in primary-key order, a batch at a time (safe to modify while iterating)."""
    key = model.id  # type: ignore[attr-defined]
    last = None
    while True:
        query = select(model).where(*where)
        if last is not None:
            query = query.where(key > last)
        rows = list(session.scalars(query.order_by(key).limit(_BATCH)))
        if not rows:
            return
        yield from rows
        last = rows[-1].id  # type: ignore[attr-defined]


@dataclass
class Pseudonymisation:
    user_id: int
    name: str
    events: int = 0
    memberships: int = 0
    tokens: int = 0
    #: Rows the other areas rewrote (or removed), in total and by area (receiver module).
    other: int = 0
    details: dict[str, int] = field(default_factory=dict)


def _scrub_events(session: Session, scrubber: Scrubber) -> int:
    changed = 0
    for ev in batched(session, TavoloEvent):
        payload = ev.payload
        if not isinstance(payload, dict):
            continue
        new = scrubber.json(payload)
        if new != payload:
            ev.payload = new  # a new object: SQLAlchemy does not see in-place changes to JSON
            changed += 1
    return changed


def pseudonymise_user(session: Session, user: User, *, now: datetime | None = None) -> Pseudonymisation:
    """Pseudonymise ``user`` as described in the module docstring. No checks: see ``delete_account``.
    A legal duty: it passes the guard of concluded procedures (``workspace.closure``)."""
    with closure.exempt(session):
        return _pseudonymise_user(session, user, now=now)


def _pseudonymise_user(session: Session, user: User, *, now: datetime | None = None) -> Pseudonymisation:
    now = now or utcnow()
    uid = user.id
    report = Pseudonymisation(user_id=uid, name=pseudonym(uid))
    scrubber = Scrubber(uid, user.name, user.email, pseudonym(uid), placeholder_email(uid))
    session.flush()

    report.events = _scrub_events(session, scrubber)
    # Every area rewrites its own copies while ``user`` still has the real name and address.
    for receiver, count in signals.person_pseudonymised.send(session, user=user, scrubber=scrubber):
        area = getattr(receiver, "__module__", None) or repr(receiver)
        report.details[area] = report.details.get(area, 0) + int(count or 0)
        report.other += int(count or 0)

    for membership in list(user.memberships):
        session.delete(membership)
        report.memberships += 1
    deleted = cast("CursorResult[Any]", session.execute(delete(AccessToken).where(_tokens_of(user))))
    report.tokens = deleted.rowcount or 0
    session.execute(delete(LoginSession).where(LoginSession.user_id == uid))  # every login ends

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
        raise invalid(_("Per confermare scrivi l'indirizzo e-mail del tuo account."), "email")
    if typed != user.email.lower():
        raise invalid(
            _("L'indirizzo scritto non è quello del tuo account: l'account non è stato eliminato."), "email"
        )
    if user.pseudonymised_at is not None:
        raise conflict(_("Questo account è già stato eliminato."))
    if user.is_admin:
        others = session.scalar(select(func.count()).select_from(User).where(
            User.is_admin.is_(True), User.active.is_(True), User.id != user.id)) or 0
        if not others:
            raise Problem(
                "last_admin",
                _("Sei l'unica amministratrice o l'unico amministratore attivo: prima di eliminare l'account "
                  "invita un'altra persona come amministratrice (comando «tavoli admin invite»)."),
                409,
            )


def delete_account(session: Session, user: User, confirmation: str | None, *,
                   now: datetime | None = None) -> Pseudonymisation:
    """The person's own request: checks (:func:`check_deletion`), then :func:`pseudonymise_user`."""
    check_deletion(session, user, confirmation)
    report = pseudonymise_user(session, user, now=now)
    # For the audit trail: by id only (the old name is gone, and must not come back from there).
    signals.action_recorded.send(session, actor=user, action="account.deleted", object_type="user",
                                 object_id=user.id, details={"rows_rewritten": report.events + report.other})
    return report


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
