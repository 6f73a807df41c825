"""Who may do what in the accounts area: small named predicates, and the ``admin_required`` guard.

Predicates take the user (possibly Flask-Login's anonymous user) and return a bool, so HTTP views
and Socket.IO handlers ask the same questions in the same words.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user

from workspace.extensions import login_manager
from workspace.i18n import gettext as _

F = TypeVar("F", bound=Callable[..., Any])


def is_authenticated(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and bool(getattr(user, "is_active", False))


def is_admin(user: Any) -> bool:
    """Administrator of the Ufficio di Piano."""
    return is_authenticated(user) and bool(getattr(user, "is_admin", False))


def is_delegate_of(user: Any, organisation: Any) -> bool:
    """The user acts for ``organisation`` (organisation object or id)."""
    if not is_authenticated(user) or organisation is None:
        return False
    org_id = getattr(organisation, "id", organisation)
    return any(m.organisation_id == org_id for m in user.memberships)


def can_manage_organisations(user: Any) -> bool:
    return is_admin(user)


def admin_required(view: F) -> F:
    """Anonymous: redirect to the login page (with ``next``). Logged in but not admin: 403."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not is_authenticated(current_user):
            return login_manager.unauthorized()
        if not is_admin(current_user):
            abort(403, _("Questa pagina è riservata agli amministratori dell'Ufficio di Piano."))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
