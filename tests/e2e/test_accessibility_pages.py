"""axe-core (WCAG 2.0/2.1 A and AA) on every page that a facilitator, a delegate, the Ufficio di
Piano and an anonymous visitor reach, in Italian and in English, at desktop and phone sizes.

The page list comes from the application's URL map: every GET route is visited, its parameters
filled from the demo of Pavia (plus a vote round and single-use links made here); a route whose
parameter has no value yet fails the test until it is given one or excluded below with its
reason, so the pages of new areas are checked as soon as they land. A page a role does not
reach (redirected to the login, 403, 404) is left out for that role. Every page with a
breadcrumb must start it at Home (one scheme across the site).

Each run writes test-artifacts/accessibility/<role>-<lang>-<size>.json (pages checked, their
violations); /accessibilita states the result and the date of the check from
workspace/core/accessibility_check.json, updated from those files when the check is run.
"""
from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.e2e.conftest import ARTIFACTS, DESKTOP, PHONE, axe_check, format_violations
from tests.e2e.conftest import login as e2e_login
from workspace.accounts import links
from workspace.accounts.models import Organisation, User
from workspace.db import db, utcnow
from workspace.esiti.models import PreviousObjective
from workspace.minutes.labels import OPENING
from workspace.minutes.models import Verbale
from workspace.needs.models import Bisogno
from workspace.planning.models import Scheda
from workspace.procedures.models import Application, Procedure
from workspace.tavoli.models import Seduta, Tavolo
from workspace.voting import rounds as voting_rounds

DEMO_PASSWORD = "demo-tavoli-pavia"
ROLES = {
    "facilitatore": "facilitatore@pavia.example.org",
    "delegato": "odv@pavia.example.org",
    "ufficio-di-piano": "rup@pavia.example.org",
    "anonimo": None,
}
SIZES = {"desktop": DESKTOP, "telefono": PHONE}

#: Routes that are not pages, with the reason they are not checked here.
EXCLUDED = {
    "static": "file statici",
    "core.set_language": "reindirizza alla pagina di prima",
    "privacy.security_txt": "testo semplice (RFC 9116)",
    "privacy.legacy_security_txt": "reindirizza a /.well-known/security.txt",
    "privacy.export": "scarico JSON dei propri dati",
    "procedures.admin_act_file": "scarico del file dell'atto",
    "procedures.public_act_file": "scarico del file dell'atto",
    "procedures.admin_proxy_file": "scarico della procura",
    "procedures.public_csv": "dati aperti CSV",
    "voting.live_state": "JSON per le pagine in diretta",
    "audit.export": "scarico CSV del registro di audit",
    "minutes.download": "scarico del verbale (PDF/A, ODT, DOCX): letto in tests/minutes",
    "minutes.register": "scarico del registro delle presenze (CSV, ODS)",
    "minutes.public_pdf": "scarico del verbale approvato in PDF/A",
    "minutes.document_css": "foglio di stile dell'anteprima dei documenti",
    "planning.download": "scarico di priorità, schede obiettivo e Documento di Piano (CSV, XLSX, ODS, JSON, ODT, DOCX, PDF)",
    "planning.public_download": "scarico pubblico di priorità e schede obiettivo",
    "sintesi.download": "scarico del documento di sintesi (PDF/A, ODT, DOCX)",
    "sintesi.public_pdf": "scarico pubblico del documento di sintesi approvato (PDF/A)",
    "esiti.download": "scarico della tabella esiti (PDF/A, ODT, DOCX, ODS, XLSX, CSV, JSON)",
    "esiti.public_download": "scarico pubblico della tabella esiti",
    "esiti.template": "scarico del modello da compilare (CSV, XLSX, ODS)",
}


@pytest.fixture(scope="module")
def values(live_app) -> dict:
    """A value for each route parameter, from the demo; a closed vote round and single-use links
    made now (with their own e-mail addresses, so other tests are not touched)."""
    with live_app.app_context():
        s = db.session
        tavolo = s.scalar(select(Tavolo).where(Tavolo.title.like("Tavolo E%")))
        seduta = s.scalar(select(Seduta).where(Seduta.tavolo_id == tavolo.id).order_by(Seduta.id))
        bisogni = s.scalars(select(Bisogno).where(Bisogno.tavolo_id == tavolo.id).order_by(Bisogno.id)).all()
        facilitator = s.scalar(select(User).where(User.email == ROLES["facilitatore"]))
        vote, _event = voting_rounds.create_round(s, facilitator, tavolo, "Priorità (verifica di accessibilità)",
                                                  "approval", [b.id for b in bisogni[:3]],
                                                  opens_at=utcnow() - timedelta(minutes=1),
                                                  closes_at=utcnow() + timedelta(days=3))
        voting_rounds.open_round(s, facilitator, vote)
        org = s.scalar(select(Organisation).order_by(Organisation.id))
        procedure_id = s.scalar(select(Procedure.id).order_by(Procedure.id))
        # The demo's first application (admitted); its delegate already had an account, so the
        # admission sent no link: one is issued here as the admission does for a newcomer.
        application = s.scalar(select(Application).where(Application.procedure_id == procedure_id,
                                                         Application.status == "admitted").order_by(Application.id))
        invitation = links.issue_token(s, "invitation", "invito-procedura@e2e.example.org", name="Ivo Invitato",
                                       organisation=application.organisation)
        application.invitation_token_hash = hashlib.sha256(invitation.encode("utf-8")).hexdigest()
        tokens = {
            "procedures.invitation": invitation,
            "accounts.invitation": links.issue_token(s, "invitation", "invito-a11y@e2e.example.org",
                                                      name="Ilaria Invitata", organisation=org),
            "accounts.reset_password": links.issue_token(s, "password_reset", ROLES["delegato"]),
            "accounts.login_link": links.issue_token(s, "login_link", ROLES["delegato"]),
        }
        result = {
            "tavolo_id": tavolo.id, "seduta_id": seduta.id, "bisogno_id": bisogni[0].id, "round_id": vote.id,
            "procedure_id": procedure_id, "application_id": application.id,
            "organisation_id": org.id, "code": "E", "tokens": tokens,
            "scheda_id": s.scalar(select(Scheda.id).order_by(Scheda.id)),
            # the demo's approved verbale of tavolo E, and its opening section
            "verbale_id": s.scalar(select(Verbale.id).where(Verbale.seduta_id == seduta.id)), "key": OPENING,
            "objective_id": s.scalar(select(PreviousObjective.id).order_by(PreviousObjective.id)),
        }
        s.commit()
        return result


