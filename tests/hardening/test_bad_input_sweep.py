"""The bad-input sweep of issue 12: every form (every POST route of the URL map) and every live
event (the realtime handler registry) gets oversized, malformed, wrong-type and Unicode-edge values.

Each answer must be a 4xx with an Italian message (text no person typed: always 422; a body that is
not UTF-8: always 400), or a success that ignored the value; never a 500, never an error in the log
(no traceback), and a refused request leaves the database as it was. The routes and events come
from the application, so a new one is swept without touching this file."""
from __future__ import annotations

import itertools
import logging
import re
from urllib.parse import quote

import pytest
from flask_wtf import FlaskForm
from wtforms import Form

from tests.hardening.sweep_values import BAD_ENCODING, FORBIDDEN, LIVE_SHAPES, LIVE_VALUES, SURVIVE
from tests.helpers import working_tables
from tests.minutes.support import scripted_seduta, to_review
from tests.world import login_client
from workspace import realtime
from workspace.db import db
from workspace.ids import parse_id

pytestmark = pytest.mark.filterwarnings("ignore")
ITALIAN = re.compile(r"\b(non|obbligatori[oa]|campo|valid[oa]|carattere|troppo|scegliere|errore|accesso|"
                     r"inesistente|permessi|modulo|richiesta|pagina)\b", re.I)
SKIP_RULES = {"/esci", "/esci-da-tutti-i-dispositivi", "/privacy/elimina"}  # they end the session or the account:
# swept apart, with the values refused before the view only (test_session_ending_forms_refuse_bad_values)
# A refused login is recorded in the audit trail on purpose: the one write a refusal may leave.
AUDIT = ("audit_entry", "audit_head")
counts = {"http_requests": 0, "http_routes": 0, "live_messages": 0, "live_events": 0}


def _all_forms(base=(FlaskForm, Form)):
    seen, todo = set(), list(base)
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
    return [c for c in seen if c.__module__.startswith("workspace.")]


def field_names() -> list[str]:
    """Every field of every form of the application (prefixes as the views use them), and the
    names views read straight from ``request.form``."""
    import workspace.models  # noqa: F401

    names = {"rup_id", "key_points", "comuni", "parent_id", "into", "version", "op_id", "next", "tavolo_id",
             "t-tavolo_id", "w-item_id"}
    for cls in _all_forms():
        for name in dir(cls):
            value = getattr(cls, name, None)
            if hasattr(value, "field_class"):
                names.add(name)
    names.discard("csrf_token")
    return sorted(names)


def _ids(s) -> dict[str, int]:  # s: the Scripted seduta
    from sqlalchemy import select

    from workspace.minutes.models import VerbaleRemark as Remark
    from workspace.needs.models import Annotation

    annotation = db.session.scalar(select(Annotation.id).order_by(Annotation.id))
    remark = db.session.scalar(select(Remark.id).order_by(Remark.id))
    return {"tavolo_id": s.tavolo.id, "procedure_id": s.tavolo.procedure_id, "seduta_id": s.seduta.id,
            "bisogno_id": s.first, "annotation_id": annotation or 1, "round_id": s.round_id,
            "verbale_id": s.verbale_id, "remark_id": remark or 1, "organisation_id": s.ets.id,
            "user_id": s.delegate.id, "application_id": 1}


def _url(rule, ids: dict[str, int]) -> str:
    url = rule.rule
    for arg in rule.arguments:
        url = re.sub(rf"<(?:[a-z]+(?:\([^)]*\))?:)?{arg}>", str(ids.get(arg, 1)) if arg.endswith("_id") else "x", url)
    return url


@pytest.fixture
def sweep_world(app, make):
    with make() as s:
        scripted = scripted_seduta(s)
        to_review(s, scripted)
        from workspace.minutes import review
        from workspace.minutes.service import verbale_of

        review.file_remark(s, scripted.delegate, verbale_of(s, scripted.seduta.id), None, "Osservazione di prova.")
        s.commit()
        return scripted, _ids(scripted)


def _post_rules(app):
    return sorted((r for r in app.url_map.iter_rules()
                   if "POST" in r.methods and not r.rule.startswith("/static") and r.rule not in SKIP_RULES),
                  key=lambda r: r.rule)


def database_footprint(session) -> dict[str, int]:
    """Rows per working table and each tavolo's event counter, in one query (cheap enough to take
    around each of thousands of requests)."""
    from sqlalchemy import text

    tables = [t.name for t in working_tables()]
    row = session.execute(text("SELECT " + ", ".join(f'(SELECT count(*) FROM "{t}")' for t in tables)
                               + ', (SELECT coalesce(sum(last_seq), 0) FROM record_stream)')).one()
    return dict(zip([*tables, "(event counters)"], row, strict=True))


def footprint_changes(before: dict, after: dict) -> list[str]:
    return [f"{name}: {before[name]} -> {after[name]}" for name in before if before[name] != after[name]]


def _check(response, label: str, refused_status: set[int] | None, before, after_fn):
    status = response.status_code
    assert status < 500, (label, status)
    if refused_status is not None:
        assert status in refused_status, (label, status, response.get_data(as_text=True)[-1500:])
    if 400 <= status < 500:
        body = response.get_data(as_text=True)
        assert ITALIAN.search(body), (label, status, body[:300])
        changes = [c for c in footprint_changes(before, after_fn()) if not c.startswith(AUDIT)]
        assert not changes, (label, status, changes)


