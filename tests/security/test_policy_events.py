"""The declared permission policy (workspace/policy.py EVENTS) tried on every Socket.IO event of
/live with the nine roles of tests/security/test_policy.py.

Each event is sent with a well-formed payload naming the probe's objects (a closed seduta, its
bisogni and annotations, a closed round); the acknowledgement is recorded as "ok" (past the
permission checks: success, or a refusal of the state or content such as a conflict) or refused
("forbidden"/"unauthorized" → "forbidden", "not_found" → "missing"; anonymous cannot connect:
"login"). The test fails on any difference from the policy and on an event without a row.
Each event is tried inside a savepoint rolled back afterwards; refused roles go first.
"""
from __future__ import annotations

import os
import uuid
from collections import defaultdict

from sqlalchemy import select

from tests.security.test_policy import _connection, _setup
from tests.world import login_client
from workspace import policy, realtime
from workspace.realtime import NAMESPACE

NOT_EMITTED = {"connect", "disconnect"}


def _payloads(app, probe) -> dict[str, dict]:
    from datetime import timedelta

    from workspace.accounts.models import User
    from workspace.db import db, utcnow
    from workspace.needs.models import Bisogno
    from workspace.tavoli.models import Seduta, Tavolo
    from workspace.voting import rounds

    ids = probe.ids
    with app.app_context():
        seduta = db.session.get(Seduta, ids["seduta_id"])
        item_id = seduta.agenda[0].id
        others = db.session.scalars(select(Bisogno.id).where(Bisogno.tavolo_id == ids["tavolo_id"],
                                                             Bisogno.id != ids["bisogno_id"],
                                                             Bisogno.status != "accorpato")).all()
        # A round open now, so a ballot reaches the electorate's check (the scripted one is closed).
        facilitator = db.session.get(User, probe.users["facilitator"])
        open_round, _ev = rounds.create_round(db.session, facilitator, db.session.get(Tavolo, ids["tavolo_id"]),
                                              "Prova della politica", "dot", [ids["bisogno_id"], others[0]],
                                              closes_at=utcnow() + timedelta(days=1))
        rounds.open_round(db.session, facilitator, open_round)
        db.session.commit()
        open_id = open_round.id
    t, s, b, a, r = (ids["tavolo_id"], ids["seduta_id"], ids["bisogno_id"], ids["annotation_id"], ids["round_id"])
    return {
        "join": {"tavolo_id": t, "presence": False},
        "resync": {"tavolo_id": t},
        "page": {"tavolo_id": t, "of": "annotations"},
        "leave": {"tavolo_id": t},
        "seduta.start": {"tavolo_id": t, "seduta_id": s},
        "seduta.close": {"tavolo_id": t, "seduta_id": s},
        "agenda.move": {"tavolo_id": t, "seduta_id": s, "item_id": item_id},
        "timer.set": {"tavolo_id": t, "seduta_id": s, "seconds": 60},
        "presence.mark": {"tavolo_id": t, "seduta_id": s, "user_id": probe.users["delegate"], "present": True},
        "bisogno.create": {"tavolo_id": t, "title": "Un bisogno nuovo", "macroarea": "E"},
        "bisogno.update": {"tavolo_id": t, "bisogno_id": b, "title": "Un titolo nuovo"},
        "bisogno.status": {"tavolo_id": t, "bisogno_id": b, "status": "ritirato"},
        "bisogno.merge": {"tavolo_id": t, "bisogno_id": others[0], "into_id": b},
        "spotlight.set": {"tavolo_id": t, "seduta_id": s, "bisogno_id": b},
        "annotation.create": {"tavolo_id": t, "bisogno_id": b, "kind": "dato", "body": "Un dato."},
        "annotation.delete": {"tavolo_id": t, "annotation_id": a, "reason": "Fuori tema."},
        "annotation.support": {"tavolo_id": t, "annotation_id": a, "support": True},
        "vote.open": {"tavolo_id": t, "round_id": r},
        "vote.close": {"tavolo_id": t, "round_id": r},
        "vote.tie_break": {"tavolo_id": t, "round_id": r},
        "vote.declare_interest": {"tavolo_id": t, "round_id": r, "bisogno_id": b},
        "vote.cast": {"tavolo_id": t, "round_id": open_id, "ballot": {"points": {str(b): 10}}},
        "vote.status": {"tavolo_id": t, "round_id": r},
    }