def page_list(app, values: dict) -> list[tuple[str, str]]:
    """(endpoint, path) of every GET page of the app, from its URL map."""
    pages, missing = [], []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods or rule.endpoint in EXCLUDED or rule.rule.startswith(("/api/", "/socket.io")):
            continue
        args = {}
        for name in rule.arguments:
            if name == "token":
                value = values["tokens"].get(rule.endpoint)
            else:
                value = values.get(name)
            if value is None:
                missing.append(f"{rule.endpoint} ({rule.rule}): manca un valore per «{name}»")
            args[name] = value
        if all(v is not None for v in args.values()):
            with app.test_request_context():
                from flask import url_for
                pages.append((rule.endpoint, url_for(rule.endpoint, **args)))
    assert not missing, "pagine senza valori per la verifica (aggiungerli in `values` o in EXCLUDED):\n" + "\n".join(missing)
    return pages


def _reachable(page, response, path: str) -> bool:
    if response is None or 400 <= response.status < 500:  # not for this role, or not in this state (409)
        return False
    return not ("/accedi" in page.url and not path.startswith("/accedi"))


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", ["it", "en"])
@pytest.mark.parametrize("role", list(ROLES))
def test_every_page_passes_axe(browser, live_server, live_app, values, console, role, lang, size):
    pages = page_list(live_app, values)
    context = browser.new_context(base_url=live_server, locale="it-IT", timezone_id="Europe/Rome",
                                  viewport=SIZES[size])
    context.set_default_timeout(15_000)
    page = context.new_page()
    console.attach(page)
    console.allow("/socket.io/?EIO=4")  # leaving a live page while its connection is opening
    try:
        if ROLES[role]:
            e2e_login(page, ROLES[role], DEMO_PASSWORD)
        context.add_cookies([{"name": "tavoli_lang", "value": lang, "url": live_server}])
        checked, failures = [], []
        for endpoint, path in pages:
            if endpoint in ("accounts.login_link", "accounts.invitation", "accounts.reset_password") and ROLES[role]:
                continue  # single-use links are opened by someone not logged in
            response = page.goto(path)
            if not _reachable(page, response, path):
                continue
            assert response.status == 200, f"{path}: {response.status}"
            if page.locator("#live[data-tavolo-id]").count():
                page.wait_for_function("() => document.getElementById('live').dataset.connection === 'connected'")
            assert page.locator("html").get_attribute("lang") == lang, path
            crumbs = page.locator("[data-breadcrumb] li")
            if crumbs.count():
                assert crumbs.first.locator("a").inner_text().strip() == "Home", f"{path}: il percorso non parte da Home"
            violations = axe_check(page)
            checked.append({"endpoint": endpoint, "path": path, "violations": len(violations)})
            if violations:
                failures.append(format_violations(violations, path))
        report = ARTIFACTS / "accessibility" / f"{role}-{lang}-{size}.json"
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps({"role": role, "lang": lang, "size": size, "viewport": SIZES[size],
                                      "checked_at": utcnow().isoformat(timespec="seconds"),
                                      "pages": checked}, ensure_ascii=False, indent=1), encoding="utf-8")
        assert len(checked) >= (8 if ROLES[role] is None else 15), checked
        assert not failures, "\n\n".join(failures)
    finally:
        context.close()


def test_the_page_list_comes_from_the_url_map(live_app, values):
    """New GET routes are part of the check without editing it (and the excluded ones exist)."""
    pages = dict(page_list(live_app, values))
    endpoints = {r.endpoint for r in live_app.url_map.iter_rules()}
    assert set(EXCLUDED) <= endpoints | {"static"}
    for must in ("tavoli.participant", "tavoli.bigscreen", "tavoli.console", "voting.ballot", "needs.bisogno",
                 "core.accessibility", "accounts.invitation"):
        assert must in pages
    assert re.fullmatch(r"/tavoli/\d+/schermo", pages["tavoli.bigscreen"])
