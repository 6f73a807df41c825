"""The bisogni pages, driven like a browser without JavaScript: forms with their CSRF token,
refusals in Italian with the service's status, nothing written when refused. SQLite and PostgreSQL."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.core.html_check import csp_violations, scan
from tests.needs.support import count, form_data, post, text
from tests.world import AMBITO, add_bisogno, login_client
from workspace.accounts.models import Organisation
from workspace.db import db, utcnow
from workspace.needs import service as needs_service
from workspace.needs.models import Annotation, Bisogno, BisognoVersion
from workspace.reference.models import Ambito, KeyPoint
from workspace.tavoli.models import Tavolo


def key_point(app, macroarea: str) -> tuple[int, str]:
    with app.app_context():
        kp = db.session.scalars(select(KeyPoint).where(KeyPoint.macroarea_code == macroarea)
                                .order_by(KeyPoint.position)).first()
        return kp.id, kp.text


def urls(world) -> dict[str, str]:
    base = f"/tavoli/{world.tavolo.id}"
    return {"list": f"{base}/bisogni", "new": f"{base}/bisogni/nuovo", "novita": f"{base}/novita"}


def bisogno_url(world, bisogno_id: int, suffix: str = "") -> str:
    return f"/tavoli/{world.tavolo.id}/bisogni/{bisogno_id}{suffix}"


def unique_ids(html: str) -> bool:
    ids = [e.attrs["id"] for e in scan(html).elements if e.attrs.get("id")]
    return len(ids) == len(set(ids))


def new_bisogno(app, world, who=None, **overrides) -> int:
    with app.app_context():
        return add_bisogno(db.session, world, db.session.merge(who or world.delegate), **overrides).id


# --------------------------------------------------------------------------- create


def test_create_through_the_form_then_list_and_detail(app, world):
    client, token = login_client(app, world.delegate)
    page = client.get(urls(world)["new"])
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert csp_violations(html) == [] and unique_ids(html)
    # Every key point of every active macroarea, grouped in a fieldset per macroarea.
    kp_e, kp_e_text = key_point(app, "E")
    kp_a, _text = key_point(app, "A")
    assert f'value="{kp_e}"' in html and f'value="{kp_a}"' in html
    assert html.count("<fieldset") >= 11
    assert "Markdown" in html
    assert world.comune.name in html

    response = post(client, token, urls(world)["new"],
                    form_data(key_points=[str(kp_e)], comuni=[str(world.comune.id)], transversal=["A"]))
    assert response.status_code == 302, text(response)
    with app.app_context():
        bisogno = db.session.scalars(select(Bisogno)).one()
        assert bisogno.title == "Isolamento degli anziani nelle frazioni"
        assert [k.id for k in bisogno.key_points] == [kp_e]
        assert [m.code for m in bisogno.transversal] == ["A"]
        assert [c.id for c in bisogno.comuni] == [world.comune.id]
        assert bisogno.evidence_year == 2023 and bisogno.consolidation == "nuovo"
        assert bisogno.organisation_id == world.ets.id
        bid = bisogno.id
    assert response.headers["Location"].endswith(bisogno_url(world, bid))

    listing = client.get(urls(world)["list"])
    assert listing.status_code == 200
    body = text(listing)
    assert "Isolamento degli anziani nelle frazioni" in body
    assert world.ets.name in body and "Proposto" in body and "0 annotazioni" in body

    detail = client.get(bisogno_url(world, bid))
    assert detail.status_code == 200
    html = detail.get_data(as_text=True)
    assert csp_violations(html) == []
    assert "<strong>non hanno trasporti</strong>" in html and "<li>nessun bus la domenica</li>" in html
    assert kp_e_text in text(detail) and world.comune.name in html and "412 persone" in html


def test_list_filters(app, world):
    new_bisogno(app, world, title="Bisogno consolidato", consolidation="consolidato")
    nuovo_id = new_bisogno(app, world, title="Bisogno nuovo", consolidation="nuovo")
    with app.app_context():
        needs_service.set_status(db.session, db.session.merge(world.facilitator),
                                 db.session.get(Bisogno, nuovo_id), "in_discussione")
        db.session.commit()
    client, _token = login_client(app, world.observer)
    url = urls(world)["list"]
    both = text(client.get(url))
    assert "Bisogno consolidato" in both and "Bisogno nuovo" in both
    only_new = text(client.get(url + "?consolidamento=nuovo"))
    assert "Bisogno nuovo" in only_new and "Bisogno consolidato" not in only_new
    discussed = text(client.get(url + "?stato=in_discussione"))
    assert "Bisogno nuovo" in discussed and "Bisogno consolidato" not in discussed
    assert "Nessun bisogno corrisponde" in text(client.get(url + "?macroarea=E&stato=ritirato"))
    # An unknown filter value is ignored, not an error.
    assert client.get(url + "?stato=boh").status_code == 200


def _other_ambito_comune(app) -> int:
    with app.app_context():
        code = db.session.scalars(select(Ambito.code).where(Ambito.code != AMBITO).order_by(Ambito.code)).first()
        org = Organisation(name="Comune di un altro Ambito", kind="comune", ambito_code=code)
        db.session.add(org)
        db.session.commit()
        return org.id


@pytest.mark.parametrize("case", ["no_title", "foreign_key_point", "foreign_comune", "year_1800", "too_long",
                                  "wrong_macroarea", "whole_and_comuni"])
def test_form_errors_are_refused_in_italian_and_write_nothing(app, world, case):
    kp_a, _text = key_point(app, "A")
    overrides, status, message = {
        "no_title": ({"title": "  "}, 422, "Il campo «Titolo» è obbligatorio."),
        "foreign_key_point": ({"key_points": [str(kp_a)]}, 422,
                              "I punti chiave vanno scelti fra quelli ufficiali delle macroaree del bisogno."),
        "foreign_comune": ({"comuni": [str(_other_ambito_comune(app))]}, 422,
                           "Il territorio va scelto fra i Comuni dell'Ambito."),
        "year_1800": ({"evidence_year": "1800"}, 422,
                      "L'anno del dato deve essere compreso fra 1990 e l'anno in corso."),
        "too_long": ({"description": "x" * 20_001}, 413, "supera il limite di 20.000 caratteri"),
        "wrong_macroarea": ({"macroarea": "A"}, 422, "La macroarea principale deve essere una di quelle del tavolo."),
        "whole_and_comuni": ({"whole_ambito": "y", "comuni": [str(world.comune.id)]}, 422,
                             "Indicare l'intero Ambito oppure i singoli Comuni, non entrambi."),
    }[case]
    client, token = login_client(app, world.delegate)
    response = post(client, token, urls(world)["new"], form_data(**overrides))
    assert response.status_code == status
    body = text(response)
    assert message in body
    assert 'role="alert"' in body
    if case != "no_title":  # what was typed is still there
        assert 'value="Isolamento degli anziani nelle frazioni"' in body
    assert count(app, Bisogno) == 0
    assert count(app, BisognoVersion) == 0


def test_window_closed_page_says_so_and_post_is_409(app, world):
    with app.app_context():
        tavolo = db.session.get(Tavolo, world.tavolo.id)
        tavolo.contribution_opens_at = utcnow() + timedelta(days=2)
        db.session.commit()
    client, token = login_client(app, world.delegate)
    page = client.get(urls(world)["new"])
    assert page.status_code == 200
    body = text(page)
    assert "La raccolta dei contributi apre il" in body
    assert re.search(r"dal \d\d/\d\d/\d{4} \d\d:\d\d al \d\d/\d\d/\d{4} \d\d:\d\d", body)
    assert 'name="title"' not in body
    response = post(client, token, urls(world)["new"], form_data())
    assert response.status_code == 409
    assert "La raccolta dei contributi apre il" in text(response)
    assert count(app, Bisogno) == 0


# --------------------------------------------------------------------------- permissions


def test_observer_reads_but_cannot_write(app, world):
    bid = new_bisogno(app, world)
    client, token = login_client(app, world.observer)
    for url in (urls(world)["list"], bisogno_url(world, bid), bisogno_url(world, bid, "/storia"),
                urls(world)["novita"]):
        assert client.get(url).status_code == 200, url
    detail = text(client.get(bisogno_url(world, bid)))
    assert "Aggiungi un'annotazione" not in detail and "Modifica" not in detail
    for url in (urls(world)["new"], bisogno_url(world, bid, "/modifica")):
        assert client.get(url).status_code == 403
    refused = post(client, token, urls(world)["new"], form_data())
    assert refused.status_code == 403
    assert "Solo i facilitatori e i delegati" in text(refused)
    note = post(client, token, bisogno_url(world, bid, "/annotazioni"), {"kind": "dato", "body": "Un dato"})
    assert note.status_code == 403
    assert count(app, Bisogno) == 1 and count(app, Annotation) == 0


def test_outsider_and_anonymous_are_kept_out(app, world):
    bid = new_bisogno(app, world)
    client, token = login_client(app, world.outsider)
    for url in (urls(world)["list"], urls(world)["new"], bisogno_url(world, bid), bisogno_url(world, bid, "/storia"),
                urls(world)["novita"]):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "Non fai parte di questo tavolo." in text(response)
    assert post(client, token, urls(world)["new"], form_data()).status_code == 403
    assert count(app, Bisogno) == 1
    anonymous = app.test_client().get(urls(world)["list"])
    assert anonymous.status_code == 302 and "/accedi" in anonymous.headers["Location"]
    # A bisogno of the tavolo under another tavolo's address does not exist.
    assert client.get(f"/tavoli/999999/bisogni/{bid}").status_code == 404


def test_post_without_csrf_token_is_refused(app, world):
    client, _token = login_client(app, world.delegate)
    response = client.post(urls(world)["new"], data=form_data())
    assert response.status_code == 400
    assert count(app, Bisogno) == 0


# --------------------------------------------------------------------------- edit and history


def test_edit_with_stale_version_is_409_and_history_shows_both_values(app, world):
    bid = new_bisogno(app, world, title="Titolo originale")
    client, token = login_client(app, world.delegate)
    page = client.get(bisogno_url(world, bid, "/modifica"))
    assert page.status_code == 200
    assert re.search(r'name="version" value="1"', page.get_data(as_text=True))
    # Someone else saves in between.
    with app.app_context():
        needs_service.update_bisogno(db.session, db.session.merge(world.colleague), db.session.get(Bisogno, bid),
                                     {"title": "Titolo del collega"}, expected_version=1)
        db.session.commit()
    stale = post(client, token, bisogno_url(world, bid, "/modifica"),
                 form_data(title="Il mio titolo", version="1"))
    assert stale.status_code == 409
    body = text(stale)
    assert "modificato nel frattempo" in body
    assert 'value="Il mio titolo"' in body  # the text typed is not lost
    with app.app_context():
        assert db.session.get(Bisogno, bid).title == "Titolo del collega"

    fresh = post(client, token, bisogno_url(world, bid, "/modifica"),
                 form_data(title="Il mio titolo", version="2", evidence_year="2024"))
    assert fresh.status_code == 302, text(fresh)
    with app.app_context():
        bisogno = db.session.get(Bisogno, bid)
        assert (bisogno.title, bisogno.version) == ("Il mio titolo", 3)

    history = client.get(bisogno_url(world, bid, "/storia"))
    assert history.status_code == 200
    assert csp_violations(history.get_data(as_text=True)) == []
    body = text(history)
    for value in ("Titolo originale", "Titolo del collega", "Il mio titolo", "Versione 3", "Prima", "Dopo"):
        assert value in body, value
    assert world.colleague.name in body and world.delegate.name in body


def test_edit_refused_to_another_organisation(app, world):
    bid = new_bisogno(app, world)
    client, token = login_client(app, world.delegate2)
    assert client.get(bisogno_url(world, bid, "/modifica")).status_code == 403
    response = post(client, token, bisogno_url(world, bid, "/modifica"), form_data(title="Altro", version="1"))
    assert response.status_code == 403
    with app.app_context():
        assert db.session.get(Bisogno, bid).version == 1


# --------------------------------------------------------------------------- annotations


def test_annotate_reply_support_and_delete_own(app, world):
    bid = new_bisogno(app, world)
    client, token = login_client(app, world.delegate2)
    response = post(client, token, bisogno_url(world, bid, "/annotazioni"),
                    {"kind": "risorsa", "body": "Offriamo **due volontari** il sabato."})
    assert response.status_code == 302
    with app.app_context():
        note_id = db.session.scalars(select(Annotation.id)).one()
    reply = post(client, token, bisogno_url(world, bid, "/annotazioni"),
                 {"kind": "proposta", "body": "E un furgone.", "parent_id": str(note_id)})
    assert reply.status_code == 302

    other, other_token = login_client(app, world.delegate)
    assert post(other, other_token, f"/tavoli/{world.tavolo.id}/annotazioni/{note_id}/sostegno",
                {"support": "1"}).status_code == 302
    detail = other.get(bisogno_url(world, bid))
    html = detail.get_data(as_text=True)
    assert csp_violations(html) == []
    assert "<strong>due volontari</strong>" in html
    assert "Sostenuta da 1 organizzazione:" in html and world.ets.name in html
    assert "Ritira il sostegno" in html
    assert "Risorse offerte" in html
    assert html.index("due volontari") < html.index("E un furgone.")  # the reply sits under it
    assert unique_ids(html)
    # «Rispondi» pre-selects the annotation answered, without JavaScript.
    replying = other.get(bisogno_url(world, bid) + f"?risposta={note_id}").get_data(as_text=True)
    assert f'<option value="{note_id}" selected>' in replying

    # The author deletes their own annotation: its text disappears, its place stays.
    assert post(client, token, f"/tavoli/{world.tavolo.id}/annotazioni/{note_id}/elimina").status_code == 302
    html = client.get(bisogno_url(world, bid)).get_data(as_text=True)
    assert "due volontari" not in html
    assert "eliminata da chi l" in html and "E un furgone." in html
    # Someone else may not delete it (and a delegate may not moderate).
    with app.app_context():
        reply_id = db.session.scalars(select(Annotation.id).where(Annotation.parent_id == note_id)).one()
    refused = post(other, other_token, f"/tavoli/{world.tavolo.id}/annotazioni/{reply_id}/elimina",
                   {"reason": "non mi piace"})
    assert refused.status_code == 403


def test_annotation_errors_are_shown_on_the_detail_page(app, world):
    bid = new_bisogno(app, world)
    client, token = login_client(app, world.delegate)
    empty = post(client, token, bisogno_url(world, bid, "/annotazioni"), {"kind": "dato", "body": ""})
    assert empty.status_code == 422
    assert "Il campo «Testo» è obbligatorio." in text(empty)
    bad_kind = post(client, token, bisogno_url(world, bid, "/annotazioni"), {"kind": "boh", "body": "Testo"})
    assert bad_kind.status_code == 422
    body = text(bad_kind)
    assert "Tipo di annotazione non valido." in body and ">Testo</textarea>" in body
    assert count(app, Annotation) == 0


def test_moderation_needs_a_reason(app, world):
    bid = new_bisogno(app, world)
    with app.app_context():
        note, _ev = needs_service.add_annotation(db.session, db.session.merge(world.delegate2),
                                                 db.session.get(Bisogno, bid), "criticita", "Testo offensivo")
        db.session.commit()
        note_id = note.id
    client, token = login_client(app, world.facilitator)
    url = f"/tavoli/{world.tavolo.id}/annotazioni/{note_id}/elimina"
    refused = post(client, token, url, {"reason": "   "})
    assert refused.status_code == 422
    assert "Il campo «Motivazione» è obbligatorio." in text(refused)
    assert "<details open>" in refused.get_data(as_text=True)  # the moderation form stays open
    with app.app_context():
        assert db.session.get(Annotation, note_id).deleted_at is None

    assert post(client, token, url, {"reason": "Linguaggio non rispettoso"}).status_code == 302
    with app.app_context():
        note = db.session.get(Annotation, note_id)
        assert note.moderated and note.deletion_reason == "Linguaggio non rispettoso"
    detail = text(client.get(bisogno_url(world, bid)))
    assert "Testo offensivo" not in detail and "Linguaggio non rispettoso" in detail
    history = text(client.get(bisogno_url(world, bid, "/storia")))
    assert "Annotazione moderata" in history and "Linguaggio non rispettoso" in history


def test_status_merge_and_withdraw(app, world):
    first = new_bisogno(app, world, title="Primo bisogno")
    second = new_bisogno(app, world, title="Secondo bisogno")
    delegate, dtoken = login_client(app, world.delegate)
    # Status changes other than withdrawal are the facilitator's.
    refused = post(delegate, dtoken, bisogno_url(world, first, "/stato"), {"status": "in_discussione"})
    assert refused.status_code == 403
    facilitator, ftoken = login_client(app, world.facilitator)
    assert post(facilitator, ftoken, bisogno_url(world, first, "/stato"),
                {"status": "in_discussione"}).status_code == 302
    bad = post(facilitator, ftoken, bisogno_url(world, first, "/stato"), {"status": "accorpato"})
    assert bad.status_code == 409 and "Passaggio di stato non consentito" in text(bad)
    assert post(facilitator, ftoken, bisogno_url(world, second, "/accorpa"), {"into": str(first)}).status_code == 302
    merged = text(facilitator.get(bisogno_url(world, second)))
    assert "Questo bisogno è stato accorpato in:" in merged and "Primo bisogno" in merged
    target_page = facilitator.get(bisogno_url(world, first))
    assert unique_ids(target_page.get_data(as_text=True))
    assert csp_violations(target_page.get_data(as_text=True)) == []
    target = text(target_page)
    assert "Accorpati qui" in target and "Secondo bisogno" in target

    third = new_bisogno(app, world, title="Terzo bisogno")
    page = text(delegate.get(bisogno_url(world, third)))
    assert "Ritira il bisogno" in page
    assert post(delegate, dtoken, bisogno_url(world, third, "/stato"), {"status": "ritirato"}).status_code == 302
    with app.app_context():
        assert db.session.get(Bisogno, third).status == "ritirato"
