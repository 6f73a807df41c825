"""The login epoch: a number that moves after every commit that may have ended a login — a person's
row changed (password, login id, account switched off or pseudonymised, admin flag) or a login row
ended or removed (logout, "esci da tutti i dispositivi", account deleted).

Why: the user loader (``workspace/accounts/auth.py``) keeps the live logins it has read and reads
the database again only once the epoch moved since; before, every request and every socket message
read the person and the login (about a sixth of the server's CPU in a join storm of 300, and of a
page request).

Threat: someone whose login has ended (logged out from another device after losing a phone, an
account switched off by the administration, a password changed after a leak) keeps a live connection
open and goes on sending. They must be refused at their next message, as when every message loaded
the login. In the process that commits the change the epoch moves with the commit; other processes
(the scaled deployment) read it in Redis (``REDIS_URL``) at every message, and a process that cannot
read it loads the person from the database. What is left: a change committed while Redis could not be
written, read by another process after Redis came back and before the copy's ``MAX_AGE``; and a
change written to the database by hand or by another program that is not this application. Both are
bounded by ``MAX_AGE`` (and logout also disconnects the sockets through the message queue).
"""
from __future__ import annotations

import logging
import threading
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from workspace.accounts.models import LoginSession, User

log = logging.getLogger(__name__)

#: A kept login is read again after this many seconds whatever the epoch says.
MAX_AGE = 30.0
_EXT = "tavoli_login_epoch"
_CHANGED = "tavoli_logins_changed"
_TABLES = frozenset({User.__tablename__, LoginSession.__tablename__})

_lock = threading.Lock()
_local = 0


def init_app(app) -> None:
    """With ``REDIS_URL`` the epoch is shared by every process through Redis."""
    url = app.config.get("REDIS_URL")
    client = None
    if url:
        import redis

        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    prefix = app.config.get("SOCKETIO_CHANNEL") or "tavoli"
    app.extensions[_EXT] = (client, f"{prefix}:logins:epoch")


def current(app=None) -> tuple[int, bytes | None] | None:
    """The epoch now: equal values mean no login ended in between. None when it cannot be known
    (Redis unreachable): then nothing kept may be trusted."""
    app = app or current_app
    client, key = app.extensions.get(_EXT, (None, ""))
    if client is None:
        return (_local, None)
    try:
        return (_local, client.get(key) or b"0")
    except Exception:  # noqa: BLE001 — unknown: the caller loads from the database
        log.warning("login epoch unavailable in Redis", exc_info=True)
        return None


def bump() -> None:
    global _local
    with _lock:
        _local += 1
    if not has_app_context():
        return
    client, key = current_app.extensions.get(_EXT, (None, ""))
    if client is not None:
        try:
            client.incr(key)
        except Exception:  # noqa: BLE001 — the other processes' copies age out (MAX_AGE)
            log.warning("login epoch not written to Redis", exc_info=True)


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    # New rows end nothing (a new login, a new person); changed or deleted ones may.
    if any(isinstance(obj, (User, LoginSession)) for obj in (*session.dirty, *session.deleted)):
        session.info[_CHANGED] = True


@event.listens_for(Session, "do_orm_execute")
def _bulk(state: Any) -> None:
    if state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) in _TABLES:
            state.session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    # Never cleared by a rollback: a flag left over moves the epoch once more (harmless), while a
    # savepoint rolled back must not hide a change flushed before it.
    if session.info.pop(_CHANGED, False):
        bump()
