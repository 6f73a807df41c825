"""The RUP's pages over HTTP: act with its file, avviso, lifecycle buttons, decisions, protocol,
publication windows. Refusals come back as 4xx with the Italian message, never a 500."""
from __future__ import annotations

import io
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from tests.helpers import csrf_token_from
from tests.procedures.support import PDF, SECTIONS, advance, apply, build, fill
from tests.world import login_client
from workspace.db import db, utcnow
from workspace.procedures.models import Application, Procedure, PublicationItem


def _rup_client(app):
    with app.app_context():
        s = build(db.session)
        client, _token = login_client(app, s.rup)
        s.procedure.rup = s.rup
        db.session.commit()
        return client, s.procedure.id


def _post(client, path, data, **kwargs):
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code)
    return client.post(path, data={**data, "csrf_token": csrf_token_from(page.get_data(as_text=True))}, **kwargs)


def test_rup_prepares_and_publishes(app):
    client, pid = _rup_client(app)
    base = f"/amministrazione/procedure/{pid}"
    # Publishing too early: refused with what is missing, nothing changes.
    response = client.post(base + "/stato", data={
        "target": "avviso_pubblicato", "csrf_token": csrf_token_from(client.get(base).get_data(as_text=True))})
    assert response.status_code == 303
    page = client.get(base).get_data(as_text=True)
    assert "manca il numero dell&#39;atto di avvio" in page
    # The act with a file that is not a PDF: refused on the field.
    bad = _post(client, base + "/atto", {"act_number": "12/2025", "act_date": "2025-02-20",
                                         "act_file": (io.BytesIO(b"GIF89a"), "atto.pdf")},
                content_type="multipart/form-data")
    assert bad.status_code == 422 and "non è un PDF valido" in bad.get_data(as_text=True)
    ok = _post(client, base + "/atto", {"act_number": "12/2025", "act_date": "2025-02-20",
                                        "act_file": (io.BytesIO(PDF), "atto.pdf")},
               content_type="multipart/form-data")
    assert ok.status_code == 303
    published = (utcnow() - timedelta(hours=1)).astimezone(ZoneInfo("Europe/Rome"))  # typed in Rome time
    deadline = published + timedelta(days=10)
    avviso = _post(client, base + "/avviso", {**SECTIONS, "allowed_kinds": ["ets"],
                                               "avviso_published_at": published.strftime("%Y-%m-%dT%H:%M"),
                                               "application_deadline": deadline.strftime("%Y-%m-%dT%H:%M")})
    assert avviso.status_code == 303
    token = csrf_token_from(client.get(base).get_data(as_text=True))
    assert client.post(base + "/stato", data={"target": "avviso_pubblicato", "csrf_token": token}).status_code == 303
    assert client.post(base + "/stato", data={"target": "candidature", "csrf_token": token}).status_code == 303
    with app.app_context():
        procedure = db.session.get(Procedure, pid)
        assert procedure.status == "candidature"
        assert procedure.act_file_sha256 and procedure.act_number == "12/2025"
        assert [t.to_status for t in procedure.transitions] == ["avviso_pubblicato", "candidature"]
    frozen = client.get(base + "/avviso").get_data(as_text=True)
    assert "non si modifica più" in frozen and "<textarea" not in frozen


def test_decision_form_requires_motivation(app):
    with app.app_context():
        session = db.session
        s = build(session)
        fill(session, s)
        advance(session, s, "candidature")
        application = apply(session, s)
        advance(session, s, "ammissioni")
        client, _token = login_client(app, s.rup)
        pid, aid = s.procedure.id, application.id
    path = f"/amministrazione/procedure/{pid}/candidature/{aid}"
    refused = _post(client, path, {"d-decision": "excluded", "d-motivation": "  "})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'role="alert"' in html and "La motivazione è obbligatoria" in html
    protocol = _post(client, path, {"p-protocol_number": "PG 2025/123"})
    assert protocol.status_code == 303
    done = _post(client, path, {"d-decision": "excluded", "d-motivation": "Non opera nell'Ambito."})
    assert done.status_code == 303
    with app.app_context():
        application = db.session.get(Application, aid)
        assert (application.status, application.motivation, application.protocol_number) == (
            "excluded", "Non opera nell'Ambito.", "PG 2025/123")
    assert "Esclusa" in client.get(path).get_data(as_text=True)


def test_publication_window_can_be_changed(app):
    with app.app_context():
        session = db.session
        s = build(session)
        fill(session, s)
        advance(session, s, "avviso_pubblicato")
        client, _token = login_client(app, s.rup)
        pid = s.procedure.id
        item = session.scalar(select(PublicationItem).where(PublicationItem.kind == "tavolo"))
        item_id = item.id
    path = f"/amministrazione/procedure/{pid}/pubblicazioni"
    wrong = _post(client, path, {"w-item_id": str(item_id), "w-published_from": "2025-03-03T10:00",
                                 "w-published_until": "2025-03-01T10:00"})
    assert wrong.status_code == 422 and "deve terminare dopo il suo inizio" in wrong.get_data(as_text=True)
    ok = _post(client, path, {"w-item_id": str(item_id), "w-published_from": "2025-03-03T10:00",
                              "w-published_until": "2025-04-01T10:00"})
    assert ok.status_code == 303
    with app.app_context():
        item = db.session.get(PublicationItem, item_id)
        assert item.published_until.isoformat() == "2025-04-01T08:00:00+00:00"
