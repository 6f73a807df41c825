"""Who may do what at a tavolo. Used by HTTP views and Socket.IO handlers alike.

Roles are per tavolo (facilitator, delegate, observer); an administrator of the Ufficio di Piano
acts as facilitator everywhere. Actions are small named predicates over the role.

Instituting a tavolo and deciding who sits at it (member organisations, people's roles) belongs to
the Ufficio di Piano's administrators only, not to facilitators: organisations come in through
the procedure's admissions (art. 55, the RUP's decisions), roles decide who contributes and votes,
and a facilitator who could name facilitators would widen their own powers.
"""
from __future__ import annotations

from functools import cache

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session, joinedload

from workspace.accounts.models import User
from workspace.i18n import gettext as _
from workspace.policy import TAVOLO_ROLES
from workspace.problems import Problem, forbidden, not_found
from workspace.tavoli.models import Tavolo, TavoloRole

# action -> roles allowed: the declared policy's table (workspace/policy.py), shared with the
# live channel, which checks an event's action from it before anything else.
RULES: dict[str, frozenset[str]] = TAVOLO_ROLES


def _messages() -> dict[str, str]:
    return {
        "view": _("Non fai parte di questo tavolo."),
        "contribute": _("Solo i facilitatori e i delegati delle organizzazioni del tavolo possono contribuire."),
        "facilitate": _("Solo i facilitatori del tavolo possono farlo."),
    }


# The questions every tavolo page and live operation asks first, built once with bound parameters:
# building a statement and computing its cache key took about as long as running it (profiled on the
# participant page); a statement kept for reuse keeps its cache key. Those with loader options are
# built at their first use: options configure the mappers, which needs every model imported.
_ROLE = select(TavoloRole).where(TavoloRole.tavolo_id == bindparam("tavolo_id"),
                                 TavoloRole.user_id == bindparam("user_id"))
_THEIR_ROLE = (TavoloRole.tavolo_id == Tavolo.id) & (TavoloRole.user_id == bindparam("user_id"))  # outer-joined
_ROLE_AT = select(Tavolo.id, TavoloRole.role).outerjoin(TavoloRole, _THEIR_ROLE).where(Tavolo.id == bindparam("tavolo_id"))


@cache
def _role_with_organisation() -> Select:
    return _ROLE.options(joinedload(TavoloRole.organisation))


@cache
def _tavolo_and_role() -> Select:
    return (select(Tavolo, TavoloRole).outerjoin(TavoloRole, _THEIR_ROLE)
            .options(joinedload(TavoloRole.organisation)).where(Tavolo.id == bindparam("tavolo_id")))


def tavolo_role(session: Session, user: User | None, tavolo_id: int,
                with_organisation: bool = False) -> TavoloRole | None:
    """``with_organisation``: the delegate's organisation in the same query (the live pages show it)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return session.scalar(_role_with_organisation() if with_organisation else _ROLE,
                          {"tavolo_id": tavolo_id, "user_id": user.id})


def role_name(session: Session, user: User | None, tavolo_id: int) -> str | None:
    role = tavolo_role(session, user, tavolo_id)
    return effective(user, role.role if role is not None else None)


def effective(user: User | None, role: str | None) -> str | None:
    """The role someone acts with at a tavolo where they hold ``role`` (None: none there): an
    administrator without one acts as facilitator."""
    if role is not None:
        return role
    if user is not None and getattr(user, "is_authenticated", False) and user.is_admin:
        return "facilitator"
    return None


def require_at(session: Session, user: User, action: str, tavolo_id: int) -> str:
    """``require`` and the tavolo's existence (404 first) in one query: the live channel asks it
    before every join and every operation."""
    row = session.execute(_ROLE_AT, {"tavolo_id": tavolo_id, "user_id": user.id}).first()
    if row is None:
        raise _unknown_tavolo()
    return allowed(effective(user, row.role), action)


def roles_at(session: Session, tavolo_id: int, user_ids: set[int]) -> dict[int, str]:
    """The roles the people ``user_ids`` hold at a tavolo (none: not in the dict); 404 when the
    tavolo does not exist: ``require_at`` for many people in two queries."""
    if session.scalar(select(Tavolo.id).where(Tavolo.id == tavolo_id)) is None:
        raise _unknown_tavolo()
    return dict(session.execute(select(TavoloRole.user_id, TavoloRole.role)
                                .where(TavoloRole.tavolo_id == tavolo_id, TavoloRole.user_id.in_(user_ids))).all())


def can(session: Session, user: User | None, action: str, tavolo_id: int) -> bool:
    return role_name(session, user, tavolo_id) in RULES[action]


def may_manage(user: User | None) -> bool:
    """May institute tavoli and manage their members and roles."""
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_admin)


def require_manage(user: User | None) -> None:
    if not may_manage(user):
        raise forbidden(_("Solo gli amministratori dell'Ufficio di Piano possono istituire i tavoli e "
                          "deciderne membri e ruoli."))


def require(session: Session, user: User | None, action: str, tavolo_id: int) -> str:
    """The user's role, or a 403 Problem naming what is missing."""
    return allowed(role_name(session, user, tavolo_id), action)


def require_row(session: Session, user: User | None, action: str, tavolo_id: int) -> tuple[str, TavoloRole | None]:
    """``require``, and the person's role row with its organisation (None for an administrator
    without a role there), from the same query: the tavolo pages show it."""
    row = tavolo_role(session, user, tavolo_id, with_organisation=True)
    return _allowed_by(user, row, action), row


def require_tavolo(session: Session, user: User, action: str, tavolo_id: int) -> tuple[Tavolo, str, TavoloRole | None]:
    """The tavolo (404 if unknown), the person's permission for ``action`` (403) and their role row
    with its organisation, in one query: what every tavolo page asks first."""
    row = session.execute(_tavolo_and_role(), {"tavolo_id": tavolo_id, "user_id": user.id}).first()
    if row is None:
        raise _unknown_tavolo()
    tavolo, role_row = row
    return tavolo, _allowed_by(user, role_row, action), role_row


def _allowed_by(user: User | None, row: TavoloRole | None, action: str) -> str:
    """``allowed`` for the person holding role row ``row`` (None: no role at the tavolo)."""
    return allowed(effective(user, row.role if row is not None else None), action)


def allowed(role: str | None, action: str) -> str:
    """``role`` if it allows ``action``, else the 403 Problem naming what is missing."""
    if role is None or role not in RULES[action]:
        raise refusal(action)
    return role


def _unknown_tavolo() -> Problem:
    return not_found(_("Tavolo inesistente."))


def refusal(action: str) -> Problem:
    """The 403 Problem of someone whose role does not allow ``action``."""
    return forbidden(_messages()[action])
