"""The declared permission policy (workspace/policy.py) tried end to end (issue #12).

Every route of the URL map (its GET, and its POST with an empty form carrying a valid CSRF token)
and every Socket.IO event of /live is tried by nine roles: anonymous, observer, delegate of another
organisation, member of another tavolo of the procedure, member of a tavolo of another procedure
(the world's outsider), delegate, Comune, facilitator, administrator of the Ufficio di Piano. Each outcome is recorded as "ok" (past the permission checks: 2xx, a redirect that is not
to the login page, or a refusal of the *content* such as 400/409/422) or refused ("login", 403
"forbidden", 404 "missing"); the test fails on any difference from the policy's rows, and on a
route or event with no row — printing the lines to add.

Each route is tried inside a savepoint rolled back afterwards, so a POST that changes something
(removing a member, closing a round) cannot change what the next routes see; within a route the
roles the policy refuses go first, so what they get is not affected by an allowed role's change.
"""
from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select

from tests.helpers import csrf_token_from
from tests.world import login_client
from workspace import policy

REFUSED = {"login", "forbidden", "missing"}


@dataclass
class Probe:
    ids: dict[str, object]
    users: dict[str, int]  # role -> user id (anonymous has none)


def _setup(session) -> Probe:
    from tests.minutes.support import publish_procedure, scripted_seduta
    from tests.world import make_person
    from workspace.minutes.generation import section_keys
    from workspace.minutes.models import Verbale
    from workspace.needs.models import Annotation
    from workspace.tavoli import membership

    s = scripted_seduta(session)
    publish_procedure(session, s)  # its public pages exist (the verbale stays a draft: not public)
    w = s.w
    comune_person = make_person(session, "Cora Comune", "comune@prova.example.org", w.comune)
    membership.set_role(session, w.admin, w.tavolo, comune_person, "delegate", w.comune)
    from tests.tavoli.support import second_tavolo

    other, _seduta, _b, _a = second_tavolo(session, w)
    elsewhere = make_person(session, "Elio Altrove", "altrove@prova.example.org", w.ets2)
    membership.set_role(session, w.admin, other, elsewhere, "facilitator")
    _another_procedure(session, w)
    session.commit()
    annotation = session.scalar(select(Annotation).where(Annotation.author_id == w.delegate.id,
                                                         Annotation.bisogno_id == s.first))
    verbale = session.get(Verbale, s.verbale_id)
    keys = section_keys(verbale.generated or {})
    objective_id, scheda_id = _planning_and_esiti(session, w, s)
    _sintesi_in_review(session, w)
    ids = {
        "tavolo_id": w.tavolo.id, "seduta_id": w.seduta.id, "bisogno_id": s.first,
        "annotation_id": annotation.id if annotation else 999999, "round_id": s.round_id,
        "verbale_id": s.verbale_id, "remark_id": 999999, "procedure_id": w.tavolo.procedure_id,
        "application_id": 999999, "organisation_id": w.ets2.id, "user_id": w.observer.id,
        "code": "E", "fmt": "html", "key": keys[0] if keys else "x", "token": "link-che-non-esiste-0123456789",
        "filename": "css/tavoli.css", "objective_id": objective_id, "scheda_id": scheda_id, "what": "priorita",
    }
    users = {"observer": w.observer.id, "other_org": w.delegate2.id, "other_tavolo": elsewhere.id,
             "other_procedure": w.outsider.id,
             "delegate": w.delegate.id, "comune": comune_person.id, "facilitator": w.facilitator.id,
             "admin": w.admin.id}
    return Probe(ids, users)


def _another_procedure(session, w) -> None:
    """The world's outsider facilitates a tavolo of another procedure of the same ambito: a person
    with a tavolo, but none of the probe procedure's."""
    from datetime import timedelta

    from tests.world import AMBITO
    from workspace.db import utcnow
    from workspace.procedures import lifecycle as procedures
    from workspace.tavoli import membership

    now = utcnow()
    procedure = procedures.create_procedure(session, w.admin, AMBITO, "Co-programmazione disabilità 2026", rup=w.admin)
    tavolo = membership.create_tavolo(session, w.admin, procedure, "Tavolo disabilità", ["D"],
                                      opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=10))
    membership.set_role(session, w.admin, tavolo, w.outsider, "facilitator")


