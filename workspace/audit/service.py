"""The audit trail: what enters it (receivers of the named signals), and reading it (administrators).

**What enters.** Every numbered tavolo event (``signals.event_recorded``) and every administrative
action (``signals.action_recorded``: procedure steps, admissions, invitations, logins, exports of
official documents...), queued in the transaction of the change (``chain.record``).

**What never enters.** Anything about a single ballot: an event or action whose name mentions a
ballot is not recorded at all, and details keep no key that could carry a ballot's content or a
round's electorate (``DENIED_KEYS``). Event payloads are not copied: an entry keeps the tavolo, the
sequence number and the payload's *scalar* fields only (ids, numbers, yes/no, and short codes such
as a status or a role), never names, titles or texts; so no name ever sits inside the hashed
content (see ``chain``), and no free text either.

**Reading** is for administrators of the Ufficio di Piano only, checked here (pages and CSV alike).
Exporting the trail is itself recorded.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from workspace import exports
from workspace.accounts.permissions import is_admin
from workspace.audit import chain
from workspace.audit.labels import action_label, object_label
from workspace.audit.models import AuditEntry
from workspace.forms import ROME
from workspace.i18n import gettext as _
from workspace.ids import parse_id
from workspace.problems import Problem, forbidden

PER_PAGE = 50
#: Keys dropped from an action's details, at any depth: ballots, electorates, secrets.
DENIED_KEYS = frozenset({
    "ballot", "ballots", "content", "contents", "choice", "choices", "preferences", "ranking_given",
    "voter", "voters", "voter_key", "electorate", "participants", "breakdown", "tally", "result", "results",
    "password", "token", "token_hash", "secret_key",
})
#: Short code fields of an event payload worth keeping (the rest of its text is left out).
CODE_KEYS = frozenset({
    "status", "role", "previous", "mode", "source", "method", "ballot_unit", "kind", "consolidation",
    "macroarea",
})
MAX_CODE = 40
MAX_TEXT = 300  # a longer string in an action's details is cut: details stay small

# The object an event is about, by the first part of its kind: (object type, payload key of its id).
EVENT_OBJECTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "tavolo": ("tavolo", ("id",)),
    "member": ("tavolo", ("tavolo_id",)),
    "role": ("tavolo", ("tavolo_id",)),
    "seduta": ("seduta", ("id",)),
    "agenda": ("seduta", ("seduta_id",)),
    "timer": ("seduta", ("seduta_id",)),
    "spotlight": ("seduta", ("seduta_id",)),
    "presence": ("seduta", ("seduta_id",)),
    "bisogno": ("bisogno", ("id",)),
    "annotation": ("annotation", ("id",)),
    "vote": ("vote_round", ("id", "round_id")),
}


def about_ballots(name: str) -> bool:
    """An event or action about single ballots: never recorded."""
    return "ballot" in name.lower()


# --------------------------------------------------------------------------- cleaning


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def _strip(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _strip(v) for k, v in value.items() if str(k).lower() not in DENIED_KEYS}
    if isinstance(value, list | tuple | set | frozenset):
        return [_strip(v) for v in value]
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return value[:MAX_TEXT] + "…"
    return value


def clean_details(details: Mapping[str, Any] | None) -> dict[str, Any]:
    """An action's details as plain JSON (what is hashed is exactly what is stored), denied keys out."""
    if not details:
        return {}
    return json.loads(json.dumps(_strip(details), default=_jsonable, allow_nan=False))


