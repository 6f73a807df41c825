"""Every write route of the application that names a procedure or one of its tavoli, asked to change
something in a concluded procedure, is refused with 409 and the closure's Italian message (even
with data its service would accept, and even where the request would change nothing) and writes
nothing. The JSON clients get the same refusal as JSON."""
from __future__ import annotations

import re

from tests.helpers import csrf_token_from, database_footprint, footprint_changes
from tests.sintesi.support import concluded
from tests.world import login_client
from workspace.needs.models import Annotation
from workspace.planning import service as planning
from workspace.procedures.models import Procedure

# Write routes that do not belong to a procedure (accounts, privacy, starting a new procedure,
# applying through an invitation or a token): out of scope of the closure.
OUTSIDE = {"accounts.login", "accounts.logout", "accounts.logout_everywhere", "accounts.forgot_password", "accounts.request_login_link",
           "accounts.reset_password", "accounts.login_link", "accounts.invitation", "accounts.profile",
           "accounts.organisations", "accounts.organisation", "privacy.notice", "privacy.delete_account",
           "procedures.setup", "procedures.invitation"}
MESSAGE = "La procedura è conclusa"


def _form(endpoint: str, c, ids: dict) -> dict:
    """Valid data for the routes whose services would otherwise accept them."""
    return {
        "needs.nuovo": {"title": "Bisogno tardivo", "macroarea": "E", "consolidation": "nuovo"},
        "needs.modifica": {"title": "Titolo tardivo", "macroarea": "E", "consolidation": "nuovo", "version": "99"},
        "needs.annota": {"kind": "dato", "body": "Un dato tardivo."},
        "needs.stato": {"status": "ritirato"},
        "tavoli.new_seduta": {"starts_at": "2030-01-10T10:00", "place": "Sala", "mode": "presenza",
                              "agenda": "Punto"},
        "tavoli.set_role": {"user_id": str(c.outsider.id), "role": "observer"},
        "minutes.section": {"version": "0", "text": "Testo tardivo."},
        "sintesi.introduction": {"version": "99", "text": "Tardivo."},
        "procedures.admin_transition": {"target": "conclusa"},
        "planning.dispose": {"outcome": "non_accolto", "reason": "Ci ripenso."},
        "planning.create": {"bisogni": str(c.before)},
        "planning.publish": {},
    }.get(endpoint, {"title": "Tardivo", "text": "Tardivo.", "reason": "Tardivo.", "motivation": "Tardivo."})


def test_every_write_route_refuses_in_a_concluded_procedure(app, closing, in_app):
    c = closing
    with in_app() as db:
        procedure = db.get_one(Procedure, c.procedure_id)
        planning.record_disposition(db, c.admin, c.first, "accolto", "Risponde a un LEPS.")
        scheda_id = planning.create_scheda(db, c.admin, procedure, [c.first]).id
        db.commit()
        concluded(db, c)
        annotation_id = db.scalar(Annotation.__table__.select().with_only_columns(Annotation.id).limit(1))
    ids = {"procedure_id": c.procedure_id, "tavolo_id": c.tavolo.id, "bisogno_id": c.first,
           "annotation_id": annotation_id, "round_id": c.round_id, "seduta_id": c.seduta.id,
           "verbale_id": c.verbale_id, "remark_id": 1, "organisation_id": c.ets.id, "user_id": c.delegate.id,
           "application_id": 1, "key": "apertura",
           "scheda_id": scheda_id, "objective_id": 1}
    admin, _ = login_client(app, c.admin)
    token = csrf_token_from(admin.get(f"/tavoli/{c.tavolo.id}").get_data(as_text=True))
    with in_app() as db:
        before = database_footprint(db)
    seen: list[str] = []
    for rule in app.url_map.iter_rules():
        if not rule.methods or "POST" not in rule.methods or rule.endpoint in OUTSIDE:
            continue
        if not set(rule.arguments) <= set(ids):
            raise AssertionError(f"route {rule.rule}: a parameter this test does not know")
        url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ids[m.group(1)]), rule.rule)
        response = admin.post(url, data={"csrf_token": token, **_form(rule.endpoint, c, ids)})
        seen.append(rule.endpoint)
        assert response.status_code == 409, (url, response.status_code)
        assert MESSAGE in response.get_data(as_text=True), url
    with in_app() as db:
        assert footprint_changes(before, database_footprint(db)) == []
    assert len(seen) >= 40
    assert {"needs.nuovo", "voting.cast", "minutes.approve", "planning.dispose", "sintesi.approve",
            "procedures.admin_transition", "esiti.new"} <= set(seen)


def test_json_clients_get_the_refusal_as_json(app, closing, in_app):
    c = closing
    with in_app() as db:
        concluded(db, c)
    admin, token = login_client(app, c.admin)
    response = admin.post(f"/tavoli/{c.tavolo.id}/bisogni/nuovo", data={"csrf_token": token, "title": "Tardivo",
                                                                       "macroarea": "E"},
                          headers={"Accept": "application/json"})
    assert response.status_code == 409
    assert response.get_json()["code"] == "procedure_concluded"
    # Reading still works, and records the visit (bookkeeping, allowed).
    delegate, _ = login_client(app, c.delegate)
    assert delegate.get(f"/tavoli/{c.tavolo.id}").status_code == 200
    assert admin.get(f"/tavoli/{c.tavolo.id}").status_code == 200
    assert admin.get(f"/procedure/{c.procedure_id}/documento-di-sintesi").status_code == 200


def test_the_live_channel_refuses_too(app, closing, in_app, connect):
    """A write over Socket.IO (the live pages) passes the same guard: an Italian refusal in the ack."""
    from tests.realtime.support import join, op

    c = closing
    with in_app() as db:
        concluded(db, c)
    client = connect(c.delegate)
    join(client, c.tavolo.id)
    with in_app() as db:
        before = database_footprint(db)
    ack = op(client, "bisogno.create", c.tavolo.id, title="Detto in diretta, a procedura conclusa", macroarea="E")
    assert ack["error"] == "procedure_concluded" and MESSAGE in ack["message"], ack
    with in_app() as db:
        assert footprint_changes(before, database_footprint(db)) == []
