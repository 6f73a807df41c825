"""The other pages: the tavolo's verbali, a seduta without a verbale (generate it from the page), the
procedure's minutes settings for the Ufficio di Piano; each refuses who may not."""
from __future__ import annotations

import pytest

from tests.core.html_check import csp_violations
from tests.helpers import csrf_token_from, refused
from tests.minutes.support import scripted_seduta
from tests.world import login_client
from workspace.minutes import service
from workspace.minutes.models import MinutesSettings, Verbale
from workspace.problems import Problem
from workspace.tavoli import service as tavoli


def test_the_tavolo_verbali_list(app, scripted):
    s = scripted
    client, _ = login_client(app, s.observer)
    response = client.get(f"/tavoli/{s.tavolo.id}/verbali")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f"/tavoli/{s.tavolo.id}/verbali/{s.verbale_id}" in html and "Bozza" in html
    assert "Regole dei verbali" not in html  # observers do not configure
    assert csp_violations(html) == []
    admin, _ = login_client(app, s.admin)
    assert "Regole dei verbali della procedura" in admin.get(f"/tavoli/{s.tavolo.id}/verbali").get_data(as_text=True)
    assert login_client(app, s.outsider)[0].get(f"/tavoli/{s.tavolo.id}/verbali").status_code == 403
    assert client.get("/tavoli/999999/verbali").status_code == 404


def test_a_seduta_without_verbale_is_generated_from_the_page(app, world, in_app):
    w = world
    with in_app() as db:
        seduta = db.get(type(w.seduta), w.seduta.id)
        tavoli.start_seduta(db, db.merge(w.facilitator), seduta)
        db.commit()
        # Closed without a verbale (as if the area had been added later): the receiver is bypassed.
        seduta.status = "chiusa"
        db.commit()
    url = f"/tavoli/{w.tavolo.id}/sedute/{w.seduta.id}/verbale"
    delegate, _ = login_client(app, w.delegate)
    page = delegate.get(url).get_data(as_text=True)
    assert "non ha ancora un verbale" in page and "Genera la bozza" not in page
    refusal = delegate.post(f"{url}/genera", data={"csrf_token": csrf_token_from(page)})
    assert refusal.status_code == 403
    facilitator, _ = login_client(app, w.facilitator)
    page = facilitator.get(url).get_data(as_text=True)
    response = facilitator.post(f"{url}/genera", data={"csrf_token": csrf_token_from(page)})
    assert response.status_code == 302
    with in_app() as db:
        verbale = service.verbale_of(db, w.seduta.id)
        assert verbale is not None and verbale.status == "bozza"
        assert response.headers["Location"].endswith(f"/verbali/{verbale.id}")
    assert facilitator.get(url).status_code == 302  # now it leads to the verbale


def test_settings_service(session):
    s = scripted_seduta(session)
    procedure = s.tavolo.procedure
    assert service.settings_for(session, procedure.id).approver == "facilitator"
    assert session.get(MinutesSettings, procedure.id) is None  # defaults are not stored
    refused(session, lambda: service.update_settings(session, s.facilitator, procedure, approver="rup",
                                                     review_days=7, naming="full_names", publication_years=5),
            "forbidden", 403, "Ufficio di Piano")
    with pytest.raises(Problem) as caught:
        service.update_settings(session, s.admin, procedure, approver="sindaco", review_days=0,
                                naming="tutti", publication_years=99)
    assert set(caught.value.errors) == {"approver", "review_days", "naming", "publication_years"}
    session.rollback()
    settings = service.update_settings(session, s.admin, procedure, approver="rup", review_days=10,
                                       naming="full_names", publication_years=7)
    session.commit()
    assert (settings.approver, settings.review_days, settings.naming, settings.publication_years) == (
        "rup", 10, "full_names", 7)
    # The default review window of a verbale comes from here.
    from workspace.minutes import review

    verbale = review.send_for_review(session, s.facilitator, session.get(Verbale, s.verbale_id))
    assert verbale.review_days == 10


def test_settings_page(app, scripted, in_app):
    s = scripted
    url = f"/amministrazione/procedure/{s.tavolo.procedure_id}/verbali"
    assert login_client(app, s.facilitator)[0].get(url).status_code == 403
    assert app.test_client().get(url).status_code == 302
    admin, _ = login_client(app, s.admin)
    page = admin.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'value="7"' in html and csp_violations(html) == []
    bad = admin.post(url, data={"csrf_token": csrf_token_from(html), "approver": "rup", "review_days": "0",
                                "naming": "organisation_role", "publication_years": "5"})
    assert bad.status_code == 422 and "da 1 a 60 giorni" in bad.get_data(as_text=True)
    good = admin.post(url, data={"csrf_token": csrf_token_from(html), "approver": "rup", "review_days": "14",
                                 "naming": "organisation_role", "publication_years": "5"})
    assert good.status_code == 302
    with in_app() as db:
        stored = db.get(MinutesSettings, s.tavolo.procedure_id)
        assert (stored.approver, stored.review_days) == ("rup", 14)
    assert admin.get("/amministrazione/procedure/999999/verbali").status_code == 404
