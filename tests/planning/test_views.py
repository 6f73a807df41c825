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


def test_one_click_from_the_tavolo_and_the_bisogno_pages(app, session):
    vw, _ = closed_world(session)
    client, _t = login_client(app, vw.delegate)
    home = client.get(f"/tavoli/{vw.tavolo.id}").get_data(as_text=True)
    assert f"/tavoli/{vw.tavolo.id}/priorita\"" in home
    detail = client.get(f"/tavoli/{vw.tavolo.id}/bisogni/{vw.bisogni[1]}").get_data(as_text=True)
    assert f"/tavoli/{vw.tavolo.id}/bisogni/{vw.bisogni[1]}/schede\"" in detail


class _FormReader:
    """The values a browser would submit from the first form with ``action`` on the page."""

    def __init__(self, html: str, action: str):
        from html.parser import HTMLParser

        self.data: list[tuple[str, str]] = []
        reader = self

        class Parser(HTMLParser):
            inside = False
            textarea: str | None = None
            select: str | None = None
            text = ""

            def handle_starttag(self, tag, attrs):
                a = dict(attrs)
                if tag == "form" and a.get("action") == action:
                    self.inside = True
                if not self.inside:
                    return
                if tag == "input" and a.get("name"):
                    if a.get("type") in ("checkbox", "radio"):
                        if "checked" in a:
                            reader.data.append((a["name"], a.get("value", "on")))
                    else:
                        reader.data.append((a["name"], a.get("value") or ""))
                elif tag == "textarea":
                    self.textarea, self.text = a["name"], ""
                elif tag == "select":
                    self.select = a["name"]
                elif tag == "option" and self.select and "selected" in a:
                    reader.data.append((self.select, a.get("value", "")))

            def handle_data(self, data):
                if self.textarea is not None:
                    self.text += data

            def handle_endtag(self, tag):
                if tag == "textarea" and self.textarea is not None:
                    reader.data.append((self.textarea, self.text.removeprefix("\n")))
                    self.textarea = None
                elif tag == "select":
                    self.select = None
                elif tag == "form":
                    self.inside = False

        Parser().feed(html)


def test_the_editor_submits_back_what_it_shows(app, session):
    """Open the editor of a complete card and save without touching anything: same values, still
    complete (amounts with decimals, lists, indicators, answers with details survive the form)."""
    from werkzeug.datastructures import MultiDict

    vw, _ = closed_world(session)
    procedure = session.get_one(Procedure, vw.tavolo.procedure_id)
    card = service.create_scheda(session, vw.admin, procedure, [vw.bisogni[1]])
    values = complete_values(session)
    values["budgeted_resources"] = {"public": 120000, "private": 15000.5}
    service.update_scheda(session, vw.admin, card, values=values)
    session.commit()
    before = dict(card.values)
    client, _token = login_client(app, vw.admin)
    url = f"/procedure/{procedure.id}/schede/{card.id}/modifica"
    form = _FormReader(client.get(url).get_data(as_text=True), url)
    response = client.post(url, data=MultiDict(form.data))
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    session.refresh(card)
    assert card.values == before
    assert card.version == 3


def test_amounts_as_people_type_them():
    import pytest

    for text, amount in (("1.234,50", 1234.5), ("1234,5", 1234.5), ("1234.5", 1234.5), ("120.000", 120000),
                         ("€ 15 000", 15000), (7, 7.0)):
        assert service.parse_euro(text) == amount, text
    for bad in ("dieci", "", "nan", "inf", True):
        with pytest.raises(ValueError):
            service.parse_euro(bad)


def test_members_read_and_download_only_their_tavoli(app, session):
    vw, _ = closed_world(session)
    procedure = session.get_one(Procedure, vw.tavolo.procedure_id)
    card = service.create_scheda(session, vw.admin, procedure, [vw.bisogni[1]])
    session.commit()
    client, _t = login_client(app, vw.delegate)
    assert client.get(f"/procedure/{procedure.id}/schede/{card.id}").status_code == 200
    whole = client.get(f"/procedure/{procedure.id}/piano/priorita.csv")
    assert whole.status_code == 403 and "uno per volta" in whole.get_data(as_text=True)
    assert client.get(f"/procedure/{procedure.id}/piano/obiettivi.odt").status_code == 403
    mine = client.get(f"/procedure/{procedure.id}/piano/priorita.csv?tavolo={vw.tavolo.id}")
    assert mine.status_code == 200
    # Another tavolo of the same procedure, where the delegate does not sit: its card is not theirs.
    from workspace.tavoli import membership

    other = membership.create_tavolo(session, vw.admin, procedure, "Tavolo povertà", ["A"])
    session.commit()
    outside = client.get(f"/procedure/{procedure.id}/piano/schede.csv?tavolo={other.id}")
    assert outside.status_code == 403
