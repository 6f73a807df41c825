"""Every write route of the application, asked to change something in a concluded procedure, is
refused with a 4xx (never a 5xx, never a success) and writes nothing; those given valid data reach
the closure guard and say so in Italian. Pages keep working."""
from __future__ import annotations

import re

from tests.helpers import csrf_token_from, database_footprint, footprint_changes
from tests.sintesi.support import concluded
from tests.world import login_client
from workspace.needs.models import Annotation

# Write routes that do not belong to a procedure (accounts, privacy, starting a new procedure,
# applying through an invitation or a token): out of scope of the closure.
OUTSIDE = {"accounts.login", "accounts.logout", "accounts.forgot_password", "accounts.request_login_link",
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
    }.get(endpoint, {"title": "Tardivo", "text": "Tardivo.", "reason": "Tardivo.", "motivation": "Tardivo."})


def test_every_write_route_refuses_in_a_concluded_procedure(app, closing, in_app):
    c = closing
    with in_app() as db:
        concluded(db, c)
        annotation_id = db.scalar(Annotation.__table__.select().with_only_columns(Annotation.id).limit(1))
    ids = {"procedure_id": c.procedure_id, "tavolo_id": c.tavolo.id, "bisogno_id": c.first,
           "annotation_id": annotation_id, "round_id": c.round_id, "seduta_id": c.seduta.id,
           "verbale_id": c.verbale_id, "remark_id": 1, "organisation_id": c.ets.id, "user_id": c.delegate.id,
           "application_id": 1, "key": "apertura"}
    admin, _ = login_client(app, c.admin)
    token = csrf_token_from(admin.get(f"/tavoli/{c.tavolo.id}").get_data(as_text=True))
    with in_app() as db:
        before = database_footprint(db)
    seen, guarded = [], []
    for rule in app.url_map.iter_rules():
        if not rule.methods or "POST" not in rule.methods or rule.endpoint in OUTSIDE:
            continue
        if not set(rule.arguments) <= set(ids):
            raise AssertionError(f"route {rule.rule}: a parameter this test does not know")
        url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ids[m.group(1)]), rule.rule)
        response = admin.post(url, data={"csrf_token": token, **_form(rule.endpoint, c, ids)})
        seen.append(rule.endpoint)
        assert 400 <= response.status_code < 500, (url, response.status_code)
        if MESSAGE in response.get_data(as_text=True):
            guarded.append(rule.endpoint)
    with in_app() as db:
        assert footprint_changes(before, database_footprint(db)) == []
    assert len(seen) >= 40
    # With valid data the refusal is the closure's, in Italian.
    # (The others are refused earlier by their own rules: a closed vote, a form incomplete, not a member.)
    for endpoint in ("procedures.admin_transition", "procedures.admin_act", "procedures.admin_avviso",
                     "tavoli.new_seduta", "tavoli.remove_role", "needs.nuovo", "needs.annota", "needs.sostieni",
                     "needs.elimina", "needs.stato", "minutes.regenerate", "minutes.section", "sintesi.generate",
                     "sintesi.regenerate", "sintesi.introduction", "sintesi.send_review", "sintesi.approve"):
        assert endpoint in guarded, (endpoint, sorted(guarded))