def _planning_and_esiti(session, w, s) -> tuple[int, int]:
    """The new areas' objects in the probe's (published) procedure: an objective of the previous
    programming (esiti); on the scripted seduta's closed round, the Ufficio di Piano's disposition
    on its first bisogno and a complete scheda obiettivo "pronta" answering it, and the planning
    published (planning). Returns (objective id, scheda id)."""
    from tests.esiti.support import row
    from tests.planning.support import complete_values
    from workspace.esiti import service as esiti
    from workspace.planning import service as planning
    from workspace.procedures.models import Procedure

    procedure = session.get(Procedure, w.tavolo.procedure_id)
    objective = esiti.create(session, w.admin, procedure, row())
    planning.record_disposition(session, w.admin, s.first, "accolto", "Rientra nelle risorse del Piano.")
    card = planning.create_scheda(session, w.admin, procedure, [s.first], "E")
    planning.update_scheda(session, w.admin, card, values=complete_values(session, "E"), macroarea_code="E")
    planning.set_ready(session, w.admin, card)
    planning.publish(session, w.admin, procedure)
    session.commit()
    return objective.id, card.id


def _sintesi_in_review(session, w) -> None:
    """The procedure with its tavoli in progress (set directly, as tests/sintesi/support.py does) and
    its documento di sintesi sent for review: readable by the procedure's tavoli, written by the
    Ufficio di Piano; not approved, so not public (approving it concludes the procedure)."""
    from workspace.procedures.models import Procedure
    from workspace.sintesi import service as sintesi

    procedure = session.get(Procedure, w.tavolo.procedure_id)
    procedure.status = sintesi.READY_STATUS
    documento = sintesi.create_draft(session, w.admin, procedure)
    sintesi.save_introduction(session, w.admin, documento, "La procedura ha coinvolto gli enti del territorio.",
                              documento.version)
    sintesi.send_for_review(session, w.admin, documento)
    session.commit()


def _outcome(response) -> str:
    status = response.status_code
    if status == 401 or (status in (301, 302, 303) and "/accedi" in response.headers.get("Location", "")):
        return "login"
    if status == 403:
        return "forbidden"
    if status == 404:
        return "missing"
    if status >= 500:
        return f"error {status}"
    return "ok"


def _path(rule, ids) -> str:
    path = rule.rule
    for arg in rule.arguments:
        for conv in ("int:", "path:", ""):
            path = path.replace(f"<{conv}{arg}>", str(ids[arg]))
    if rule.endpoint == "core.set_language":
        path = "/lingua/en"
    if "fmt" in rule.arguments and rule.endpoint.split(".")[0] in ("esiti", "planning"):
        path = path.replace("/esporta/html", "/esporta/csv").replace(".html", ".csv")
    if rule.endpoint == "planning.download":
        path += f"?tavolo={ids['tavolo_id']}"  # a member downloads their own tavolo's (the whole: the Ufficio)
    if rule.endpoint == "minutes.register":
        path = path.replace("registro.html", "registro.csv")
    return path


def _restore(clients, cookies) -> None:
    """Every client back to its login (a route such as /esci ends it; the savepoint brings the
    login back in the database, this brings the cookie back)."""
    for role, (client, _token) in clients.items():
        client.set_cookie("session", cookies[role])


def _clients(app, probe: Probe) -> dict[str, tuple[object, str]]:
    from workspace.accounts.models import User
    from workspace.db import db

    clients = {}
    anonymous = app.test_client()
    clients["anonymous"] = (anonymous, csrf_token_from(anonymous.get("/accedi").get_data(as_text=True)))
    for role, user_id in probe.users.items():
        with app.app_context():
            user = db.session.get(User, user_id)
        clients[role] = login_client(app, user)
    return clients