def event_details(tavolo_id: int, seq: int, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The tavolo, the sequence number and the payload's scalar fields (ids, numbers, yes/no, codes)."""
    details: dict[str, Any] = {}
    for key, value in payload.items():
        if key.lower() in DENIED_KEYS or value is None:
            continue
        if isinstance(value, bool) or (isinstance(value, int) and abs(value) < 2**53):
            details[key] = value
        elif isinstance(value, str) and key in CODE_KEYS and len(value) <= MAX_CODE:
            details[key] = value
    details.update(tavolo_id=tavolo_id, seq=seq)
    return details


def event_object(kind: str, payload: Mapping[str, Any], tavolo_id: int) -> tuple[str, int]:
    prefix = kind.split(".", 1)[0]
    object_type, keys = EVENT_OBJECTS.get(prefix, (prefix, ("id",)))
    for key in keys:
        value = payload.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return object_type, value
    return "tavolo", tavolo_id


# --------------------------------------------------------------------------- receivers


def on_event(session: Session, *, event: Any, **_: Any) -> None:
    """``signals.event_recorded``: a numbered tavolo event, in its transaction."""
    if about_ballots(event.kind):
        return
    payload = event.payload if isinstance(event.payload, Mapping) else {}
    object_type, object_id = event_object(event.kind, payload, event.tavolo_id)
    chain.record(session, action=event.kind[:64], actor_id=event.actor_id, object_type=object_type,
                 object_id=object_id, details=event_details(event.tavolo_id, event.seq, payload), at=event.at)


def on_action(session: Session, *, action: str, actor: Any = None, object_type: str | None = None,
              object_id: Any = None, details: Mapping[str, Any] | None = None, outlives_rollback: bool = False,
              **_: Any) -> None:
    """``signals.action_recorded``: an administrative action, in its transaction (``outlives_rollback``:
    also when that transaction is rolled back, e.g. a failed login)."""
    if not isinstance(session, Session):
        raise TypeError("signals.action_recorded: il mittente deve essere la sessione del database")
    if about_ballots(action):
        return
    # By id, whatever the account's state (Flask-Login's anonymous user has none).
    actor_id = getattr(actor, "id", None)
    if not isinstance(actor_id, int) or isinstance(actor_id, bool):
        actor_id = None
    extra: dict[str, Any] = {}
    if object_id is not None and (isinstance(object_id, bool) or not isinstance(object_id, int)):
        extra["object_ref"] = str(object_id)[:MAX_CODE]  # not an id of ours: keep it, as text
        object_id = None
    chain.record(session, action=str(action)[:64], actor_id=actor_id,
                 object_type=str(object_type)[:48] if object_type else None, object_id=object_id,
                 details=clean_details({**(details or {}), **extra}), durable=outlives_rollback)


# --------------------------------------------------------------------------- reading


def require_reader(actor: Any) -> None:
    if not is_admin(actor):
        raise forbidden(_("Il registro di audit è riservato agli amministratori dell'Ufficio di Piano."))


@dataclass(frozen=True)
class Filters:
    date_from: date | None = None
    date_to: date | None = None
    actor: str | None = None  # a person's id, or part of the label
    action: str | None = None
    object_type: str | None = None
    object_id: int | None = None

    def check(self) -> None:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise Problem("invalid", _("La data iniziale è successiva a quella finale."), 422, field="date_to")

    def query_args(self) -> dict[str, str]:
        """The filters as query-string arguments (pagination and export links keep them)."""
        pairs = {"dal": self.date_from, "al": self.date_to, "chi": self.actor, "azione": self.action,
                 "oggetto": self.object_type, "numero": self.object_id}
        return {k: v.isoformat() if isinstance(v, date) else str(v) for k, v in pairs.items() if v not in (None, "")}

    def recorded(self) -> dict[str, Any]:
        """The filters as the export's entry keeps them: no free text (it could be a name)."""
        out: dict[str, Any] = {k: v for k, v in self.query_args().items() if k != "chi"}
        if self.actor:
            out["chi"] = self.actor if parse_id(self.actor) is not None else "(testo)"
        return out


def _day_start(day: date) -> datetime:
    """Midnight in Italy, in UTC: the filters speak of Italian calendar days."""
    return datetime.combine(day, time.min, ROME).astimezone(UTC)


def _like(text: str) -> str:
    return "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _filtered(query: Select, filters: Filters) -> Select:
    c = AuditEntry
    if filters.date_from:
        query = query.where(c.at >= _day_start(filters.date_from))
    if filters.date_to:
        query = query.where(c.at < _day_start(filters.date_to + timedelta(days=1)))
    if filters.actor:
        actor = filters.actor.strip().lstrip("#")
        if parse_id(actor) is not None:
            query = query.where(c.actor_id == parse_id(actor))
        else:
            query = query.where(func.lower(c.actor_label).like(_like(filters.actor.strip()), escape="\\"))
    if filters.action:
        query = query.where(c.action == filters.action)
    if filters.object_type:
        query = query.where(c.object_type == filters.object_type)
    if filters.object_id is not None:
        query = query.where(c.object_id == filters.object_id)
    return query


@dataclass
class Page:
    entries: list[AuditEntry]
    total: int
    number: int
    pages: int
    per_page: int

    @property
    def first_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.total else 0

    @property
    def last_index(self) -> int:
        return self.first_index + len(self.entries) - 1 if self.entries else 0


def search(session: Session, actor: Any, filters: Filters, page: int = 1, per_page: int = PER_PAGE) -> Page:
    """One page of entries matching ``filters``, newest first (a page past the end shows the last)."""
    require_reader(actor)
    filters.check()
    total = session.scalar(_filtered(select(func.count(AuditEntry.id)), filters)) or 0
    pages = max(1, math.ceil(total / per_page))
    number = min(max(1, page), pages)
    entries = list(session.scalars(_filtered(select(AuditEntry), filters).order_by(AuditEntry.id.desc())
                                   .offset((number - 1) * per_page).limit(per_page)))
    return Page(entries, total, number, pages, per_page)


def choices(session: Session, actor: Any) -> tuple[list[str], list[str]]:
    """The actions and the object types present in the trail (the filters' options)."""
    require_reader(actor)
    actions = list(session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))
    types = [t for t in session.scalars(select(AuditEntry.object_type).where(AuditEntry.object_type.is_not(None))
                                        .distinct().order_by(AuditEntry.object_type)) if t]
    return actions, types


