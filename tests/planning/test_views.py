"""The planning pages: who sees them, the disposition form (reason required, 422 with the Italian
message, nothing written), the card editor, one click each way between card and bisogno, the
downloads, and the public page once published."""
from __future__ import annotations

from sqlalchemy import func, select

from tests.planning.support import closed_world, complete_values
from tests.world import login_client
from workspace.planning import service
from workspace.planning.models import Disposition
from workspace.procedures.models import Procedure


def test_priorities_page_for_members_not_outsiders(app, session):
    vw, _ = closed_world(session)
    client, _t = login_client(app, vw.delegate)
    html = client.get(f"/tavoli/{vw.tavolo.id}/priorita").get_data(as_text=True)
    assert "Priorità del tavolo" in html and "Registra la disposizione" not in html
    outsider, _t = login_client(app, vw.outsider)
    assert outsider.get(f"/tavoli/{vw.tavolo.id}/priorita").status_code == 403


def test_disposition_form_requires_a_reason(app, session):
    vw, _ = closed_world(session)
    client, token = login_client(app, vw.admin)
    url = f"/tavoli/{vw.tavolo.id}/priorita/{vw.bisogni[1]}/disposizione"
    response = client.post(url, data={"csrf_token": token, "outcome": "accolto", "reason": "  "})
    assert response.status_code == 422
    assert "La motivazione è obbligatoria." in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Disposition)) == 0
    response = client.post(url, data={"csrf_token": token, "outcome": "non_accolto", "reason": "Fuori competenza"})
    assert response.status_code == 303
    html = client.get(f"/tavoli/{vw.tavolo.id}/priorita").get_data(as_text=True)
    assert "Fuori competenza" in html and "Non accolto" in html
    member, _t = login_client(app, vw.observer)
    assert "Fuori competenza" in member.get(f"/tavoli/{vw.tavolo.id}/priorita").get_data(as_text=True)


def test_card_pages_edit_ready_and_trace_both_ways(app, session):
    vw, _ = closed_world(session)
    procedure = session.get_one(Procedure, vw.tavolo.procedure_id)
    client, token = login_client(app, vw.admin)
    response = client.post(f"/procedure/{procedure.id}/schede",
                           data={"csrf_token": token, "bisogni": [str(vw.bisogni[1])], "macroarea": ""})
    assert response.status_code == 303
    card_url = response.headers["Location"]
    html = client.get(card_url).get_data(as_text=True)
    assert "TITOLO INTERVENTO" in html and "Completezza" in html
    # card -> bisogno, one click
    assert f"/tavoli/{vw.tavolo.id}/bisogni/{vw.bisogni[1]}\"" in html
    # bisogno -> card, one click (from the bisogno's cards page and the priorities page)
    bisogno_page = client.get(f"/tavoli/{vw.tavolo.id}/bisogni/{vw.bisogni[1]}/schede").get_data(as_text=True)
    assert card_url.split("localhost")[-1] in bisogno_page
    assert card_url.split("localhost")[-1] in client.get(f"/tavoli/{vw.tavolo.id}/priorita").get_data(as_text=True)
    # the editor: a bad key point is refused with the field named
    edit = card_url + "/modifica"
    assert client.get(edit).status_code == 200
    response = client.post(edit, data={"csrf_token": token, "macroarea": "E", "f-key_points": ["Inventato"],
                                       "f-title-": ""})
    assert response.status_code == 422 and "Inventato" in response.get_data(as_text=True)
    scheda_id = int(card_url.rsplit("/", 1)[1])
    card = service.get_scheda(session, scheda_id)
    service.update_scheda(session, vw.admin, card, values=complete_values(session))
    session.commit()
    response = client.post(card_url + "/stato", data={"csrf_token": token, "status": "pronta"})
    assert response.status_code == 303
    session.refresh(card)
    assert card.status == "pronta"


def test_downloads_and_public_page(app, session):
    vw, _ = closed_world(session)
    procedure = session.get_one(Procedure, vw.tavolo.procedure_id)
    client, token = login_client(app, vw.admin)
    for what, fmt in (("priorita", "csv"), ("schede", "json"), ("obiettivi", "docx")):
        response = client.get(f"/procedure/{procedure.id}/piano/{what}.{fmt}")
        assert response.status_code == 200, (what, fmt)
        assert "attachment" in response.headers["Content-Disposition"]
    response = client.get(f"/procedure/{procedure.id}/piano/priorita.pdf")
    assert response.status_code == 422
    assert client.get(f"/procedure/{procedure.id}/piano").status_code == 200
    outsider, _t = login_client(app, vw.outsider)
    assert outsider.get(f"/procedure/{procedure.id}/piano/priorita.csv").status_code == 403