def _connection(app):
    return app.extensions["tavoli_db"]["session"].session_factory.kw["bind"]


def _audience_named(roles: set[str]) -> str:
    for name, allowed in policy.AUDIENCES.items():
        if set(allowed) == roles:
            return name
    return "?" + "+".join(sorted(roles))


def _ordered(expected_ok: frozenset[str] | None) -> list[str]:
    if expected_ok is None:
        return list(policy.ROLES)
    return [r for r in policy.ROLES if r not in expected_ok] + [r for r in policy.ROLES if r in expected_ok]


def test_every_route_and_role_matches_the_policy(app, make):

    with make() as s:
        probe = _setup(s)
    clients = _clients(app, probe)
    cookies = {role: client.get_cookie("session").value for role, (client, _t) in clients.items()}
    connection = _connection(app)
    seen: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)  # (endpoint, method) -> role -> outcome
    differences: list[str] = []
    missing_rows: list[str] = []
    probes = 0
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint, r.rule)):
        row = policy.HTTP.get(rule.endpoint)
        get_aud, post_aud = policy.audiences_of(row) if row else (None, None)
        path = _path(rule, probe.ids)
        for method, audience in (("GET", get_aud), ("POST", post_aud)):
            if method not in (rule.methods or ()):
                continue
            expected_ok = policy.allowed(audience) if audience else None
            savepoint = connection.begin_nested()
            _restore(clients, cookies)
            try:
                for role in _ordered(expected_ok):
                    client, token = clients[role]
                    if method == "GET":
                        response = client.get(path)
                    else:
                        response = client.post(path, data={"csrf_token": token})
                    outcome = _outcome(response)
                    seen[(rule.endpoint, method)][role] = outcome
                    probes += 1
                    if expected_ok is None:
                        continue
                    want_ok = role in expected_ok
                    if outcome.startswith("error") or want_ok != (outcome == "ok"):
                        differences.append(f"{method} {path} [{rule.endpoint}] {role}: {outcome} "
                                           f"(policy «{audience}»: {'ok' if want_ok else 'rifiutato'})")
            finally:
                app.extensions["tavoli_db"]["session"].remove()
                savepoint.rollback()
        if row is None:
            observed = {m: _audience_named({r for r, o in seen[(rule.endpoint, m)].items() if o == "ok"})
                        for m in ("GET", "POST") if (rule.endpoint, m) in seen}
            get_name = observed.get("GET") or observed.get("POST")
            post_name = observed.get("POST", get_name)
            value = get_name if get_name == post_name or "POST" not in observed or "GET" not in observed \
                else f"{get_name}/{post_name}"
            missing_rows.append(f'    "{rule.endpoint}": "{value}",')
    if os.environ.get("TAVOLI_POLICY_RECORD"):
        for (endpoint, method), outcomes in sorted(seen.items()):
            print(endpoint, method, " ".join(f"{r}={outcomes.get(r)}" for r in policy.ROLES))
    unknown = sorted(set(policy.HTTP) - {r.endpoint for r in app.url_map.iter_rules()})
    problems = []
    if missing_rows:
        problems.append("Route senza riga nella politica: aggiungere a HTTP in workspace/policy.py, dopo averle "
                        "verificate (pubblico osservato):\n" + "\n".join(missing_rows))
    if differences:
        problems.append(f"{len(differences)} esiti diversi dalla politica:\n" + "\n".join(differences))
    if unknown:
        problems.append("Righe di HTTP senza route: " + ", ".join(unknown))
    assert not problems, "\n\n".join(problems)
    routes = len({e for e, _m in seen})
    assert probes >= routes * len(policy.ROLES)
    print(f"politica HTTP: {routes} route, {len(seen)} coppie route×metodo, {probes} prove con "
          f"{len(policy.ROLES)} ruoli")
