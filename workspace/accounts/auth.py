"""Flask-Login wiring: the session cookie carries ``User.login_id``, not the primary key."""
from __future__ import annotations

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
