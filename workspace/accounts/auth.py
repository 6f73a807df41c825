"""Flask-Login wiring: the session cookie carries ``"<User.login_id>.<key>"`` (the person's
rotating login id and the key of one :class:`~workspace.accounts.models.LoginSession`), not the
primary key; and where a person goes right after logging in."""
from __future__ import annotations

import hashlib

from flask import current_app, g, url_for
from sqlalchemy import select

from workspace.accounts.models import LoginSession, User
from workspace.db import db
from workspace.extensions import login_manager
from workspace.i18n import lazy_gettext as _l

login_manager.login_view = "accounts.login"
login_manager.login_message = _l("Per continuare occorre accedere.")
login_manager.login_message_category = "info"

#: The page of the information notice (privacy area). Named, not imported: accounts sits below privacy.
NOTICE_ENDPOINT = "privacy.notice"


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@login_manager.user_loader
def load_user(cookie_id: str) -> User | None:
    """The person of a session or remember-me cookie, while that login is live (not logged out,
    password unchanged, account active). A cookie without a login key is refused."""
    login_id, _dot, key = str(cookie_id).partition(".")
    if not login_id or not key:
        return None
    user = db.session.scalar(
        select(User).join(LoginSession, LoginSession.user_id == User.id)
        .where(User.login_id == login_id, User.active.is_(True), LoginSession.key_hash == key_hash(key),
               LoginSession.ended_at.is_(None))
    )
    if user is not None:
        user.login_key = key
    return user


def forget_cached_user() -> None:
    """Flask-Login caches the user in ``g``; when an app context outlives a request (tests that
    hold one open around several client requests) the cache must not leak from one to the next.
    Registered by the accounts blueprint as a before-app-request hook."""
    g.pop("_login_user", None)


def notice_pending(user: User, version: str) -> bool:
    """True when ``user`` has not yet read this version of the information notice."""
    return getattr(user, "privacy_version", None) != version


def after_login(user: User, target: str) -> str:
    """Where to go after a successful login (every login flow, in every area, asks here): the
    information notice first when its current version is still unread, then on to ``target``."""
    config = current_app.config
    if (config.get("PRIVACY_NOTICE_AT_LOGIN", True) and NOTICE_ENDPOINT in current_app.view_functions
            and notice_pending(user, config["PRIVACY_VERSION"])):
        return url_for(NOTICE_ENDPOINT, next=target)
    return target
