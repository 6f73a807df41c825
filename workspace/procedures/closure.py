"""Nothing in a concluded procedure changes: the one guard every write passes.

A procedure becomes "conclusa" when its documento di sintesi is approved
(``lifecycle.conclude``). From then on its tavoli, sedute, bisogni, annotations, votes, verbali,
priorities, cards, applications and the procedure itself are the closed record of an
administrative act. Every area writes through SQLAlchemy, so the guard sits where every write
passes whatever service, view, API, live handler or command issued it: the session's
``before_flush``. For each object about to be inserted, changed or deleted it finds the procedure
that owns it by following the foreign keys of its table towards ``procedure`` (directly, through
its tavolo, its seduta, its bisogno, its vote round…), and refuses the whole flush with a 409 and
an Italian message if that procedure is concluded. Nothing is half-written: the view's transaction
rolls back.

Over HTTP the same refusal comes first, before any view runs: ``refuse_concluded_request`` (a
``before_request`` hook) answers 409 to every write request (POST, PUT, PATCH, DELETE) whose route
names a concluded procedure (``procedure_id``) or one of its tavoli (``tavolo_id``), so that even a
request that would change nothing, or fail a form check, says why. The services of the documento di
sintesi and the procedures' administration forms call ``require_open`` themselves too. The flush
guard is what makes it impossible to forget one (live handlers, commands, a future route).

Not refused: objects that belong to no procedure (accounts, organisations, the audit trail, the
reference data), columns a model declares as bookkeeping and the legal duties run under
``workspace.closure.exempt`` (see that module). The stored status is what counts: the flush that
concludes a procedure may still write its last rows (the transition, the frozen document).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Mapper, Session
from sqlalchemy.orm.base import NO_VALUE as _NO_VALUE
from sqlalchemy.orm.util import identity_key

from workspace import closure
from workspace.db import Base
from workspace.i18n import gettext as _
from workspace.problems import Problem
from workspace.procedures.models import FINAL_STATUS, Procedure

_TARGET = "procedure"
# (column attribute key, many-to-one relationship key or None, target mapper), nearest first.
_Link = tuple[str, str | None, Mapper]
_links_cache: dict[Mapper, list[_Link]] = {}
_distance_cache: dict[str, int | None] = {}


def concluded_refusal() -> Problem:
    return Problem("procedure_concluded", _("La procedura è conclusa: il documento di sintesi è approvato e nulla "
                                            "di ciò che contiene si può più modificare."), 409)


def is_concluded(procedure: Procedure) -> bool:
    return stored_status(procedure) == FINAL_STATUS


def require_open(procedure: Procedure) -> None:
    """Refuse early (same message as the flush guard) any change to a concluded procedure."""
    if is_concluded(procedure):
        raise concluded_refusal()


def stored_status(procedure: Procedure) -> str | None:
    """The status as stored, before any change not yet flushed."""
    state = inspect(procedure)
    if "status" in state.unloaded and state.session is not None:  # expired (after a commit or a rollback)
        state.session.refresh(procedure, ["status"])
    history = state.attrs.status.history
    return (history.deleted or history.unchanged or history.added or [None])[0]


# --------------------------------------------------------------------------- who owns a row


def _table_name(mapper: Mapper) -> str:
    return str(getattr(mapper.local_table, "name", ""))


def _mappers_by_table() -> dict[str, Mapper]:
    return {_table_name(m): m for m in Base.registry.mappers if m.local_table is not None}


def _distance(table: str, seen: frozenset[str] = frozenset()) -> int | None:
    """How many foreign keys from ``table`` to ``procedure`` (None: it belongs to no procedure)."""
    if table == _TARGET:
        return 0
    if table in _distance_cache and not seen:
        return _distance_cache[table]
    mapper = _mappers_by_table().get(table)
    best: int | None = None
    if mapper is not None:
        for fk in mapper.local_table.foreign_keys:
            target = fk.column.table.name
            if target in seen or target == table:
                continue
            d = _distance(target, seen | {table})
            if d is not None and (best is None or d + 1 < best):
                best = d + 1
    if not seen:
        _distance_cache[table] = best
    return best


def _links(mapper: Mapper) -> list[_Link]:
    if mapper in _links_cache:
        return _links_cache[mapper]
    by_table = _mappers_by_table()
    found: list[tuple[int, _Link]] = []
    for fk in mapper.local_table.foreign_keys:
        target_table = fk.column.table.name
        if target_table == _table_name(mapper):
            continue
        d = _distance(target_table)
        target = by_table.get(target_table)
        if d is None or target is None:
            continue
        column_key = mapper.get_property_by_column(fk.parent).key
        relation = next((r.key for r in mapper.relationships
                         if r.direction.name == "MANYTOONE" and fk.parent in r.local_columns), None)
        found.append((d, (column_key, relation, target)))
    links = [link for _d, link in sorted(found, key=lambda item: item[0])]
    _links_cache[mapper] = links
    return links


# Which procedure owns a row, by (table, primary key), remembered for one flush (many rows of one
# flush share their parents: the ballots of a group commit, the versions of a bisogno...).
_Memo = dict[tuple[str, Any], int | None]


def _owner_of_row(session: Session, target: Mapper, value: Any, memo: _Memo, depth: int) -> int | None:
    key = (_table_name(target), value)
    if key in memo:
        return memo[key]
    if _table_name(target) == _TARGET:
        memo[key] = value
        return value
    owner = _owner(session, session.get(target.class_, value), memo, depth + 1)
    memo[key] = owner
    return owner


def _owner(session: Session, obj: Any, memo: _Memo, depth: int = 0) -> int | None:
    """The id of the procedure an object belongs to, or None."""
    if isinstance(obj, Procedure):
        return obj.id
    if obj is None or depth > 8:
        return None
    state = inspect(obj)
    for column_key, relation, target in _links(state.mapper):
        value = state.attrs[column_key].loaded_value
        if value is None or value is _NO_VALUE:
            history = state.attrs[column_key].history  # a deleted row keeps its committed values
            value = (history.deleted or [None])[0]
        if value is not None and value is not _NO_VALUE:
            owner = _owner_of_row(session, target, value, memo, depth)
        elif relation is not None:  # a new row linked through the relationship, its key not set yet
            parent = state.attrs[relation].loaded_value
            owner = None if parent is None or parent is _NO_VALUE else _owner(session, parent, memo, depth + 1)
        else:
            owner = None
        if owner is not None:
            return owner
    return None


def _only_bookkeeping(obj: Any) -> bool:
    allowed = getattr(type(obj), "__closure_bookkeeping__", None)
    if not allowed:
        return False
    state = inspect(obj)
    changed = {attr.key for attr in state.attrs if attr.history.has_changes()}
    return bool(changed) and changed <= set(allowed)


def _guard(session: Session, _context: Any, _instances: Any) -> None:
    if closure.is_exempt(session):
        return
    owners: set[int] = set()
    memo: _Memo = {}
    for obj in (*session.new, *session.dirty, *session.deleted):
        if obj in session.dirty and (not session.is_modified(obj) or _only_bookkeeping(obj)):
            continue
        owner = _owner(session, obj, memo)
        if owner is not None:
            owners.add(owner)
    for procedure_id in owners:
        loaded = session.identity_map.get(identity_key(Procedure, procedure_id))
        if loaded is not None:
            status = stored_status(loaded)
        else:
            status = session.scalar(select(Procedure.status).where(Procedure.id == procedure_id))
        if status == FINAL_STATUS:
            raise concluded_refusal()


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def refuse_concluded_request() -> None:
    """``before_request``: a write request to a concluded procedure or one of its tavoli is refused."""
    from flask import request

    from workspace.db import db
    from workspace.tavoli.models import Tavolo

    if request.method not in WRITE_METHODS or not request.view_args:
        return
    args = request.view_args
    procedure: Procedure | None = None
    if isinstance(args.get("procedure_id"), int):
        procedure = db.session.get(Procedure, args["procedure_id"])
    elif isinstance(args.get("tavolo_id"), int):
        tavolo = db.session.get(Tavolo, args["tavolo_id"])
        procedure = tavolo.procedure if tavolo is not None else None
    if procedure is not None and is_concluded(procedure):
        raise concluded_refusal()


def install() -> None:
    """Listen on every session (idempotent: the app factory may run many times)."""
    if not event.contains(Session, "before_flush", _guard):
        event.listen(Session, "before_flush", _guard)

