"""Helpers shared by the test suites: CSRF-aware posting, named objects, logging in, reading mail,
and ``refused``: a refusal that leaves nothing behind in the database.

Objects are made through the real services (so tests exercise the same validation) and committed,
because the test client runs its requests in its own session.

A note on contexts: the ``session`` fixture keeps an app context open; client requests made while
it is open reuse it (and its database session). Prefer short ``with app.app_context():`` blocks
around database work when a test also drives the client.
"""
from __future__ import annotations

import email
import email.policy
import itertools
import re
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

DEFAULT_PASSWORD = "password-di-prova-123"

_CSRF_RE = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', re.S)
_CSRF_RE_REVERSED = re.compile(r'<input[^>]*value="([^"]+)"[^>]*name="csrf_token"', re.S)
_counter = itertools.count(1)


def csrf_token_from(html: str) -> str:
    """The value of the first ``csrf_token`` hidden input in ``html``."""
    match = _CSRF_RE.search(html) or _CSRF_RE_REVERSED.search(html)
    if match is None:
        raise AssertionError("nessun campo csrf_token nella pagina")
    return match.group(1)


def csrf_post(client, path: str, data: dict | None = None, page: str | None = None, **kwargs):
    """GET ``page`` (default: ``path``), take its CSRF token and POST ``data`` to ``path``."""
    response = client.get(page or path)
    assert response.status_code == 200, f"GET {page or path} -> {response.status_code}"
    payload = dict(data or {})
    payload["csrf_token"] = csrf_token_from(response.get_data(as_text=True))
    return client.post(path, data=payload, **kwargs)


def make_org(session: Session, **kw):
    """An organisation through ``create_organisation``; defaults to a Comune with a unique name.

    For an ETS pass ``kind="ets"``; a valid codice fiscale, RUNTS section and repertorio are
    filled in unless given."""
    from workspace.accounts import service

    n = next(_counter)
    kw.setdefault("name", f"Organizzazione di prova {n}")
    kw.setdefault("kind", "comune")
    if kw["kind"] == "ets":
        kw.setdefault("codice_fiscale", valid_numeric_cf(90000000 + n * 7919 % 1000000))
        kw.setdefault("runts_section", "aps")
        kw.setdefault("runts_repertorio", str(1000 + n))
    org = service.create_organisation(session, **kw)
    session.commit()
    return org


def make_user(session: Session, email: str, password: str | None = DEFAULT_PASSWORD, admin: bool = False,
              org=None, name: str | None = None):
    """A person (optionally admin, optionally delegate of ``org``) through the services."""
    from workspace.accounts import service

    user = service.create_user(
        session, email=email, name=name or email.split("@")[0].replace(".", " ").title(),
        password=password, is_admin=admin,
    )
    if org is not None:
        service.add_membership(session, user, org)
    session.commit()
    return user


def login(client, email: str, password: str = DEFAULT_PASSWORD, **extra):
    """Log in through the real login form; returns the response (302 on success)."""
    return csrf_post(client, "/accedi", {"email": email, "password": password, **extra})


def logout(client):
    """Log out through the header's form (POST with the CSRF token)."""
    return csrf_post(client, "/esci", {}, page="/")


def valid_numeric_cf(first: int | str) -> str:
    """An 11-digit codice fiscale with a correct check digit, from up to ten leading digits."""
    body = str(first).zfill(10)[-10:]
    total = 0
    for i, ch in enumerate(body):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


# --------------------------------------------------------------------------- mail written to MAIL_DIR


def mail_files(app) -> list[Path]:
    directory = Path(app.config["MAIL_DIR"])
    return sorted(directory.glob("*.eml")) if directory.exists() else []


def read_mail(path: Path) -> email.message.EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def mail_text(message: email.message.EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def last_mail(app, to: str | None = None) -> email.message.EmailMessage:
    """The newest message written to MAIL_DIR (optionally the newest one to ``to``)."""
    for path in reversed(mail_files(app)):
        message = read_mail(path)
        if to is None or message["To"] == to:
            return message
    raise AssertionError(f"nessuna e-mail{' per ' + to if to else ''} in {app.config['MAIL_DIR']}")


def link_in_mail(message: email.message.EmailMessage, base_url: str) -> str:
    """The path (relative to ``base_url``) of the first link under ``base_url`` in the text body."""
    text = mail_text(message)
    match = re.search(re.escape(base_url.rstrip("/")) + r"(/\S+)", text)
    if match is None:
        raise AssertionError(f"nessun link {base_url} nell'e-mail:\n{text}")
    return match.group(1)


# --------------------------------------------------------------------------- the database, counted


def reference_tables() -> set[str]:
    """Tables of the reference module (mapped classes and plain association tables)."""
    from sqlalchemy import Table

    from workspace.db import Base
    from workspace.reference import models as reference_models

    mapped = {m.local_table.name for m in Base.registry.mappers
              if m.class_.__module__.startswith("workspace.reference")}
    plain = {t.name for t in vars(reference_models).values() if isinstance(t, Table)}
    return mapped | plain


def working_tables() -> list:
    """Every table but the reference data, parents first: what the application writes to."""
    import workspace.models  # noqa: F401  (complete metadata)
    from workspace.db import Base

    keep = reference_tables()
    return [t for t in Base.metadata.sorted_tables if t.name not in keep]


def database_footprint(session: Session) -> dict[str, object]:
    """Everything outside the reference data: the rows of each table (in primary-key order), and the
    event counter of each tavolo. Tables are counted in one query; only non-empty ones are read."""
    from workspace.record import RecordStream

    tables = working_tables()
    counts = session.execute(text("SELECT " + ", ".join(f'(SELECT count(*) FROM "{t.name}")' for t in tables))).one()
    rows: dict[str, object] = {
        table.name: [tuple(r) for r in session.execute(select(table).order_by(*table.primary_key.columns))]
        if n else []
        for table, n in zip(tables, counts, strict=True)
    }
    rows["(event counters)"] = dict(session.execute(select(RecordStream.tavolo_id, RecordStream.last_seq)).all())
    return rows


def footprint_changes(before: dict, after: dict) -> list[str]:
    """What differs between two ``database_footprint``s, in words."""
    changes = []
    for name, old in before.items():
        new = after[name]
        if old == new:
            continue
        if isinstance(old, dict):
            changes.append(f"{name}: {old} -> {new}")
        elif len(old) != len(new):
            changes.append(f"{name}: {len(old)} -> {len(new)} righe")
        else:
            changes.append(f"{name}: righe modificate")
    return changes


def refused(session: Session, fn, code: str, status: int, *fragments: str):
    """``fn()`` must raise ``workspace.problems.Problem`` with this code and HTTP status, an Italian
    message containing each of ``fragments``, and leave nothing behind. The session is COMMITTED
    after the refusal (as a careless caller would), then the database must be what it was: same
    rows in every table outside the reference data, same event counter of every tavolo. So a
    service that wrote (or changed) a row and then raised is caught. Returns the Problem."""
    from workspace.problems import Problem

    before = database_footprint(session)
    with pytest.raises(Problem) as caught:
        fn()
    problem = caught.value
    assert (problem.code, problem.status) == (code, status), (problem.code, problem.status, problem.message)
    assert problem.message and problem.message == str(problem)
    for fragment in fragments:
        assert fragment in problem.message, problem.message
    assert problem.as_ack() == {"error": code, "message": problem.message}
    session.commit()
    changes = footprint_changes(before, database_footprint(session))
    assert not changes, "il rifiuto ha lasciato tracce nel database: " + "; ".join(changes)
    return problem