def details_text(details: Mapping[str, Any] | None) -> str:
    return json.dumps(details or {}, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))


def columns() -> list[exports.Column]:
    return [
        exports.Column("id", _("N.")), exports.Column("at", _("Data e ora (UTC)")),
        exports.Column("actor_id", _("Id persona")), exports.Column("actor", _("Chi")),
        exports.Column("action", _("Azione")), exports.Column("action_label", _("Descrizione")),
        exports.Column("object_type", _("Oggetto")), exports.Column("object_id", _("Id oggetto")),
        exports.Column("details", _("Dettagli")), exports.Column("prev_hash", _("Impronta precedente (SHA-256)")),
        exports.Column("hash", _("Impronta (SHA-256)")),
    ]


def export_csv(session: Session, actor: Any, filters: Filters) -> bytes:
    """The entries matching ``filters`` (oldest first) as CSV for Italian spreadsheets, via
    ``workspace.exports`` (UTF-8 with BOM, ``;``, formulas neutralised). The export is recorded."""
    require_reader(actor)
    filters.check()
    rows = [{
        "id": e.id, "at": chain.utc_text(e.at), "actor_id": e.actor_id, "actor": e.actor_label,
        "action": e.action, "action_label": action_label(e.action), "object_type": e.object_type,
        "object_id": e.object_id, "details": details_text(e.details), "prev_hash": e.prev_hash, "hash": e.hash,
    } for e in session.scalars(_filtered(select(AuditEntry), filters).order_by(AuditEntry.id))]
    data = exports.render_table(exports.Sheet(_("Registro di audit"), columns(), rows), "csv")
    on_action(session, action="audit.exported", actor=actor, object_type="audit",
              details={"format": "csv", "rows": len(rows), "filters": filters.recorded()})
    return data


def object_text(entry: AuditEntry) -> str:
    if not entry.object_type:
        return "—"
    label = object_label(entry.object_type)
    return f"{label} n. {entry.object_id}" if entry.object_id is not None else label