def _outcome(ack) -> str:
    if not isinstance(ack, dict):
        return f"no ack {ack!r}"
    if ack.get("ok"):
        return "ok"
    code = ack.get("error")
    if code in ("forbidden", "unauthorized"):
        return "forbidden"
    if code == "not_found":
        return "missing"
    if code == "internal":
        return "error internal"
    return "ok"


def _needs_op_id(event: str) -> bool:
    handler_schema = {"vote.cast"}
    return event in handler_schema or event not in ("join", "resync", "page", "leave", "vote.status")


def test_every_event_and_role_matches_the_policy(app, make):
    from workspace.accounts.models import User
    from workspace.db import db
    from workspace.extensions import socketio

    with make() as s:
        probe = _setup(s)
    payloads = _payloads(app, probe)
    clients = {}
    anonymous = socketio.test_client(app, namespace=NAMESPACE, flask_test_client=app.test_client())
    connected = {"anonymous": anonymous.is_connected(NAMESPACE)}
    for role, user_id in probe.users.items():
        with app.app_context():
            user = db.session.get(User, user_id)
        http, token = login_client(app, user)
        clients[role] = socketio.test_client(app, namespace=NAMESPACE, flask_test_client=http,
                                             auth={"csrf_token": token})
        connected[role] = clients[role].is_connected(NAMESPACE)
    connection = _connection(app)
    seen: dict[str, dict[str, str]] = defaultdict(dict)
    problems: list[str] = []
    try:
        for role in policy.ROLES:
            want = role in policy.allowed(policy.EVENTS["connect"])
            if connected[role] != want:
                problems.append(f"connect {role}: {'connesso' if connected[role] else 'rifiutato'} "
                                f"(politica «{policy.EVENTS['connect']}»)")
        events = sorted(set(realtime.handlers(app)) - NOT_EMITTED)
        missing_rows = [e for e in events if e not in policy.EVENTS]
        unpaid = [e for e in events if e not in payloads]
        assert not unpaid, f"eventi senza payload di prova in {__file__}: {unpaid}"
        probes = 0
        for event in events:
            audience = policy.EVENTS.get(event)
            expected_ok = policy.allowed(audience) if audience else frozenset()
            order = [r for r in policy.ROLES if r not in expected_ok] + [r for r in policy.ROLES if r in expected_ok]
            savepoint = connection.begin_nested()
            try:
                for role in order:
                    probes += 1
                    if role == "anonymous":
                        seen[event][role] = "login"
                        if role in expected_ok:
                            problems.append(f"{event} anonymous: non può connettersi (politica «{audience}»)")
                        continue
                    payload = dict(payloads[event])
                    if _needs_op_id(event):
                        payload["op_id"] = "pol-" + uuid.uuid4().hex
                    ack = clients[role].emit(event, payload, namespace=NAMESPACE, callback=True)
                    outcome = _outcome(ack)
                    seen[event][role] = outcome
                    if audience is None:
                        continue
                    want_ok = role in expected_ok
                    if outcome.startswith(("error", "no ack")) or want_ok != (outcome == "ok"):
                        problems.append(f"{event} {role}: {outcome} {ack!r:.160} "
                                        f"(politica «{audience}»: {'ok' if want_ok else 'rifiutato'})")
            finally:
                app.extensions["tavoli_db"]["session"].remove()
                savepoint.rollback()
        if os.environ.get("TAVOLI_POLICY_RECORD"):
            for event, outcomes in sorted(seen.items()):
                print(event, " ".join(f"{r}={outcomes.get(r)}" for r in policy.ROLES))
        if missing_rows:
            lines = []
            for event in missing_rows:
                ok = {r for r, o in seen[event].items() if o == "ok"}
                name = next((n for n, roles in policy.AUDIENCES.items() if set(roles) == ok), "?" + "+".join(sorted(ok)))
                lines.append(f'    "{event}": "{name}",')
            problems.append("Eventi senza riga nella politica: aggiungere a EVENTS in workspace/policy.py, dopo "
                            "averle verificate (pubblico osservato):\n" + "\n".join(lines))
        assert not problems, "\n".join(problems)
        print(f"politica eventi: {len(events) + len(NOT_EMITTED)} eventi, {probes} prove con {len(policy.ROLES)} ruoli")
    finally:
        for client in [anonymous, *clients.values()]:
            if client.is_connected(NAMESPACE):
                client.disconnect(namespace=NAMESPACE)
