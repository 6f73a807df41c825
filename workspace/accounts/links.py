"""Single-use links: invitations, password resets, login links; and the e-mails that carry them.

Only the SHA-256 of a link is stored; the raw token exists in the e-mail alone. A link is *shown*
by a GET and *used* by a POST (mail scanners that open links must not use them up), and used at
most once: the conditional UPDATE of :func:`consume_token` lets only one of two concurrent uses
win. Requests for a link by e-mail answer the same whether the address exists or not, and are
throttled per address and per IP so nobody can flood a mailbox. Refusals are ``Problem``s, as in
``service.py``, which holds the people, passwords and organisations these functions build on.
"""
from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

from flask import current_app
from flask_babel import force_locale, format_datetime
from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from workspace import mail
from workspace.accounts import service
from workspace.accounts.models import TOKEN_KINDS, AccessToken, Organisation, User
from workspace.db import utcnow
from workspace.i18n import gettext as _
from workspace.problems import Problem, not_found, throttled
from workspace.ratelimit import Limiter, Throttled, email_key, ip_key

TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 128


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _when(moment: datetime) -> str:
    return format_datetime(moment, "d MMMM yyyy, HH:mm")


# --------------------------------------------------------------------------- single-use links


def _default_lifetime(kind: str) -> timedelta:
    cfg = current_app.config
    if kind == "invitation":
        return timedelta(days=int(cfg.get("INVITATION_DAYS", 14)))
    return timedelta(hours=int(cfg.get("RESET_HOURS", 2)))


def issue_token(
    session: Session,
    kind: str,
    email: str,
    *,
    name: str | None = None,
    user: User | None = None,
    organisation: Organisation | None = None,
    grants_admin: bool = False,
    created_by: User | None = None,
    lifetime: timedelta | None = None,
) -> str:
    """Store a new link and return its raw token: the only time it exists outside an e-mail."""
    if kind not in TOKEN_KINDS:
        raise ValueError(f"unknown token kind {kind!r}")
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    now = utcnow()
    token = AccessToken(
        kind=kind,
        token_hash=_hash_token(raw),
        email=service.normalise_email(email),
        name=name,
        user_id=user.id if user is not None else None,
        organisation_id=organisation.id if organisation is not None else None,
        grants_admin=bool(grants_admin),
        created_by_id=created_by.id if created_by is not None else None,
        created_at=now,
        expires_at=now + (lifetime if lifetime is not None else _default_lifetime(kind)),
    )
    with session.begin_nested():
        session.add(token)
        session.flush()
    return raw


def _used_message(kind: str) -> str:
    if kind == "invitation":
        return _("Questo invito è già stato usato. Se hai già aderito puoi accedere con la tua e-mail; "
                 "altrimenti chiedi un nuovo invito all'Ufficio di Piano.")
    if kind == "password_reset":
        return _("Questo link per reimpostare la password è già stato usato. Se serve, richiedine uno nuovo.")
    return _("Questo link di accesso è già stato usato. Richiedine uno nuovo.")


def _expired_message(kind: str, expired_at: datetime) -> str:
    when = _when(expired_at)
    if kind == "invitation":
        return _("Questo invito è scaduto (scadenza: %(when)s). Chiedi un nuovo invito all'Ufficio di Piano.", when=when)
    if kind == "password_reset":
        return _("Questo link per reimpostare la password è scaduto (scadenza: %(when)s). Richiedine uno nuovo.",
                 when=when)
    return _("Questo link di accesso è scaduto (scadenza: %(when)s). Richiedine uno nuovo.", when=when)


def peek_token(session: Session, raw: str, kind: str) -> AccessToken:
    """The valid, unused token for ``raw`` without consuming it (pages shown before confirming)."""
    token = None
    if raw and len(raw) <= MAX_TOKEN_LENGTH:
        token = session.scalar(
            select(AccessToken).where(AccessToken.token_hash == _hash_token(raw), AccessToken.kind == kind)
        )
    if token is None:
        raise not_found(_("Il link non è valido. Controlla di averlo copiato per intero dall'e-mail ricevuta."))
    if token.used_at is not None:
        raise Problem("link_used", _used_message(kind), 410)
    if token.expires_at <= utcnow():
        raise Problem("link_expired", _expired_message(kind, token.expires_at), 410)
    return token


