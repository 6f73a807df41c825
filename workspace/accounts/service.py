"""Accounts: organisations, people, memberships, passwords, single-use links.

Plain functions over a SQLAlchemy session, called by the views and directly by tests. Each one
validates everything first and refuses by raising :class:`~workspace.problems.Problem` (Italian
message, HTTP status, and the form field at fault when there is one). Writes happen inside a
SAVEPOINT, so a function that fails leaves nothing of its own behind; the caller commits (views
through ``workspace.web.transaction``) and rolls back after a Problem.
"""
from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import force_locale, format_datetime
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from workspace import mail
from workspace.accounts import codice_fiscale as cf_rules
from workspace.accounts.models import (
    ORGANISATION_KINDS,
    RUNTS_SECTIONS,
    TOKEN_KINDS,
    AccessToken,
    Membership,
    Organisation,
    User,
    new_login_id,
)
from workspace.db import utcnow
from workspace.problems import Problem, invalid, invalid_fields, not_found, throttled
from workspace.ratelimit import Limiter, Throttled, email_key, ip_key

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024  # argon2 accepts more, but nobody types a novel: refuse obvious abuse
TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 128

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
_dummy_hash: str | None = None


# --------------------------------------------------------------------------- small validators


def clean_runts(section: str | None, repertorio: str | None) -> tuple[str | None, str | None]:
    """RUNTS section and repertorio as typed: trimmed, spaces out of the number, empty as None."""
    return (str(section or "").strip() or None), ("".join(str(repertorio or "").split()) or None)


def runts_errors(section: str | None, repertorio: str | None, *, require_repertorio: bool = True) -> dict[str, str]:
    """The one RUNTS rule (organisations and applications alike): a section among the seven, and a
    repertorio number of at most 12 digits (unless ``require_repertorio`` is off and none is given)."""
    errors: dict[str, str] = {}
    if section is None:
        errors["runts_section"] = _("Per un ente del Terzo settore occorre indicare la sezione del RUNTS.")
    elif section not in RUNTS_SECTIONS:
        errors["runts_section"] = _("La sezione del RUNTS indicata non esiste: scegliere una delle sette sezioni.")
    if repertorio is None:
        if require_repertorio:
            errors["runts_repertorio"] = _("Per un ente del Terzo settore occorre indicare il numero di "
                                           "repertorio del RUNTS.")
    elif not repertorio.isascii() or not repertorio.isdigit() or len(repertorio) > 12:
        errors["runts_repertorio"] = _("Il numero di repertorio del RUNTS è un numero (solo cifre, al massimo 12).")
    return errors


def normalise_email(value: str | None, field: str = "email") -> str:
    """Syntax check (no DNS lookup) and lower-case; refuses with 422."""
    raw = (value or "").strip()
    if not raw:
        raise invalid(_("L'indirizzo e-mail è obbligatorio."), field)
    try:
        info = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        raise invalid(
            _("L'indirizzo e-mail «%(email)s» non è valido: deve avere la forma nome@dominio.it.", email=raw), field,
        ) from exc
    email = info.normalized.lower()
    if len(email) > 254:
        raise invalid(_("L'indirizzo e-mail è troppo lungo (al massimo 254 caratteri)."), field)
    return email


def _clean_text(value: str | None, *, field: str, label: str, max_length: int) -> str:
    text = " ".join((value or "").split())
    if not text:
        raise invalid(_("Il campo «%(label)s» è obbligatorio.", label=label), field)
    if len(text) > max_length:
        raise invalid(
            _("Il campo «%(label)s» è troppo lungo (al massimo %(max)d caratteri).", label=label, max=max_length),
            field,
        )
    return text


def check_password(password: str | None, *, email: str | None = None, field: str = "password") -> str:
    """The password policy: at least 10 characters, not the e-mail address itself."""
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise invalid(_("La password deve avere almeno %(min)d caratteri.", min=MIN_PASSWORD_LENGTH), field)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise invalid(_("La password è troppo lunga (al massimo %(max)d caratteri).", max=MAX_PASSWORD_LENGTH), field)
    if email and password.strip().lower() == email.lower():
        raise invalid(_("La password non può essere uguale all'indirizzo e-mail."), field)
    return password


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _when(moment: datetime) -> str:
    return format_datetime(moment, "d MMMM yyyy, HH:mm")


# --------------------------------------------------------------------------- organisations


