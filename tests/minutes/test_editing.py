"""Writing the narrative: Markdown through the sanitiser, optimistic locking (a stale save is a 409
that shows the newer text beside the writer's own, nothing lost), every version kept with author and
time, and the history page with its differences."""
from __future__ import annotations

import re

from tests.core.html_check import csp_violations
from tests.helpers import csrf_token_from, refused
from tests.minutes.support import get, scripted_seduta, write
from tests.world import login_client
from workspace.minutes import history, service
from workspace.minutes.models import VerbaleVersion


def _page(s, key: str | None = None) -> str:
    base = f"/tavoli/{s.tavolo.id}/verbali/{s.verbale_id}"
    return f"{base}/sezioni/{key}" if key else base


def test_sections_are_versioned_with_author_and_time(session):
    s = scripted_seduta(session)
    verbale = get(session, s)
    entry = service.save_section(session, s.facilitator, verbale, "apertura", "Prima stesura.", 0)
    session.commit()
    assert (entry.number, entry.section, entry.text, entry.author_name) == (2, "apertura", "Prima stesura.",
                                                                         "Fabio Facilitatore")
    assert entry.at is not None
    again = service.save_section(session, s.admin, verbale, "apertura", "Seconda stesura.\r\n", 2)
    session.commit()
    assert (again.number, again.author_name, verbale.narrative["apertura"]) == (3, "Amministratrice",
                                                                                "Seconda stesura.")
    # Saving the same text again writes no version.
    assert service.save_section(session, s.facilitator, verbale, "apertura", "Seconda stesura.", 3) is None
    assert [v.number for v in verbale.versions] == [1, 2, 3]


def test_a_stale_save_is_refused_and_keeps_everything(session):
    s = scripted_seduta(session)
    write(session, s, "apertura", "Testo di Fabio.")
    verbale = get(session, s)
    problem = refused(session, lambda: service.save_section(session, s.admin, verbale, "apertura", "Testo mio.", 0),
                      "stale_version", 409, "qualcun altro")
    assert "versione 2" in problem.message
    assert get(session, s).narrative["apertura"] == "Testo di Fabio."


def test_locking_is_per_section(session):
    s = scripted_seduta(session)
    key = f"punto-{s.seduta.agenda[0].id}"
    write(session, s, "apertura", "Apertura.")
    # Another section started from version 0 is not stale: nobody wrote it since.
    service.save_section(session, s.facilitator, get(session, s), key, "Punto uno.", 0)
    session.commit()
    assert get(session, s).narrative == {"apertura": "Apertura.", key: "Punto uno."}


def test_bad_writes_are_refused(session):
    s = scripted_seduta(session)
    verbale = get(session, s)
    refused(session, lambda: service.save_section(session, s.delegate, verbale, "apertura", "x", 0),
            "forbidden", 403, "facilitatori")
    refused(session, lambda: service.save_section(session, s.outsider, verbale, "apertura", "x", 0),
            "forbidden", 403)
    refused(session, lambda: service.save_section(session, s.facilitator, verbale, "punto-999999", "x", 0),
            "not_found", 404, "Sezione")
    refused(session, lambda: service.save_section(session, s.facilitator, verbale, "apertura", "x" * 20_001, 0),
            "too_long", 413, "20000")
    refused(session, lambda: service.save_section(session, s.facilitator, verbale, "apertura", "x", "zero"),
            "invalid", 422, "Versione")
    refused(session, lambda: service.save_section(session, s.facilitator, verbale, "apertura", 12, 0),
            "invalid", 422, "testo")


def test_markdown_is_sanitised_on_the_page(app, scripted, in_app):
    s = scripted
    with in_app() as db:
        write(db, s, "apertura", "Testo **forte** <script>alert(1)</script> [x](javascript:alert(1))")
    client, _ = login_client(app, s.delegate)
    response = client.get(_page(s))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<strong>forte</strong>" in html
    assert "<script>alert(1)</script>" not in html and 'href="javascript' not in html
    assert csp_violations(html) == []  # the document preview carries no style attributes


def test_edit_page_and_save_over_http(app, scripted, in_app):
    s = scripted
    client, _ = login_client(app, s.facilitator)
    form = client.get(_page(s, "apertura"))
    assert form.status_code == 200
    html = form.get_data(as_text=True)
    assert re.search(r'name="version"[^>]*value="0"', html)
    response = client.post(_page(s, "apertura"), data={"csrf_token": csrf_token_from(html), "version": "0",
                                                       "text": "Scritto dal browser."})
    assert response.status_code == 302 and response.headers["Location"].endswith("#sezione-apertura")
    with in_app() as db:
        assert get(db, s).narrative["apertura"] == "Scritto dal browser."


