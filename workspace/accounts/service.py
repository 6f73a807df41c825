"""Accounts: organisations, people, memberships, passwords and login (single-use links,
invitations and links by e-mail: ``links.py``).

Plain functions over a SQLAlchemy session, called by the views and directly by tests. Each one
validates everything first and refuses by raising :class:`~workspace.problems.Problem` (Italian
message, HTTP status, and the form field at fault when there is one). Writes happen inside a
SAVEPOINT, so a function that fails leaves nothing of its own behind; the caller commits (views
through ``workspace.web.transaction``) and rolls back after a Problem.

Each change, each login and each failed one is announced to the audit trail
(``signals.action_recorded``, see :func:`announce`) in its transaction; a failed login or password
check is announced as outliving the rollback of its request. People are named by id only.
"""
from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import bindparam, func, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workspace import signals
from workspace.accounts import codice_fiscale as cf_rules
from workspace.accounts.models import (
    ORGANISATION_KINDS,
    RUNTS_SECTIONS,
    LoginSession,
    Membership,
    Organisation,
    User,
    new_login_id,
)
from workspace.db import utcnow
from workspace.i18n import gettext as _
from workspace.problems import Problem, invalid, invalid_fields, not_found, throttled
from workspace.ratelimit import LoginThrottle, Throttled
from workspace.serving import offload
from workspace.text import clean as typed_text

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024  # argon2 accepts more, but nobody types a novel: refuse obvious abuse

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


def _hash(password: str) -> str:
    # argon2 is CPU-bound (~150 ms): off the event loop when served under gevent (workspace/serving.py).
    return offload(_hasher.hash, password)


def _check(password_hash: str, password: str) -> bool:
    return offload(_hasher.verify, password_hash, password)


_dummy_hash: str | None = None


# --------------------------------------------------------------------------- the audit trail


def announce(session: Session, actor: User | None, action: str, object_type: str | None = None,
             object_id: int | None = None, *, outlives_rollback: bool = False, **details: Any) -> None:
    """Tell the audit trail about an action of this area (ids and codes only: never a name, an
    address or a secret). ``outlives_rollback``: recorded even if the request is rolled back."""
    extra: dict[str, Any] = {"outlives_rollback": True} if outlives_rollback else {}
    signals.action_recorded.send(session, actor=actor, action=action, object_type=object_type,
                                 object_id=object_id, details=details, **extra)


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


