"""Who may do what in the accounts area: small named predicates, and the ``admin_required`` guard.

Predicates take the user (possibly Flask-Login's anonymous user) and return a bool, so HTTP views
and Socket.IO handlers ask the same questions in the same words.
"""
from __future__ import annotations

from functools import wraps

from flask import abort
from flask_babel import gettext as _
from flask_login import current_user

from workspace.extensions import login_manager


def is_authenticated(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and bool(getattr(user, "is_active", False))


def is_admin(user) -> bool:
    """Administrator of the Ufficio di Piano."""
    return is_authenticated(user) and bool(getattr(user, "is_admin", False))


def is_delegate_of(user, organisation) -> bool:
    """The user acts for ``organisation`` (organisation object or id)."""
    if not is_authenticated(user) or organisation is None:
        return False
    org_id = getattr(organisation, "id", organisation)
    return any(m.organisation_id == org_id for m in user.memberships)


def can_manage_organisations(user) -> bool:
    return is_admin(user)


def admin_required(view):
    """Anonymous: redirect to the login page (with ``next``). Logged in but not admin: 403."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not is_authenticated(current_user):
            return login_manager.unauthorized()
        if not is_admin(current_user):
            abort(403, _("Questa pagina è riservata agli amministratori dell'Ufficio di Piano."))
        return view(*args, **kwargs)

    return wrapper
