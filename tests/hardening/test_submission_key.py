"""Fault 5 of issue 12: every creating HTML form carries a one-time submission key and a repeat of
the key returns the first result (workspace/web.py: ``transaction`` + ``@creates``)."""
from __future__ import annotations

import re

from sqlalchemy import select

from tests.needs.support import count, form_data, post
from tests.world import add_bisogno, login_client
from workspace.db import db
from workspace.needs.models import Annotation, Bisogno
from workspace.web import KEY_FIELD, SubmissionKey

KEY_INPUT = re.compile(r'name="submission_key" value="([A-Za-z0-9_-]{16,64})"')


def _creating_pages(world, bisogno_id: int) -> dict[str, tuple[str, object]]:
    """For every view marked ``@creates``: the page that shows its form, and who may open it."""
    t = world.tavolo.id
    p = world.tavolo.procedure_id
    return {
        "needs.nuovo": (f"/tavoli/{t}/bisogni/nuovo", world.delegate),
        "needs.annota": (f"/tavoli/{t}/bisogni/{bisogno_id}", world.delegate),
        "tavoli.new_tavolo": (f"/tavoli/amministrazione/procedure/{p}/nuovo-tavolo", world.admin),
        "tavoli.new_seduta": (f"/tavoli/{t}/sedute/nuova", world.facilitator),
        "voting.new_round": (f"/tavoli/{t}/votazioni/nuova", world.facilitator),
        "accounts.organisations": ("/amministrazione/organizzazioni", world.admin),
        "procedures.setup": ("/tavoli/amministrazione", world.admin),
        # The remark form is on the verbale page, the application form on a published avviso:
        # both checked in their templates below (their pages need a verbale / an open avviso).
        "minutes.remark": ("templates/minutes/verbale.html", None),
        "procedures.public_application": ("templates/procedures/public_application.html", None),
    }


def test_every_creating_view_has_its_form_carry_a_key(app, world):
    with app.app_context():
        bisogno_id = add_bisogno(db.session, world).id
    marked = sorted(name for name, fn in app.view_functions.items() if getattr(fn, "creates", False))
    pages = _creating_pages(world, bisogno_id)
    # A new creating view without a page here fails: add it (and the key to its form).
    assert marked == sorted(pages), marked
    for endpoint, (where, who) in pages.items():
        if who is None:
            from pathlib import Path
            source = (Path(__file__).resolve().parents[2] / where).read_text()
            assert "{{ submission_key() }}" in source, endpoint
            continue
        client, _token = login_client(app, who)
        html = client.get(where).get_data(as_text=True)
        assert KEY_INPUT.search(html), (endpoint, where)


def test_a_repeated_bisogno_form_creates_one_bisogno(app, world):
    client, token = login_client(app, world.delegate)
    new = f"/tavoli/{world.tavolo.id}/bisogni/nuovo"
    key = KEY_INPUT.search(client.get(new).get_data(as_text=True)).group(1)
    before = count(app, Bisogno)
    first = post(client, token, new, {**form_data(), KEY_FIELD: key})
    second = post(client, token, new, {**form_data(), KEY_FIELD: key})
    assert first.status_code == 302 and second.status_code == 303
    assert second.location.endswith(first.location.split("localhost", 1)[-1])
    assert count(app, Bisogno) == before + 1
    followed = client.get(second.location)
    assert "già stato inviato" in followed.get_data(as_text=True)
    # A fresh key is a new submission.
    third = post(client, token, new, {**form_data(), KEY_FIELD: "a" * 32})
    assert third.status_code == 302 and count(app, Bisogno) == before + 2


def test_a_repeated_annotation_creates_one_annotation(app, world):
    with app.app_context():
        bisogno_id = add_bisogno(db.session, world).id
    client, token = login_client(app, world.delegate)
    url = f"/tavoli/{world.tavolo.id}/bisogni/{bisogno_id}/annotazioni"
    before = count(app, Annotation)
    for _ in range(3):
        response = post(client, token, url, {"kind": "dato", "body": "Dato ISTAT 2024", KEY_FIELD: "k" * 24})
        assert response.status_code in (302, 303)
    assert count(app, Annotation) == before + 1


def test_someone_elses_key_is_refused_and_a_refused_form_keeps_its_key_unused(app, world):
    client, token = login_client(app, world.delegate)
    new = f"/tavoli/{world.tavolo.id}/bisogni/nuovo"
    refused = post(client, token, new, {**form_data(title=""), KEY_FIELD: "b" * 24})
    assert refused.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(SubmissionKey).where(SubmissionKey.key == "b" * 24)) is None
    assert post(client, token, new, {**form_data(), KEY_FIELD: "b" * 24}).status_code == 302
    other, other_token = login_client(app, world.colleague)
    again = post(other, other_token, new, {**form_data(), KEY_FIELD: "b" * 24})
    assert again.status_code == 409