def consume_token(session: Session, raw: str, kind: str) -> AccessToken:
    """Mark the token used. The conditional UPDATE makes two concurrent uses impossible: only
    one of them sees ``used_at IS NULL``; the other gets 410."""
    token = peek_token(session, raw, kind)
    now = utcnow()
    result = cast("CursorResult[Any]", session.execute(
        update(AccessToken)
        .where(AccessToken.id == token.id, AccessToken.used_at.is_(None), AccessToken.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ))
    if result.rowcount != 1:
        raise Problem("link_used", _used_message(kind), 410)
    set_committed_value(token, "used_at", now)
    return token


def token_inviter(session: Session, token: AccessToken) -> User | None:
    return session.get(User, token.created_by_id) if token.created_by_id else None


# --------------------------------------------------------------------------- invitations


def invite_delegate(
    session: Session,
    organisation: Organisation,
    *,
    name: str,
    email: str,
    grants_admin: bool = False,
    invited_by: User | None = None,
) -> str:
    """Create an invitation for ``email`` to act for ``organisation`` and mail it; returns the raw
    token. 409 if the person already is a delegate of it; 503 if the mail cannot be sent."""
    email = service.normalise_email(email)
    name = service.clean_text(name, field="name", label=_("Nome e cognome"), max_length=200)
    existing = service.find_user(session, email)
    if existing is not None and service.is_member(session, existing, organisation):
        raise Problem(
            "conflict",
            _("%(email)s è già delegato di «%(org)s». Per entrare può chiedere un link di accesso via e-mail.",
              email=email, org=organisation.name),
            409, field="email",
        )
    with session.begin_nested():
        raw = issue_token(
            session, "invitation", email, name=name, user=existing, organisation=organisation,
            grants_admin=grants_admin, created_by=invited_by,
        )
        token = session.scalars(select(AccessToken).where(AccessToken.token_hash == _hash_token(raw))).one()
        with force_locale("it"):
            subject = _("Invito ai tavoli di co-programmazione: %(org)s", org=organisation.name)
            body = mail.render_mail(
                "invitation.txt",
                name=name,
                organisation=organisation,
                inviter=invited_by,
                grants_admin=grants_admin,
                link=mail.external_url("accounts.invitation", token=raw),
                expires=_when(token.expires_at),
            )
        try:
            mail.send_mail(email, subject, body)
        except mail.MailError as exc:
            raise Problem("mail_unavailable", exc.message, 503) from exc
    service.announce(session, invited_by, "invitation.sent", "organisation", organisation.id, invitation_id=token.id,
                     user_id=existing.id if existing is not None else None, grants_admin=bool(grants_admin))
    return raw


def accept_invitation(session: Session, raw: str, *, password: str | None = None, name: str | None = None) -> User:
    """Join through an invitation: creates the person (or reuses the account with that e-mail),
    makes them delegate of the inviting organisation, grants admin if the invitation says so and
    optionally sets a password. Returns the user, to be logged in."""
    token = peek_token(session, raw, "invitation")
    user = service.find_user(session, token.email)
    if user is not None and not user.active:
        raise Problem(
            "account_disabled",
            _("L'account %(email)s è stato disattivato. Per riattivarlo rivolgersi all'Ufficio di Piano.",
              email=token.email), 403,
        )
    if password is not None:
        service.check_password(password, email=token.email)
    display_name = service.clean_text(name or token.name or token.email.split("@")[0], field="name",
                               label=_("Nome e cognome"), max_length=200)
    with session.begin_nested():
        consume_token(session, raw, "invitation")
        if user is None:
            user = service.create_user(session, email=token.email, name=display_name)
        if password is not None:
            service.set_password(session, user, password)
        if token.organisation is not None:
            service.add_membership(session, user, token.organisation)
        promoted = token.grants_admin and not user.is_admin
        if token.grants_admin:
            user.is_admin = True
        user.last_login_at = utcnow()
        session.flush()
        service.announce(session, user, "invitation.accepted", "organisation" if token.organisation_id else "user",
                         token.organisation_id or user.id, invitation_id=token.id,
                         invited_by=token.created_by_id, with_password=password is not None)
        if promoted:
            service.announce(session, user, "admin.granted", "user", user.id, invitation_id=token.id,
                             invited_by=token.created_by_id)
        service.announce(session, user, "login.succeeded", "user", user.id, method="invitation")
    return user


# --------------------------------------------------------------------------- links by e-mail


def _active_user(session: Session, email: str) -> User | None:
    user = service.find_user(session, email)
    return user if user is not None and user.active else None


def _send_link_quietly(email: str, subject: str, body: str) -> None:
    """Mail a link without telling the requester whether it went out (non-disclosure)."""
    try:
        mail.send_mail(email, subject, body)
    except mail.MailError:
        current_app.logger.exception("Link via e-mail non inviato")


def _throttle_requests(limiter: Limiter | None, scope: str, email: str, ip: str | None) -> None:
    """Count every request (whether the address exists or not) so nobody can flood a mailbox."""
    if limiter is None:
        return
    keys = [email_key(scope, email), ip_key(scope, ip)]
    try:
        limiter.check(keys)
    except Throttled as exc:
        raise throttled(exc.message, exc.retry_after) from exc
    limiter.hit(keys)


def _mail_link(session: Session, email: str, *, kind: str, scope: str, endpoint: str,
               subject: Callable[[], str], limiter: Limiter | None, ip: str | None) -> None:
    """Mail a link of ``kind`` if an active account has this address. Same outcome either way."""
    email = service.normalise_email(email)
    _throttle_requests(limiter, scope, email, ip)
    user = _active_user(session, email)
    if user is None:
        return
    raw = issue_token(session, kind, user.email, name=user.name, user=user)
    with force_locale("it"):
        title = subject()
        body = mail.render_mail(f"{kind}.txt", user=user, link=mail.external_url(endpoint, token=raw),
                                hours=int(_default_lifetime(kind).total_seconds() // 3600))
    _send_link_quietly(user.email, title, body)


def request_password_reset(session: Session, email: str, *, limiter: Limiter | None = None,
                           ip: str | None = None) -> None:
    """Mail a reset link if an active account has this address. Same outcome either way."""
    _mail_link(session, email, kind="password_reset", scope="reset", endpoint="accounts.reset_password",
               subject=lambda: _("Reimpostazione della password"), limiter=limiter, ip=ip)


def request_login_link(session: Session, email: str, *, limiter: Limiter | None = None,
                       ip: str | None = None) -> None:
    """Mail a password-less login link if an active account has this address. Same outcome either way."""
    _mail_link(session, email, kind="login_link", scope="link", endpoint="accounts.login_link",
               subject=lambda: _("Il tuo link di accesso"), limiter=limiter, ip=ip)


def _token_user(session: Session, token: AccessToken) -> User:
    user = session.get(User, token.user_id) if token.user_id else service.find_user(session, token.email)
    if user is None:
        raise not_found(_("L'account a cui si riferisce questo link non esiste più."))
    if not user.active:
        raise service.account_disabled()
    return user


def reset_password(session: Session, raw: str, password: str) -> User:
    """Set a new password through a reset link; other pending reset links of the person die too."""
    token = peek_token(session, raw, "password_reset")
    user = _token_user(session, token)
    service.check_password(password, email=user.email)
    with session.begin_nested():
        consume_token(session, raw, "password_reset")
        service.set_password(session, user, password)
        now = utcnow()
        session.execute(
            update(AccessToken)
            .where(AccessToken.kind == "password_reset", AccessToken.email == user.email,
                   AccessToken.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session="fetch")
        )
        user.last_login_at = now
        session.flush()
        service.announce(session, user, "password.reset", "user", user.id)
        service.announce(session, user, "login.succeeded", "user", user.id, method="password_reset")
    return user


def login_with_link(session: Session, raw: str) -> User:
    """Consume a password-less login link; returns the user to log in."""
    token = peek_token(session, raw, "login_link")
    user = _token_user(session, token)
    with session.begin_nested():
        consume_token(session, raw, "login_link")
        user.last_login_at = utcnow()
        session.flush()
        service.announce(session, user, "login.succeeded", "user", user.id, method="link")
    return user