def test_every_form_survives_bad_values(app, sweep_world, caplog):
    scripted, ids = sweep_world
    names = field_names()
    assert len(names) > 60
    rules = _post_rules(app)
    assert len(rules) > 40
    caplog.set_level(logging.WARNING)

    def footprint():
        # A short app context each time: one held open would share ``g`` (user, CSRF) with the requests.
        with app.app_context():
            return database_footprint(db.session)

    people = {who.email: login_client(app, who) for who in (scripted.admin, scripted.facilitator, scripted.delegate)}
    for rule in rules:
        url = _url(rule, ids)
        # The first person the route does not refuse outright (403): the values must reach its checks.
        for client, token in people.values():
            if client.post(url, data={"csrf_token": token}).status_code != 403:
                break
        counts["http_routes"] += 1
        for kind, value in itertools.chain(FORBIDDEN.items(), SURVIVE.items()):
            before = footprint()
            response = client.post(url, data={**{name: value for name in names}, "csrf_token": token})
            counts["http_requests"] += 1
            _check(response, f"{url} {kind}", {422} if kind in FORBIDDEN else None, before, footprint)
        for kind, raw in BAD_ENCODING.items():
            before = footprint()
            body = f"csrf_token={token}&".encode() + b"&".join(quote(n).encode() + b"=a" + raw for n in names)
            response = client.post(url, data=body, content_type="application/x-www-form-urlencoded")
            counts["http_requests"] += 1
            _check(response, f"{url} {kind}", {400}, before, footprint)
    for client, _token in people.values():
        assert client.get("/").status_code == 200  # the server is alive
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not errors, [r.getMessage() for r in errors[:5]]
    print(f"\nsweep HTTP: {counts['http_routes']} route, {counts['http_requests']} richieste, {len(names)} campi")


def test_session_ending_forms_refuse_bad_values(app, sweep_world):
    """Logout, logout everywhere and account deletion: a forbidden character or a bad encoding is
    refused before the view runs, so the person is still logged in and nothing changed."""
    scripted, _ids = sweep_world
    names = field_names()
    client, token = login_client(app, scripted.delegate)

    def footprint():
        with app.app_context():
            return database_footprint(db.session)

    for url in sorted(SKIP_RULES):
        for kind, value in FORBIDDEN.items():
            before = footprint()
            response = client.post(url, data={**{name: value for name in names}, "csrf_token": token})
            _check(response, f"{url} {kind}", {422}, before, footprint)
        for kind, raw in BAD_ENCODING.items():
            before = footprint()
            body = f"csrf_token={token}&".encode() + b"&".join(quote(n).encode() + b"=a" + raw for n in names)
            response = client.post(url, data=body, content_type="application/x-www-form-urlencoded")
            _check(response, f"{url} {kind}", {400}, before, footprint)
        assert client.get("/profilo").status_code == 200, f"{url}: l'accesso non deve essere chiuso"


def _live_properties(handler) -> list[str]:
    """The properties a handler's schema declares (read from its closure), or common ones."""
    props: set[str] = set()
    for cell in getattr(handler, "__closure__", None) or ():
        value = cell.cell_contents
        schema = getattr(value, "schema", None)
        if isinstance(schema, dict) and isinstance(schema.get("properties"), dict):
            props |= set(schema["properties"])
    return sorted(props - {"op_id", "tavolo_id"}) or ["bisogno_id", "title", "body", "text"]


def test_every_live_event_answers_bad_values_with_an_error_ack(app, sweep_world, connect, caplog):
    scripted, ids = sweep_world
    handlers = realtime.handlers(app)
    events = sorted(set(handlers) - {"connect", "disconnect"})
    assert len(events) > 15
    client = connect(scripted.facilitator)
    caplog.set_level(logging.WARNING)
    serial = itertools.count()

    def footprint():
        with app.app_context():
            return database_footprint(db.session)

    for event in events:
        counts["live_events"] += 1
        props = _live_properties(handlers[event])
        messages = list(LIVE_SHAPES)
        for value in LIVE_VALUES.values():
            messages.append({"op_id": f"sweep-{next(serial):06d}", "tavolo_id": scripted.tavolo.id,
                             **{p: value for p in props}})
        for message in messages:
            before = footprint()
            ack = client.emit(event, message, namespace="/live", callback=True)
            counts["live_messages"] += 1
            label = f"{event} {str(message)[:80]!r}"
            if event == "leave" and ack == {"ok": True} and isinstance(message, dict) \
                    and parse_id(message.get("tavolo_id")) is not None:
                continue  # leaving a room ignores other keys: nothing to refuse, nothing written
            assert isinstance(ack, dict) and "error" in ack, (label, ack)
            assert ack["error"] != "internal", (label, ack)
            assert ITALIAN.search(ack.get("message") or ""), (label, ack)
            changes = [c for c in footprint_changes(before, footprint())
                       if not c.startswith(AUDIT)]
            assert not changes, (label, changes)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not errors, [r.getMessage() for r in errors[:5]]
    print(f"\nsweep live: {counts['live_events']} eventi, {counts['live_messages']} messaggi")
