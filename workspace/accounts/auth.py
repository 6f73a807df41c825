"""Flask-Login wiring: the session cookie carries ``"<User.login_id>.<key>"`` (the person's
rotating login id and the key of one :class:`~workspace.accounts.models.LoginSession`), not the
primary key; and where a person goes right after logging in."""
from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from flask import current_app, g, url_for
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from workspace.accounts import epoch
from workspace.accounts.models import LoginSession, User
from workspace.db import db
from workspace.extensions import login_manager
from workspace.i18n import lazy_gettext as _l
from workspace.together import Together

login_manager.login_view = "accounts.login"
login_manager.login_message = _l("Per continuare occorre accedere.")
login_manager.login_message_category = "info"

#: The page of the information notice (privacy area). Named, not imported: accounts sits below privacy.
NOTICE_ENDPOINT = "privacy.notice"


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass
class _Kept:
    template: User  # a detached copy, never attached to a session: each request merges its own
    epoch: Any
    at: float


#: Live logins read from the database lately, by the digest of their cookie id, while the login epoch
#: (workspace/accounts/epoch.py: the threat, and what is left) has not moved since: a request or a
#: socket message then needs no query to know who is asking and that the login is still open.
_kept: OrderedDict[str, _Kept] = OrderedDict()
_kept_lock = threading.Lock()
KEPT_LOGINS = 10_000


@login_manager.user_loader
def load_user(cookie_id: str) -> User | None:
    """The person of a session or remember-me cookie, while that login is live (not logged out,
    password unchanged, account active). A cookie without a login key is refused."""
    login_id, _dot, key = str(cookie_id).partition(".")
    if not login_id or not key:
        return None
    digest = key_hash(str(cookie_id))
    now = epoch.current()  # read before the query: a login ended meanwhile moves it past what is kept
    with _kept_lock:
        kept = _kept.get(digest)
    user: User | None
    if kept is not None and now is not None and kept.epoch == now and time.monotonic() - kept.at <= epoch.MAX_AGE:
        user = _attached(kept.template)
    else:
        template = _read_together(login_id, key_hash(key))
        user = _attached(template) if template is not None else None
        with _kept_lock:
            _kept.pop(digest, None)
            if template is not None and now is not None:
                _kept[digest] = _Kept(template, now, time.monotonic())
                while len(_kept) > KEPT_LOGINS:
                    _kept.popitem(last=False)
    if user is not None:
        user.login_key = key
    return user


@dataclass(eq=False)
class _Wanted:
    """A login to read; its outcome is ``template`` (None: no live login) or ``error``."""

    login_id: str
    key_hash: str
    template: User | None = None
    error: BaseException | None = None


_READERS = "tavoli_login_readers"
#: Logins read in one query at most.
READ_BATCH = 200


def readers(app=None) -> Together[_Wanted]:
    """The app's logins waiting to be read together."""
    from workspace.extensions import socketio

    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    return app.extensions.setdefault(_READERS, Together(_read_logins, READ_BATCH, lambda: socketio.sleep(0)))


def _read_together(login_id: str, hashed_key: str) -> User | None:
    """The live login's person (a detached copy), read together with the other logins wanted right
    now: a join storm (hundreds of sockets connecting at once, each a login not read yet) costs a few
    queries, not one each."""
    me = _Wanted(login_id, hashed_key)
    readers().add(me)
    if me.error is not None:
        raise me.error  # the database could not be read: the same failure for each, not "logged out"
    return me.template


def _read_logins(batch: list[_Wanted]) -> None:
    try:
        found = {(user.login_id, hashed): user for user, hashed in db.session.execute(
            select(User, LoginSession.key_hash).join(LoginSession, LoginSession.user_id == User.id)
            .where(LoginSession.key_hash.in_({w.key_hash for w in batch}), User.active.is_(True),
                   LoginSession.ended_at.is_(None)))}
    except Exception as exc:
        for wanted in batch:
            wanted.error = exc
        return
    copies: dict[int, User] = {}
    for wanted in batch:
        user = found.get((wanted.login_id, wanted.key_hash))
        if user is not None:
            wanted.template = copies.get(user.id) or copies.setdefault(user.id, _detached_copy(user))


def _detached_copy(user: User) -> User:
    columns = {attr.key: getattr(user, attr.key) for attr in sa_inspect(User).column_attrs}
    template = User(**columns)
    make_transient_to_detached(template)
    return template


def _attached(template: User) -> User:
    """The kept person in this request's session, without a query. One already in the session (read
    or changed by this same transaction) is used as it is: merging the copy would overwrite it."""
    session = db.session
    present = session.identity_map.get(identity_key(User, template.id))
    if present is not None:
        return present
    return session.merge(template, load=False)


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