def test_a_stale_save_over_http_answers_409_with_both_texts(app, scripted, in_app):
    s = scripted
    fabio, _ = login_client(app, s.facilitator)
    anna, _ = login_client(app, s.admin)
    fabio_form = fabio.get(_page(s, "apertura")).get_data(as_text=True)
    anna_form = anna.get(_page(s, "apertura")).get_data(as_text=True)
    assert fabio.post(_page(s, "apertura"), data={"csrf_token": csrf_token_from(fabio_form), "version": "0",
                                                  "text": "Il testo di Fabio."}).status_code == 302
    stale = anna.post(_page(s, "apertura"), data={"csrf_token": csrf_token_from(anna_form), "version": "0",
                                                  "text": "Il testo di Anna."})
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert "Il testo salvato nel frattempo" in html and "Il testo di Fabio." in html
    assert "Il testo di Anna." in html  # her own text, still in the form
    assert "Fabio Facilitatore" in html
    # The form now carries the newer version: saving again goes through.
    version = re.search(r'name="version"[^>]*value="(\d+)"', html).group(1)
    assert version == "2"
    again = anna.post(_page(s, "apertura"), data={"csrf_token": csrf_token_from(html), "version": version,
                                                  "text": "Il testo di Fabio, con quello di Anna."})
    assert again.status_code == 302
    with in_app() as db:
        assert get(db, s).narrative["apertura"] == "Il testo di Fabio, con quello di Anna."
        assert [v.author_name for v in get(db, s).versions if v.section == "apertura"] == [
            "Fabio Facilitatore", "Amministratrice"]


def test_edit_page_refuses_who_may_not_write(app, scripted, in_app):
    s = scripted
    delegate, _ = login_client(app, s.delegate)
    assert delegate.get(_page(s, "apertura")).status_code == 403
    outsider, _ = login_client(app, s.outsider)
    assert outsider.get(_page(s, "apertura")).status_code == 403
    facilitator, _ = login_client(app, s.facilitator)
    assert facilitator.get(_page(s, "nessuna")).status_code == 404
    html = facilitator.get(_page(s, "apertura")).get_data(as_text=True)
    missing_version = facilitator.post(_page(s, "apertura"), data={"csrf_token": csrf_token_from(html),
                                                                   "text": "x"})
    assert missing_version.status_code == 422
    no_csrf = facilitator.post(_page(s, "apertura"), data={"version": "0", "text": "x"})
    assert no_csrf.status_code == 400  # the CSRF protection refuses it before the view
    with in_app() as db:
        assert "apertura" not in get(db, s).narrative


def test_word_differences():
    assert history.diff("il tavolo si apre alle 15", "il tavolo si è aperto alle 15:30") == [
        ("equal", "il tavolo si "), ("delete", "apre"), ("insert", "è aperto"), ("equal", " alle "),
        ("delete", "15"), ("insert", "15:30")]
    assert history.diff("", "nuovo") == [("insert", "nuovo")]
    assert history.diff("uguale", "uguale") == [("equal", "uguale")]


def test_history_page_shows_differences_accessibly(app, scripted, in_app):
    s = scripted
    with in_app() as db:
        write(db, s, "apertura", "Il tavolo si apre alle 15.")
        write(db, s, "apertura", "Il tavolo si apre alle 15:30.")
        assert db.query(VerbaleVersion).filter_by(verbale_id=s.verbale_id).count() == 3
    client, _ = login_client(app, s.observer)
    response = client.get(f"/tavoli/{s.tavolo.id}/verbali/{s.verbale_id}/storia")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<del><span class="visually-hidden">[testo tolto: </span>15.<span class="visually-hidden">]</span></del>' in html
    assert '<ins><span class="visually-hidden">[testo aggiunto: </span>15:30.' in html
    assert html.count("Fabio Facilitatore") >= 3  # generation and two saves
    assert "Bozza generata dal registro della seduta" in html
    outsider, _ = login_client(app, s.outsider)
    assert outsider.get(f"/tavoli/{s.tavolo.id}/verbali/{s.verbale_id}/storia").status_code == 403
