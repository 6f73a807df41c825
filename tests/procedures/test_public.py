"""The public record: no login, only published items within their publication window; the public
application form end to end over HTTP; the open-data CSV parsed back."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.helpers import csrf_token_from, last_mail, mail_text
from tests.procedures.support import PDF, advance, application_data, apply, build, fill
from tests.world import bisogno_data
from workspace.accounts.models import User
from workspace.db import db, utcnow
from workspace.needs import service as needs_service
from workspace.procedures import admissions, labels, lifecycle, opendata
from workspace.procedures.models import PROCEDURE_STATUSES, Application, Procedure, PublicationItem
from workspace.tavoli import membership
from workspace.tavoli import service as tavoli_service


def _live(app, stage: str = "candidature", admitted: bool = False):
    """A procedure at ``stage`` on today's clock: avviso out an hour ago, deadline in a day (or
    moved into the past to examine applications)."""
    with app.app_context():
        session = db.session
        s = build(session)
        now = utcnow()
        fill(session, s, published_at=now - timedelta(hours=1), deadline=now + timedelta(days=1), now=now)
        advance(session, s, min(stage, "candidature", key=PROCEDURE_STATUSES.index), now=now)
        ids = {"procedure": s.procedure.id, "tavolo": s.tavolo.id, "tavolo2": s.tavolo2.id}
        if PROCEDURE_STATUSES.index(stage) > PROCEDURE_STATUSES.index("candidature"):
            alfa = apply(session, s, now=now)
            beta = apply(session, s, now=now, organisation_name="=Cooperativa Beta", codice_fiscale="80003170661",
                         organisation_email="beta@pec.example.org", tavoli=[s.tavolo2.id])
            later = s.procedure.application_deadline + timedelta(minutes=1)
            lifecycle.transition(session, s.rup, s.procedure, "ammissioni", now=later)
            if admitted:
                admissions.decide(session, s.rup, alfa, "admitted", "Requisiti posseduti.", now=later)
                admissions.decide(session, s.rup, beta, "excluded", "Fuori Ambito.", now=later)
                session.commit()
                if stage == "tavoli_in_corso":
                    lifecycle.transition(session, s.rup, s.procedure, "tavoli_in_corso", now=utcnow())
            session.commit()
            ids.update(alfa=alfa.id, beta=beta.id)
    return ids


def test_draft_is_not_public(app, client):
    with app.app_context():
        s = build(db.session)
        procedure_id = s.procedure.id
    for path in ("", "/avviso", "/candidatura", "/dati.csv", "/atto"):
        assert client.get(f"/procedure/{procedure_id}{path}").status_code == 404
    assert f"/procedure/{procedure_id}" not in client.get("/procedure").get_data(as_text=True)


def test_public_page_shows_avviso_and_tavoli_without_login(app, client):
    ids = _live(app)
    html = client.get(f"/procedure/{ids['procedure']}").get_data(as_text=True)
    assert "Avviso pubblico" in html and "Tavolo anziani e fragilità" in html and "Tavolo famiglie e minori" in html
    assert "n. 123/2025 del 20 febbraio 2025" in html and "Impronta SHA-256" in html
    assert "Presenta la candidatura" in html
    assert f'/procedure/{ids["procedure"]}' in client.get("/procedure").get_data(as_text=True)
    avviso = client.get(f"/procedure/{ids['procedure']}/avviso").get_data(as_text=True)
    for heading in ("1. Oggetto", "2. Chi può partecipare", "3. Come candidarsi e quali dichiarazioni",
                    "4. Tempi e modalità di svolgimento", "5. Come si conclude il procedimento", "6. Trasparenza"):
        assert heading in avviso
    assert "<strong>Piano di Zona 2025-2027</strong>" in avviso
    act = client.get(f"/procedure/{ids['procedure']}/atto")
    assert act.status_code == 200 and act.data == PDF and act.mimetype == "application/pdf"


def test_only_items_within_their_window(app, client):
    ids = _live(app)
    with app.app_context():
        now = utcnow()
        items = {(i.kind, i.ref_id): i for i in db.session.scalars(select(PublicationItem))}
        items[("tavolo", ids["tavolo"])].published_from = now + timedelta(days=1)      # not yet
        items[("tavolo", ids["tavolo2"])].published_until = now - timedelta(seconds=1)  # withdrawn
        db.session.commit()
    html = client.get(f"/procedure/{ids['procedure']}").get_data(as_text=True)
    assert "Tavolo anziani e fragilità" not in html and "Tavolo famiglie e minori" not in html
    assert "Avviso pubblico" in html
    form = client.get(f"/procedure/{ids['procedure']}/candidatura").get_data(as_text=True)
    assert "Tavolo anziani" not in form
    with app.app_context():
        avviso = db.session.scalar(select(PublicationItem).where(PublicationItem.kind == "avviso"))
        avviso.published_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert client.get(f"/procedure/{ids['procedure']}").status_code == 404
    assert client.get(f"/procedure/{ids['procedure']}/atto").status_code == 404


def test_admitted_appear_only_once_published_and_excluded_never(app, client):
    ids = _live(app, "ammissioni", admitted=True)
    html = client.get(f"/procedure/{ids['procedure']}").get_data(as_text=True)
    assert "Organizzazioni ammesse" not in html
    with app.app_context():
        procedure = db.session.get(Procedure, ids["procedure"])
        rup = procedure.rup
        lifecycle.transition(db.session, rup, procedure, "tavoli_in_corso")
        db.session.commit()
    html = client.get(f"/procedure/{ids['procedure']}").get_data(as_text=True)
    assert "Organizzazioni ammesse" in html and "Associazione Alfa ODV" in html
    assert "Cooperativa Beta" not in html
    assert "Laura Legale" not in html and "delia@alfa" not in html  # people only in their role, never by name


def test_public_form_end_to_end(app, client):
    ids = _live(app)
    path = f"/procedure/{ids['procedure']}/candidatura"
    page = client.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in html and "Dichiarazioni sostitutive" in html
    token = csrf_token_from(html)
    with app.app_context():
        s = build(db.session)  # only for the data's shape
        data = application_data(s)
    form = {k: v for k, v in data.items() if k not in ("declarations", "tavoli", "signed_by_proxy")}
    form.update({f"decl_{k}": "y" for k in data["declarations"]}, tavoli=[str(ids["tavolo"])], csrf_token=token,
                signed_by_proxy="y", proxy_name="Paolo Procuratore",
                proxy_file=(io.BytesIO(PDF), "procura.pdf", "application/pdf"))
    response = client.post(path, data=form, content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)
    receipt = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Candidatura ricevuta" in receipt and "Associazione Alfa ODV" in receipt
    assert "Ricevuta il" in mail_text(last_mail(app, "alfa@pec.example.org"))
    # Again: the same organisation updates its application (no duplicate).
    form.update(csrf_token=csrf_token_from(client.get(path).get_data(as_text=True)), delegate_name="Davide Delegato",
                proxy_file=(io.BytesIO(b""), "", "application/octet-stream"))
    assert client.post(path, data=form, content_type="multipart/form-data").status_code == 303
    with app.app_context():
        rows = db.session.scalars(select(Application).where(Application.procedure_id == ids["procedure"])).all()
        assert len(rows) == 1 and rows[0].revision == 2 and rows[0].delegate_name == "Davide Delegato"
        assert rows[0].proxy_file_name == "procura.pdf"  # kept from the first submission
    # A change of address: the previous one hears about it too.
    form.update(csrf_token=csrf_token_from(client.get(path).get_data(as_text=True)),
                organisation_email="altro@pec.example.org", proxy_file=(io.BytesIO(b""), "", "application/octet-stream"))
    assert client.post(path, data=form, content_type="multipart/form-data").status_code == 303
    for address in ("altro@pec.example.org", "alfa@pec.example.org"):
        assert "versione 3" in mail_text(last_mail(app, address))


def test_public_form_errors_are_listed(app, client):
    ids = _live(app)
    path = f"/procedure/{ids['procedure']}/candidatura"
    token = csrf_token_from(client.get(path).get_data(as_text=True))
    response = client.post(path, data={"csrf_token": token, "codice_fiscale": "06363391002",
                                       "proxy_file": (io.BytesIO(b"MZ..."), "procura.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'role="alert"' in html and "Il modulo contiene errori" in html
    assert "la cifra di controllo (l&#39;ultima) non corrisponde" in html
    assert "Veridicità dei dati: Per candidarsi occorre rendere questa dichiarazione." in html
    assert 'aria-invalid="true"' in html


def test_late_public_form_shows_the_deadline(app, client):
    ids = _live(app)
    path = f"/procedure/{ids['procedure']}/candidatura"
    token = csrf_token_from(client.get(path).get_data(as_text=True))
    with app.app_context():
        procedure = db.session.get(Procedure, ids["procedure"])
        procedure.application_deadline = utcnow() - timedelta(minutes=1)
        db.session.commit()
        expected = labels.when(procedure.application_deadline)
    response = client.post(path, data={"csrf_token": token, "organisation_name": "Tardiva"})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert f"Il termine per presentare la candidatura è scaduto il {expected}" in html
    assert "<form method=\"post\" action=\"/procedure" not in html
    assert client.get(path).status_code == 200


def test_open_data_csv(app, client):
    ids = _live(app, "tavoli_in_corso", admitted=True)
    with app.app_context():
        session = db.session
        tavolo = tavoli_service.get_tavolo(session, ids["tavolo"])
        facilitator = tavolo.procedure.rup
        admin = session.scalar(select(User).where(User.is_admin.is_(True)))
        membership.set_role(session, admin, tavolo, facilitator, "facilitator")
        tavolo.contribution_opens_at = utcnow() - timedelta(days=1)
        tavolo.contribution_closes_at = utcnow() + timedelta(days=1)
        session.commit()
        for title in ("Solitudine degli anziani", "Caregiver senza sollievo"):
            needs_service.create_bisogno(session, facilitator, tavolo, bisogno_data(title=title))
        session.commit()
    response = client.get(f"/procedure/{ids['procedure']}/dati.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv" and response.headers["Link"].startswith(
        "<https://creativecommons.org/licenses/by/4.0/>")
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert list(rows[0]) == list(opendata.CSV_COLUMNS)
    assert {r["licenza"] for r in rows} == {"CC BY 4.0 https://creativecommons.org/licenses/by/4.0/"}
    values = {(r["indicatore"], r["codice"]): int(r["valore"]) for r in rows if r["indicatore"] != "bisogno"}
    assert values[("bisogni_per_macroarea", "E")] == 2
    assert values[("bisogni_per_macroarea", "D")] == 0
    assert values[("organizzazioni_ai_tavoli_per_tipo", "ets")] == 1
    assert values[("candidature", "ricevute")] == 2
    assert values[("candidature", "ammesse")] == 1 and values[("candidature", "escluse")] == 1
    assert values[("ets_ammessi_per_sezione_runts", "odv")] == 1
    assert not any("Alfa" in v or "Beta" in v for r in rows for v in r.values())
    # The records: every bisogno with its title, macroarea, type of proposing organisation and state.
    records = [r for r in rows if r["indicatore"] == "bisogno"]
    assert sorted(r["descrizione"] for r in records) == ["Caregiver senza sollievo", "Solitudine degli anziani"]
    assert {(r["macroarea"], r["stato"], r["valore"]) for r in records} == {("E", "proposto", "")}
    assert all(r["tavolo"] and r["tipo_organizzazione"] in ("", "ufficio_di_piano", "ets") for r in records)


def test_csv_neutralises_formulas(sqlite_app, monkeypatch):
    monkeypatch.setattr(opendata, "open_data_rows", lambda *_a, **_k: [
        {"indicatore": "x", "codice": "+1", "descrizione": "=HYPERLINK(\"http://evil\")", "valore": 3},
        {"indicatore": "@SUM(A1)", "codice": "-2", "descrizione": "normale", "valore": -1},
    ])
    with sqlite_app.app_context():
        procedure = build(db.session).procedure
        body = opendata.open_data_csv(db.session, procedure)
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[1][3:6] == ["'+1", "'=HYPERLINK(\"http://evil\")", "3"]
    assert rows[2][2:6] == ["'@SUM(A1)", "'-2", "normale", "-1"]
    assert all(not cell.startswith(("=", "+", "@")) for row in rows for cell in row)


@pytest.mark.parametrize("who", ["anonymous", "outsider", "rup", "admin"])
def test_admin_pages_are_for_the_rup_and_admins(app, who):
    from tests.world import login_client

    ids = _live(app)
    with app.app_context():
        procedure = db.session.get(Procedure, ids["procedure"])
        users = {"rup": procedure.rup}
        users["admin"] = next(u for u in db.session.scalars(select(User)) if u.is_admin)
        users["outsider"] = next(u for u in db.session.scalars(select(User).where(
            User.email.like("out-%"))))
        client = login_client(app, users[who])[0] if who != "anonymous" else app.test_client()
    base = f"/amministrazione/procedure/{ids['procedure']}"
    for path in ("", "/atto", "/avviso", "/candidature", "/pubblicazioni", "/atto/file"):
        response = client.get(base + path)
        expected = {"anonymous": 302, "outsider": 403}.get(who, 200)
        assert response.status_code == expected, (path, response.status_code)
