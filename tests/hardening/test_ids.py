"""Fault 2 of issue 12: ids are parsed once — by the ``int`` URL converter (workspace/ids.py) and
one field helper — so a number beyond the database's range, or a digit that is not ASCII, is a 404
or a 422 with an Italian message, never an OverflowError (500)."""
from __future__ import annotations

import pytest

from tests.needs.support import count, form_data, post, text
from tests.world import login_client
from workspace.ids import IdConverter, parse_id, parse_ids
from workspace.needs.models import Annotation, Bisogno
from workspace.problems import Problem

HUGE = "9223372036854775808"  # 2**63
TWENTY_THREE = "1" * 23


def test_parse_id_accepts_only_ascii_digits_in_range():
    assert parse_id("42") == 42 and parse_id(" 7 ") == 7 and parse_id(2**31 - 1) == 2**31 - 1
    for bad in ("", "0", "-1", "²", "٣", "1e3", "0x10", HUGE, TWENTY_THREE, str(2**31), True, 3.0, None, [1]):
        assert parse_id(bad) is None, bad
    with pytest.raises(Problem) as caught:
        parse_ids(["1", "²"], field="key_points")
    assert caught.value.status == 422 and "Identificativo" in caught.value.message


def test_every_int_route_uses_the_bounded_converter(app):
    rules = [r for r in app.url_map.iter_rules() if any(isinstance(c, IdConverter) for c in r._converters.values())]
    assert len(rules) > 40
    # No route kept werkzeug's unbounded integer converter.
    from werkzeug.routing import IntegerConverter
    plain = [r.rule for r in app.url_map.iter_rules()
             if any(type(c) is IntegerConverter for c in r._converters.values())]
    assert plain == []


def test_huge_ids_in_urls_are_404_anonymous_and_logged_in(app, world, caplog):
    anonymous = app.test_client()
    for url in (f"/api/v1/tavoli/{HUGE}/bisogni", f"/procedure/{HUGE}"):
        assert anonymous.get(url).status_code == 404, url
    client, _token = login_client(app, world.admin)
    # Every GET route with an int part, each id made huge: never a 500.
    checked = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or not rule.arguments:
            continue
        if not all(isinstance(rule._converters.get(a), IdConverter) for a in rule.arguments):
            continue
        url = rule.rule
        for arg in rule.arguments:
            url = url.replace(f"<int:{arg}>", HUGE)
        response = client.get(url)
        assert response.status_code == 404, (url, response.status_code)
        checked += 1
    assert checked > 20
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]


def test_huge_and_unicode_digit_ids_in_forms_are_422(app, world, caplog):
    client, token = login_client(app, world.delegate)
    new = f"/tavoli/{world.tavolo.id}/bisogni/nuovo"
    before = count(app, Bisogno)
    for field, value in (("key_points", TWENTY_THREE), ("comuni", TWENTY_THREE), ("key_points", "²"),
                         ("comuni", HUGE)):
        response = post(client, token, new, form_data(**{field: value}))
        assert response.status_code == 422, (field, value, response.status_code)
        assert "non valid" in text(response) or "vanno scelti" in text(response) or "Comuni" in text(response)
    assert count(app, Bisogno) == before
    client.post(new, data={**form_data(), "csrf_token": token})
    with app.app_context():
        from sqlalchemy import select

        from workspace.db import db
        bisogno_id = db.session.scalar(select(Bisogno.id).order_by(Bisogno.id.desc()))
    annotations = count(app, Annotation)
    response = post(client, token, f"/tavoli/{world.tavolo.id}/bisogni/{bisogno_id}/annotazioni",
                    {"kind": "dato", "body": "Risposta", "parent_id": TWENTY_THREE})
    assert response.status_code == 422 and "non valida" in text(response)
    assert count(app, Annotation) == annotations
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]


def test_rup_superscript_digit_is_refused(app, world, caplog):
    client, token = login_client(app, world.admin)
    procedure_id = world.tavolo.procedure_id
    response = post(client, token, f"/amministrazione/procedure/{procedure_id}/atto", {"rup_id": "²"})
    assert response.status_code == 422, response.status_code
    assert "RUP" in text(response)
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]


def test_huge_ids_in_post_urls_are_404(app, world, caplog):
    client, token = login_client(app, world.admin)
    checked = 0
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or not any(isinstance(c, IdConverter) for c in rule._converters.values()):
            continue
        url = rule.rule
        for arg in rule.arguments:
            url = url.replace(f"<int:{arg}>", HUGE).replace(f"<{arg}>", "x")
        response = client.post(url, data={"csrf_token": token})
        assert response.status_code == 404, (url, response.status_code)
        checked += 1
    assert checked > 25  # the annotation delete among them
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
