"""Flask-Login wiring: the session cookie carries ``User.login_id``, not the primary key."""
from __future__ import annotations

from flask import g
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from workspace.accounts.models import User
from workspace.db import db
from workspace.extensions import login_manager

login_manager.login_view = "accounts.login"
login_manager.login_message = _l("Per continuare occorre accedere.")
login_manager.login_message_category = "info"


@login_manager.user_loader
def load_user(login_id: str) -> User | None:
    return db.session.scalar(select(User).where(User.login_id == login_id, User.active.is_(True)))


def forget_cached_user() -> None:
    """Flask-Login caches the user in ``g``; when an app context outlives a request (tests that
    hold one open around several client requests) the cache must not leak from one to the next.
    Registered by the accounts blueprint as a before-app-request hook."""
    g.pop("_login_user", None)
