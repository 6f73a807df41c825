"""Fault 3 of issue 12: text no person typed is refused in one place (workspace/text.py) — HTML
forms, live messages and the services — and accepted text is stored in NFC."""
from __future__ import annotations

import unicodedata

import pytest
from sqlalchemy import select

from tests.needs.support import count, form_data, post, text
from tests.world import add_bisogno, login_client
from workspace.db import db
from workspace.needs import service as needs_service
from workspace.needs.models import Annotation, Bisogno
from workspace.problems import Problem
from workspace.text import bad_character, clean


@pytest.mark.parametrize("value", ["a\x00b", "\x00", "a\x07b", "a\x1bb", "a\x7fb", "a\ud800b", "\udfff"])
def test_the_validator_refuses_what_no_person_types(value):
    assert bad_character(value) is not None
    with pytest.raises(Problem) as caught:
        clean(value, "Titolo")
    assert caught.value.status == 422 and "non ammesso" in caught.value.message


def test_the_validator_keeps_tabs_newlines_and_normalises_to_nfc():
    assert clean("a\tb\r\nc") == "a\tb\r\nc"
    decomposed = "perche\u0301 citta\u0300"
    assert clean(decomposed) == unicodedata.normalize("NFC", decomposed) == "perché città"


def test_forms_refuse_nul_and_controls_and_nothing_is_written(app, world, caplog):
    client, token = login_client(app, world.delegate)
    new = f"/tavoli/{world.tavolo.id}/bisogni/nuovo"
    before = count(app, Bisogno)
    for title in ("a\x00b", "a\x01b", "a\x1fb"):
        response = post(client, token, new, form_data(title=title))
        assert response.status_code == 422, (repr(title), response.status_code)
        assert "carattere non ammesso" in text(response)
    assert count(app, Bisogno) == before
    with app.app_context():
        bisogno = add_bisogno(db.session, world)
        bisogno_id = bisogno.id
    annotations = count(app, Annotation)
    response = post(client, token, f"/tavoli/{world.tavolo.id}/bisogni/{bisogno_id}/annotazioni",
                    {"kind": "dato", "body": "\x00"})
    assert response.status_code == 422 and "carattere nullo" in text(response)
    assert count(app, Annotation) == annotations
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]


def test_invalid_utf8_in_a_form_is_400_with_an_italian_message(app, world):
    client, token = login_client(app, world.delegate)
    new = f"/tavoli/{world.tavolo.id}/bisogni/nuovo"
    before = count(app, Bisogno)
    body = f"csrf_token={token}&macroarea=E&consolidation=nuovo&title=a%FF%FEb".encode()
    response = client.post(new, data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "codifica non valida" in text(response)
    assert count(app, Bisogno) == before


def test_decomposed_text_is_stored_in_nfc_and_the_person_is_told(app, world):
    client, token = login_client(app, world.delegate)
    new = f"/tavoli/{world.tavolo.id}/bisogni/nuovo"
    response = post(client, token, new, form_data(title="Perche\u0301 gli anziani della citta\u0300"),
                    follow_redirects=True)
    assert response.status_code == 200
    assert "forma Unicode normalizzata" in text(response)
    with app.app_context():
        title = db.session.scalar(select(Bisogno.title).order_by(Bisogno.id.desc()))
    assert title == "Perché gli anziani della città"


def test_services_refuse_control_characters_whatever_the_caller(app, world):
    with app.app_context():
        with pytest.raises(Problem) as caught:
            needs_service.create_bisogno(db.session, db.session.merge(world.delegate), db.session.merge(world.tavolo),
                                         {"title": "a\x00b", "macroarea": "E"})
        db.session.rollback()
    assert caught.value.status == 422


def test_live_lone_surrogate_is_an_error_ack_not_internal(app, world, connect, caplog):
    client = connect(world.delegate)
    client.emit("join", {"tavolo_id": world.tavolo.id}, namespace="/live", callback=True)
    before = count(app, Bisogno)
    for title in ("a\ud800b", "a\x00b"):
        ack = client.emit("bisogno.create", {"op_id": "surrogate-" + str(len(title)) + str(ord(title[1])),
                                             "tavolo_id": world.tavolo.id, "title": title, "macroarea": "E"},
                          namespace="/live", callback=True)
        assert ack["error"] == "invalid", ack
        assert "non ammesso" in ack["message"]
    assert count(app, Bisogno) == before
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