def clean_text(value: str | None, *, field: str, label: str, max_length: int) -> str:
    """A required one-line text (a name): spaces folded, at most ``max_length`` characters."""
    text = " ".join(typed_text(value or "", label, field).split())
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

    clean["name"] = attempt("name", lambda: clean_text(name, field="name", label=_("Denominazione"),
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
    actor: User | None = None,
) -> Organisation:
    """A new organisation. ETS need a valid 11-digit codice fiscale, RUNTS section and repertorio;
    a codice fiscale already registered is refused with 409. ``actor``: who creates it (the audit trail)."""
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
            announce(session, actor, "organisation.created", "organisation", org.id, kind=org.kind,
                     ambito_code=org.ambito_code)
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


# Built once with a bound parameter: building a statement and its cache key cost about as much as
# running this one.
_FIRST_ORGANISATION = (select(Organisation).join(Membership, Membership.organisation_id == Organisation.id)
                       .where(Membership.user_id == bindparam("user_id")).order_by(Membership.id).limit(1))


def first_organisation(session: Session, user: User) -> Organisation | None:
    """``user.organisations[0]``, from one query instead of the property's two lazy loads (the
    memberships, then the organisation): asked by every live page and every contribution of a person
    whose role at the tavolo names no organisation."""
    if "memberships" not in sa_inspect(user).unloaded:
        return user.organisations[0] if user.organisations else None
    return session.scalars(_FIRST_ORGANISATION, {"user_id": user.id}).first()


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def create_user(
    session: Session,
    *,
    email: str,
    name: str,
    password: str | None = None,
    is_admin: bool = False,
    actor: User | None = None,
) -> User:
    """A new person; the e-mail is the identity (lower-case, unique: 409 when taken). ``actor``: who
    creates the account, for the audit trail (None: the person themselves, or the system)."""
    email = normalise_email(email)
    name = clean_text(name, field="name", label=_("Nome e cognome"), max_length=200)
    if password is not None:
        check_password(password, email=email)
    duplicate = _("Esiste già un account con l'indirizzo %(email)s.", email=email)
    if find_user(session, email) is not None:
        raise Problem("conflict", duplicate, 409, field="email")
    user = User(email=email, name=name, is_admin=bool(is_admin), active=True, login_id=new_login_id())
    if password is not None:
        user.password_hash = _hash(password)
    try:
        with session.begin_nested():
            session.add(user)
            session.flush()
            announce(session, actor, "user.created", "user", user.id, is_admin=user.is_admin)
            if user.is_admin:
                announce(session, actor, "admin.granted", "user", user.id)
    except IntegrityError as exc:
        raise Problem("conflict", duplicate, 409, field="email") from exc
    return user


def set_password(session: Session, user: User, password: str, *, field: str = "password") -> None:
    """Hash and store; rotating ``login_id`` ends every other session and remember-me cookie."""
    check_password(password, email=user.email, field=field)
    user.password_hash = _hash(password)
    user.login_id = new_login_id()
    session.flush()


def _verify(password_hash: str | None, password: str) -> bool:
    global _dummy_hash
    if not password_hash:
        # Same cost as a real check, so response times do not reveal which addresses exist.
        if _dummy_hash is None:
            _dummy_hash = _hash(secrets.token_urlsafe(16))
        password_hash = _dummy_hash
        try:
            _check(password_hash, password)
        except (VerificationError, InvalidHashError):
            pass
        return False
    try:
        return _check(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def account_disabled() -> Problem:
    """Refusal for a person whose account the Ufficio di Piano has switched off."""
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
    if user is None:
        _verify(None, password or "")  # the same argon2 cost: timing does not tell who has an account
        raise bad
    if not _verify(user.password_hash, password or ""):
        raise bad
    if not user.active:
        raise account_disabled()
    if user.password_hash and _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hash(password)
    user.last_login_at = utcnow()
    session.flush()
    return user


def _login_address(email: str) -> str:
    try:
        return normalise_email(email)  # variants of one address share one counter
    except Problem:
        return (email or "").strip().lower()


def login_with_password(session: Session, limiter: LoginThrottle, email: str, password: str,
                        ip: str | None) -> User:
    """authenticate() behind the login throttle (per address and IP pair, increasing waits: see
    ``workspace.ratelimit``): a waiting attempt never reaches argon2 (429)."""
    address = _login_address(email)
    try:
        limiter.check_login(address, ip)
    except Throttled as exc:
        raise throttled(exc.message, exc.retry_after) from exc
    try:
        user = authenticate(session, email, password)
    except Problem as exc:
        if exc.code == "bad_credentials":
            limiter.failed_login(address, ip)  # in the limiter's store, not the database: the rollback keeps it
        if exc.code in ("bad_credentials", "account_disabled"):
            _failed_login(session, email, exc.code)
        raise
    limiter.succeeded_login(address, ip)
    announce(session, user, "login.succeeded", "user", user.id, method="password")
    return user


def _failed_login(session: Session, email: str, reason: str) -> None:
    """A failed login for the audit trail: the account it aimed at by id when there is one (the
    address typed is not kept), written even though the request is rolled back. Throttled attempts
    are not recorded: they never reach the password check and would let anyone fill the trail."""
    try:
        account = find_user(session, normalise_email(email))
    except Problem:
        account = None
    announce(session, None, "login.failed", "user" if account else None, account.id if account else None,
             outlives_rollback=True, reason=reason, known_account=account is not None)


def open_login(session: Session, user: User, *, remember: bool = False) -> str:
    """Start one login (a browser, a device) of ``user``: the id its session and remember-me
    cookies carry (``user.get_id()`` from now on in this request)."""
    from workspace.accounts.auth import key_hash

    key = secrets.token_urlsafe(24)
    session.add(LoginSession(user_id=user.id, key_hash=key_hash(key), remember=bool(remember)))
    session.flush()
    user.login_key = key
    return user.get_id()


def _live_logins(user: User):
    return select(LoginSession).where(LoginSession.user_id == user.id, LoginSession.ended_at.is_(None))


def logged_out(session: Session, user: User) -> None:
    """The person logs out of this login: its cookies (session and remember-me) stop working on
    the server; the person's other devices stay logged in. Announced to the audit trail."""
    from workspace.accounts.auth import key_hash

    if user.login_key:
        login = session.scalar(_live_logins(user).where(LoginSession.key_hash == key_hash(user.login_key)))
        if login is not None:
            login.ended_at = utcnow()
    session.flush()
    announce(session, user, "logout", "user", user.id)


def logged_out_everywhere(session: Session, user: User) -> int:
    """"Esci da tutti i dispositivi": every login of the person ends, and ``login_id`` rotates so
    no cookie made before now works anywhere. Returns how many logins were ended."""
    now = utcnow()
    logins = list(session.scalars(_live_logins(user)))
    for login in logins:
        login.ended_at = now
    user.login_id = new_login_id()
    user.login_key = None
    session.flush()
    announce(session, user, "logout.everywhere", "user", user.id, logins=len(logins))
    return len(logins)


def change_password(session: Session, limiter: LoginThrottle, user: User, current: str | None, new: str,
                    ip: str | None = None) -> None:
    """From the profile page: the current password is required when one exists (and throttled)."""
    check_password(new, email=user.email, field="new_password")
    if user.password_hash:
        try:
            limiter.check_login(user.email, ip)
        except Throttled as exc:
            raise throttled(exc.message, exc.retry_after, field="current_password") from exc
        if not _verify(user.password_hash, current or ""):
            limiter.failed_login(user.email, ip)
            announce(session, user, "password.change_failed", "user", user.id, outlives_rollback=True)
            raise invalid(_("La password attuale non è corretta."), "current_password")
    set_password(session, user, new, field="new_password")
    announce(session, user, "password.changed", "user", user.id)


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


def add_membership(session: Session, user: User, organisation: Organisation, role: str = "delegate", *,
                   actor: User | None = None) -> Membership:
    """``user`` as delegate of ``organisation``; adding an existing membership returns it. ``actor``:
    who adds it (the audit trail; by default the person themselves)."""
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
            announce(session, actor or user, "membership.added", "organisation", organisation.id, user_id=user.id,
                     role=role)
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