def check_organisation(
    session: Session,
    *,
    name: str | None,
    kind: str | None,
    ambito_code: str | None = None,
    codice_fiscale: str | None = None,
    runts_section: str | None = None,
    runts_repertorio: str | None = None,
    email: str | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Validate an organisation's fields without writing: (cleaned values, {field: message}).

    Every problem is reported at once, so a form shows all of them together."""
    from workspace.reference.models import Ambito

    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}

    def attempt(field: str, fn: Callable[[], str | None]) -> str | None:
        try:
            return fn()
        except Problem as exc:
            errors.setdefault(exc.field or field, exc.message)
        except cf_rules.CodiceFiscaleError as exc:
            errors.setdefault(field, exc.message)
        return None

    clean["name"] = attempt("name", lambda: _clean_text(name, field="name", label=_("Denominazione"),
                                                         max_length=300))
    if kind not in ORGANISATION_KINDS:
        errors["kind"] = _("Il tipo di organizzazione scelto non esiste.")
    clean["kind"] = kind

    code = (ambito_code or "").strip() or None
    if code is not None and session.get(Ambito, code) is None:
        errors["ambito_code"] = _("L'Ambito con codice «%(code)s» non esiste nell'elenco di Regione Lombardia.",
                                  code=code)
    clean["ambito_code"] = code

    cf = cf_rules.normalise(codice_fiscale) or None
    section, repertorio = clean_runts(runts_section, runts_repertorio)
    if kind == "ets":
        if cf is None:
            errors["codice_fiscale"] = _("Per un ente del Terzo settore il codice fiscale è obbligatorio.")
        else:
            cf = attempt("codice_fiscale", partial(cf_rules.validate_numeric, cf))
        errors.update(runts_errors(section, repertorio))
    else:
        not_ets = _("Sezione e numero di repertorio del RUNTS si indicano solo per gli enti del Terzo "
                    "settore: scegliere il tipo «Ente del Terzo settore» oppure lasciarli vuoti.")
        if section is not None:
            errors["runts_section"] = not_ets
        if repertorio is not None:
            errors["runts_repertorio"] = not_ets
        if cf is not None:
            cf = attempt("codice_fiscale", partial(cf_rules.validate, cf))
    clean.update(codice_fiscale=cf, runts_section=section, runts_repertorio=repertorio)
    clean["email"] = attempt("email", lambda: normalise_email(email)) if (email or "").strip() else None
    return clean, errors


def create_organisation(
    session: Session,
    *,
    name: str,
    kind: str,
    ambito_code: str | None = None,
    codice_fiscale: str | None = None,
    runts_section: str | None = None,
    runts_repertorio: str | None = None,
    email: str | None = None,
) -> Organisation:
    """A new organisation. ETS need a valid 11-digit codice fiscale, RUNTS section and repertorio;
    a codice fiscale already registered is refused with 409."""
    clean, errors = check_organisation(
        session, name=name, kind=kind, ambito_code=ambito_code, codice_fiscale=codice_fiscale,
        runts_section=runts_section, runts_repertorio=runts_repertorio, email=email,
    )
    if errors:
        raise invalid_fields(errors)
    cf = clean["codice_fiscale"]
    duplicate = _("Un'organizzazione con il codice fiscale %(cf)s è già registrata.", cf=cf)
    if cf is not None and session.scalar(select(Organisation.id).where(Organisation.codice_fiscale == cf)):
        raise Problem("conflict", duplicate, 409, field="codice_fiscale")
    org = Organisation(**clean)
    try:
        with session.begin_nested():
            session.add(org)
            session.flush()
    except IntegrityError as exc:  # a concurrent insert of the same codice fiscale
        raise Problem("conflict", duplicate, 409, field="codice_fiscale") from exc
    return org


def list_organisations(session: Session) -> list[Organisation]:
    return list(session.scalars(select(Organisation).order_by(func.lower(Organisation.name), Organisation.id)))


def get_organisation(session: Session, organisation_id: int) -> Organisation:
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise not_found(_("L'organizzazione richiesta non esiste."))
    return org


def members_of(session: Session, organisation: Organisation) -> list[Membership]:
    return list(
        session.scalars(
            select(Membership).join(User).where(Membership.organisation_id == organisation.id)
            .order_by(func.lower(User.name), User.id)
        )
    )


# --------------------------------------------------------------------------- users


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def create_user(
    session: Session,
    *,
    email: str,
    name: str,
    password: str | None = None,
    is_admin: bool = False,
) -> User:
    """A new person; the e-mail is the identity (lower-case, unique: 409 when taken)."""
    email = normalise_email(email)
    name = _clean_text(name, field="name", label=_("Nome e cognome"), max_length=200)
    if password is not None:
        check_password(password, email=email)
    duplicate = _("Esiste già un account con l'indirizzo %(email)s.", email=email)
    if find_user(session, email) is not None:
        raise Problem("conflict", duplicate, 409, field="email")
    user = User(email=email, name=name, is_admin=bool(is_admin), active=True, login_id=new_login_id())
    if password is not None:
        user.password_hash = _hasher.hash(password)
    try:
        with session.begin_nested():
            session.add(user)
            session.flush()
    except IntegrityError as exc:
        raise Problem("conflict", duplicate, 409, field="email") from exc
    return user


def set_password(session: Session, user: User, password: str, *, field: str = "password") -> None:
    """Hash and store; rotating ``login_id`` ends every other session and remember-me cookie."""
    check_password(password, email=user.email, field=field)
    user.password_hash = _hasher.hash(password)
    user.login_id = new_login_id()
    session.flush()


def _verify(password_hash: str | None, password: str) -> bool:
    global _dummy_hash
    if not password_hash:
        # Same cost as a real check, so response times do not reveal which addresses exist.
        if _dummy_hash is None:
            _dummy_hash = _hasher.hash(secrets.token_urlsafe(16))
        password_hash = _dummy_hash
        try:
            _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            pass
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _disabled() -> Problem:
    return Problem("account_disabled",
                   _("Questo account è stato disattivato. Per riattivarlo rivolgersi all'Ufficio di Piano."), 403)


def authenticate(session: Session, email: str, password: str) -> User:
    """The user with this e-mail and password; one uniform 401 message for every mismatch."""
    bad = Problem("bad_credentials", _("E-mail o password non corretti."), 401)
    try:
        email = normalise_email(email)
    except Problem:
        _verify(None, password or "")
        raise bad from None
    user = find_user(session, email)
    if user is None or not _verify(user.password_hash, password or ""):
        raise bad
    if not user.active:
        raise _disabled()
    if user.password_hash and _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    session.flush()
    return user


def login_keys(email: str, ip: str | None) -> list[str]:
    try:
        email = normalise_email(email)  # variants of one address share one counter
    except Problem:
        pass
    return [email_key("login", email or ""), ip_key("login", ip)]


def login_with_password(session: Session, limiter: Limiter, email: str, password: str, ip: str | None) -> User:
    """authenticate() behind the login throttle: a blocked attempt never reaches argon2 (429)."""
    keys = login_keys(email, ip)
    try:
        limiter.check(keys)
    except Throttled as exc:
        raise throttled(exc.message, exc.retry_after) from exc
    try:
        user = authenticate(session, email, password)
    except Problem as exc:
        if exc.code == "bad_credentials":
            limiter.hit(keys)  # in the limiter's store, not the database: the rollback keeps it
        raise
    limiter.reset(keys[:1])  # the address is proven; the IP counter keeps running
    return user


def change_password(session: Session, limiter: Limiter, user: User, current: str | None, new: str,
                    ip: str | None = None) -> None:
    """From the profile page: the current password is required when one exists (and throttled)."""
    check_password(new, email=user.email, field="new_password")
    if user.password_hash:
        keys = login_keys(user.email, ip)
        try:
            limiter.check(keys)
        except Throttled as exc:
            raise throttled(exc.message, exc.retry_after, field="current_password") from exc
        if not _verify(user.password_hash, current or ""):
            limiter.hit(keys)
            raise invalid(_("La password attuale non è corretta."), "current_password")
    set_password(session, user, new, field="new_password")


# --------------------------------------------------------------------------- the placeholder person

#: The shared, inactive account that records point to once the retention period has taken the
#: person away from them (old presences: see ``tavoli privacy purge``).
ARCHIVE_NAME = "Persona non più identificabile"
ARCHIVE_EMAIL = "presenze-archiviate@tavoli.invalid"  # RFC 2606: never deliverable


def archived_person(session: Session, *, now: datetime | None = None) -> User:
    """The placeholder account (created on first use, never active)."""
    person = session.scalar(select(User).where(User.email == ARCHIVE_EMAIL))
    if person is None:
        now = now or utcnow()
        person = User(name=ARCHIVE_NAME, email=ARCHIVE_EMAIL, password_hash=None, active=False,
                      is_admin=False, pseudonymised_at=now, created_at=now)
        session.add(person)
        session.flush()
    return person


# --------------------------------------------------------------------------- memberships


def add_membership(session: Session, user: User, organisation: Organisation, role: str = "delegate") -> Membership:
    """``user`` as delegate of ``organisation``; adding an existing membership returns it."""
    existing = session.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.organisation_id == organisation.id)
    )
    if existing is not None:
        return existing
    try:
        with session.begin_nested():
            membership = Membership(user=user, organisation=organisation, role=role)
            session.add(membership)
            session.flush()
    except IntegrityError:  # added concurrently: same result
        existing = session.scalar(
            select(Membership).where(Membership.user_id == user.id, Membership.organisation_id == organisation.id)
        )
        if existing is None:
            raise
        return existing
    return membership


def is_member(session: Session, user: User, organisation: Organisation) -> bool:
    return session.scalar(
        select(Membership.id).where(Membership.user_id == user.id, Membership.organisation_id == organisation.id)
    ) is not None


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
        email=normalise_email(email),
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
    email = normalise_email(email)
    name = _clean_text(name, field="name", label=_("Nome e cognome"), max_length=200)
    existing = find_user(session, email)
    if existing is not None and is_member(session, existing, organisation):
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
    return raw


def accept_invitation(session: Session, raw: str, *, password: str | None = None, name: str | None = None) -> User:
    """Join through an invitation: creates the person (or reuses the account with that e-mail),
    makes them delegate of the inviting organisation, grants admin if the invitation says so and
    optionally sets a password. Returns the user, to be logged in."""
    token = peek_token(session, raw, "invitation")
    user = find_user(session, token.email)
    if user is not None and not user.active:
        raise Problem(
            "account_disabled",
            _("L'account %(email)s è stato disattivato. Per riattivarlo rivolgersi all'Ufficio di Piano.",
              email=token.email), 403,
        )
    if password is not None:
        check_password(password, email=token.email)
    display_name = _clean_text(name or token.name or token.email.split("@")[0], field="name",
                               label=_("Nome e cognome"), max_length=200)
    with session.begin_nested():
        consume_token(session, raw, "invitation")
        if user is None:
            user = create_user(session, email=token.email, name=display_name)
        if password is not None:
            set_password(session, user, password)
        if token.organisation is not None:
            add_membership(session, user, token.organisation)
        if token.grants_admin:
            user.is_admin = True
        user.last_login_at = utcnow()
        session.flush()
    return user


# --------------------------------------------------------------------------- links by e-mail


def _active_user(session: Session, email: str) -> User | None:
    user = find_user(session, email)
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


def request_password_reset(session: Session, email: str, *, limiter: Limiter | None = None,
                           ip: str | None = None) -> None:
    """Mail a reset link if an active account has this address. Same outcome either way."""
    email = normalise_email(email)
    _throttle_requests(limiter, "reset", email, ip)
    user = _active_user(session, email)
    if user is None:
        return
    raw = issue_token(session, "password_reset", user.email, name=user.name, user=user)
    with force_locale("it"):
        subject = _("Reimpostazione della password")
        body = mail.render_mail(
            "password_reset.txt", user=user, link=mail.external_url("accounts.reset_password", token=raw),
            hours=int(_default_lifetime("password_reset").total_seconds() // 3600),
        )
    _send_link_quietly(user.email, subject, body)


def request_login_link(session: Session, email: str, *, limiter: Limiter | None = None,
                       ip: str | None = None) -> None:
    """Mail a password-less login link if an active account has this address. Same outcome either way."""
    email = normalise_email(email)
    _throttle_requests(limiter, "link", email, ip)
    user = _active_user(session, email)
    if user is None:
        return
    raw = issue_token(session, "login_link", user.email, name=user.name, user=user)
    with force_locale("it"):
        subject = _("Il tuo link di accesso")
        body = mail.render_mail(
            "login_link.txt", user=user, link=mail.external_url("accounts.login_link", token=raw),
            hours=int(_default_lifetime("login_link").total_seconds() // 3600),
        )
    _send_link_quietly(user.email, subject, body)


def _token_user(session: Session, token: AccessToken) -> User:
    user = session.get(User, token.user_id) if token.user_id else find_user(session, token.email)
    if user is None:
        raise not_found(_("L'account a cui si riferisce questo link non esiste più."))
    if not user.active:
        raise _disabled()
    return user


def reset_password(session: Session, raw: str, password: str) -> User:
    """Set a new password through a reset link; other pending reset links of the person die too."""
    token = peek_token(session, raw, "password_reset")
    user = _token_user(session, token)
    check_password(password, email=user.email)
    with session.begin_nested():
        consume_token(session, raw, "password_reset")
        set_password(session, user, password)
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
    return user


def login_with_link(session: Session, raw: str) -> User:
    """Consume a password-less login link; returns the user to log in."""
    token = peek_token(session, raw, "login_link")
    user = _token_user(session, token)
    with session.begin_nested():
        consume_token(session, raw, "login_link")
        user.last_login_at = utcnow()
        session.flush()
    return user
