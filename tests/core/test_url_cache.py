"""The templates' url_for keeps the addresses it built: it must give exactly what Flask's url_for gives,
in every case it keeps, and leave the others to Flask."""
from __future__ import annotations

import flask


def test_kept_addresses_are_flasks_own(sqlite_app):
    cached = sqlite_app.jinja_env.globals["url_for"]
    cases = [("static", {"filename": "css/tavoli.css"}), ("tavoli.participant", {"tavolo_id": 7}),
             ("tavoli.participant", {"tavolo_id": 8}), ("voting.index", {"tavolo_id": 7, "pagina": 2}),
             ("accounts.login", {"next": "/tavoli/7?x=1&y=è"}), ("accounts.login", {})]
    with sqlite_app.test_request_context("/tavoli/3/partecipa"):
        for endpoint, values in cases * 2:  # the second time from what was kept
            assert cached(endpoint, **values) == flask.url_for(endpoint, **values), (endpoint, values)
        # Values equal in Python but not in an address are not confused.
        assert cached("voting.index", tavolo_id=7, pagina=1) != cached("voting.index", tavolo_id=7, pagina=True)
        # Not kept, built by Flask: external addresses, anchors, values that cannot be a key.
        assert cached("tavoli.participant", tavolo_id=7, _external=True) == \
            flask.url_for("tavoli.participant", tavolo_id=7, _external=True)
        assert cached("tavoli.participant", tavolo_id=7, _anchor="bisogni").endswith("#bisogni")
        assert cached("accounts.login", next=["a", "b"]) == flask.url_for("accounts.login", next=["a", "b"])


def test_relative_endpoints_follow_the_blueprint_and_the_script_root(sqlite_app):
    cached = sqlite_app.jinja_env.globals["url_for"]
    with sqlite_app.test_request_context("/tavoli/3/partecipa"):
        in_tavoli = cached(".participant", tavolo_id=3)
        assert in_tavoli == flask.url_for("tavoli.participant", tavolo_id=3)
    with sqlite_app.test_request_context("/tavoli/3/partecipa", base_url="http://localhost/piano/"):
        assert flask.request.script_root == "/piano"
        assert cached(".participant", tavolo_id=3) == flask.url_for(".participant", tavolo_id=3) == "/piano" + in_tavoli
