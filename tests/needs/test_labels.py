"""One name for each kind of annotation, status and consolidation (workspace/needs/labels.py) on
every page that shows them — the bisogni pages, the live pages' data for their JavaScript, the
«novità» page — in Italian and, with the language cookie, in English."""
from __future__ import annotations

import json
import re
from html import unescape

import pytest

from tests.needs.support import text
from tests.world import add_bisogno, login_client
from workspace.db import db
from workspace.i18n import LANG_COOKIE
from workspace.needs import service as needs_service
from workspace.needs.labels import KIND_LABELS
from workspace.needs.models import Bisogno

ITALIAN = {"dato": "Dato o evidenza", "esperienza": "Esperienza sul campo", "risorsa": "Risorsa offerta",
           "criticita": "Criticità", "proposta": "Proposta"}
ENGLISH = {"dato": "Data or evidence", "esperienza": "Field experience", "risorsa": "Resource offered"}
OLD_WORDING = ("Dato / evidenza", "Esperienza dal territorio", "Risorsa disponibile")


def live_labels(response) -> dict:
    """The labels the live page hands to its JavaScript (data-i18n of the page's root)."""
    match = re.search(r"data-i18n='([^']*)'", response.get_data(as_text=True))
    assert match, "the live page carries no data-i18n"
    return json.loads(unescape(match.group(1)))


def test_the_annotation_kinds_have_the_agreed_italian_names():
    assert {k: str(v) for k, v in KIND_LABELS.items()} == ITALIAN


@pytest.mark.parametrize("language", ["it", "en"])
def test_pages_and_live_data_use_the_same_names(app, world, language):
    bisogno_id = add_bisogno_for(app, world)
    client, _token = login_client(app, world.delegate)
    if language == "en":
        client.set_cookie(LANG_COOKIE, "en")
    names = ITALIAN if language == "it" else {**ITALIAN, **ENGLISH}
    detail = text(client.get(f"/tavoli/{world.tavolo.id}/bisogni/{bisogno_id}"))
    data = live_labels(client.get(f"/tavoli/{world.tavolo.id}/partecipa"))
    news = text(client.get(f"/tavoli/{world.tavolo.id}/novita"))
    for kind in ("dato", "esperienza", "risorsa"):
        assert names[kind] in detail
        assert data["kinds"][kind] == names[kind]
    assert data["consolidation"]["consolidato"] == ("Consolidato" if language == "it" else "Established")
    assert set(data["bisogno_status"]) == {"proposto", "in_discussione", "accorpato", "ritirato"}
    assert f"(«{names['risorsa']}»)" in news or f"(“{names['risorsa']}”)" in news
    for old in OLD_WORDING:
        assert old not in detail and old not in json.dumps(data, ensure_ascii=False) and old not in news


def add_bisogno_for(app, world) -> int:
    """A bisogno with one annotation of each kind shown on the detail page, by another delegate."""
    with app.app_context():
        bisogno = add_bisogno(db.session, world, db.session.merge(world.delegate2))
        for kind in ("dato", "esperienza", "risorsa"):
            needs_service.add_annotation(db.session, db.session.merge(world.delegate2),
                                         db.session.get(Bisogno, bisogno.id), kind, f"Una nota di tipo {kind}")
        db.session.commit()
        return bisogno.id
