"""Who sees what. The tavolo's people see drafts, remarks and history; non-members and anonymous
visitors see nothing of them — only, once the procedure is published, the public record: the
convocations with agendas, the approved verbali (edition for publication, PDF/A, hash) and the closed
votes, each with its publication window. The read API gives the same, and documents it."""
from __future__ import annotations

from datetime import timedelta

import pytest
from jsonschema import Draft202012Validator

from tests.minutes.support import approved, get, publish_procedure, to_review
from tests.world import login_client
from workspace.db import utcnow
from workspace.minutes.models import Verbale

NAMES = ("Delia Delegata", "Dario Delegato", "Fabio Facilitatore", "Carlo Collega", "Olga Osservatrice",
         "Amministratrice")


def _internal(s) -> list[str]:
    base = f"/tavoli/{s.tavolo.id}/verbali/{s.verbale_id}"
    return [f"/tavoli/{s.tavolo.id}/verbali", base, f"{base}/storia", f"{base}/documento.odt",
            f"{base}/registro.csv", f"/tavoli/{s.tavolo.id}/sedute/{s.seduta.id}/verbale"]


def _public(s) -> list[str]:
    procedure = s.tavolo.procedure_id
    return [f"/procedure/{procedure}/verbali", f"/procedure/{procedure}/verbali/{s.verbale_id}",
            f"/procedure/{procedure}/verbali/{s.verbale_id}/verbale.pdf",
            f"/api/v1/procedure/{procedure}/verbali", f"/api/v1/verbali/{s.verbale_id}"]


@pytest.mark.parametrize("who", ["facilitator", "delegate", "colleague", "observer", "admin"])
def test_the_tavolo_people_read_the_draft(app, scripted, in_app, who):
    s = scripted
    with in_app() as db:
        to_review(db, s)
    client, _ = login_client(app, getattr(s, who))
    for url in _internal(s):
        response = client.get(url)
        assert response.status_code in (200, 302), (url, response.status_code)
    page = client.get(_internal(s)[1]).get_data(as_text=True)
    assert "Verbale della seduta n. 1" in page and "Delia Delegata" in page


def test_non_members_and_anonymous_see_nothing_internal(app, scripted, in_app):
    s = scripted
    with in_app() as db:
        to_review(db, s)
    outsider, _ = login_client(app, s.outsider)
    anonymous = app.test_client()
    for url in _internal(s):
        assert outsider.get(url).status_code == 403, url
        response = anonymous.get(url)
        assert response.status_code == 302 and "/accedi" in response.headers["Location"], url


def test_nothing_public_while_the_procedure_is_not_published(app, scripted, in_app):
    s = scripted
    with in_app() as db:
        approved(db, s)
    outsider, _ = login_client(app, s.outsider)
    for client in (app.test_client(), outsider):
        for url in _public(s):
            response = client.get(url)
            assert response.status_code == 404, (url, response.status_code)
            assert not any(name in response.get_data(as_text=True) for name in NAMES)


def test_drafts_and_remarks_never_reach_the_public(app, scripted, in_app):
    s = scripted
    with in_app() as db:
        publish_procedure(db, s)
        verbale = to_review(db, s)
        from workspace.minutes import review

        review.file_remark(db, s.delegate, verbale, None, "Osservazione riservata ai partecipanti.")
        db.commit()
    outsider, _ = login_client(app, s.outsider)
    procedure = s.tavolo.procedure_id
    for client in (app.test_client(), outsider):
        index = client.get(f"/procedure/{procedure}/verbali")
        assert index.status_code == 200
        html = index.get_data(as_text=True)
        assert "Nessun verbale approvato." in html and "Osservazione riservata" not in html
        assert "Apertura" in html and "Bisogni emersi" in html  # the convocation with its agenda
        for url in _public(s)[1:3] + _public(s)[4:]:
            assert client.get(url).status_code == 404, url
        record = client.get(f"/api/v1/procedure/{procedure}/verbali").get_json()
        assert record["tavoli"][0]["verbali"] == []
        assert "Osservazione riservata" not in repr(record)


def test_the_public_record_of_a_published_procedure(app, scripted, in_app):
    s = scripted
    with in_app() as db:
        publish_procedure(db, s)
        verbale = approved(db, s)
        digest, pdf_digest, public_pdf = verbale.content_sha256, verbale.public_pdf_sha256, verbale.public_pdf
    procedure = s.tavolo.procedure_id
    client = app.test_client()
    html = client.get(f"/procedure/{procedure}/verbali").get_data(as_text=True)
    assert digest in html and "Verbale della seduta n. 1" in html
    assert "Priorità della seduta" in html  # the closed vote, with its ranking
    assert "Trasporto sociale verso gli ospedali" in html
    assert "In pubblicazione dal" in html
    page = client.get(f"/procedure/{procedure}/verbali/{s.verbale_id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert digest in text and pdf_digest in text and "Associazione Alfa (prova)" in text
    assert not [name for name in NAMES if name in text]
    pdf = client.get(f"/procedure/{procedure}/verbali/{s.verbale_id}/verbale.pdf")
    assert pdf.status_code == 200 and pdf.data == public_pdf
    # The procedure's own public page links here.
    assert f"/procedure/{procedure}/verbali" in client.get(f"/procedure/{procedure}").get_data(as_text=True)


def test_the_api_gives_the_same_and_matches_its_documentation(app, scripted, in_app):
    s = scripted
    with in_app() as db:
        publish_procedure(db, s)
        verbale = approved(db, s)
        digest = verbale.content_sha256
    client = app.test_client()
    document = client.get("/api/v1/openapi.json").get_json()

    def validator(path: str):
        schema = document["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        return Draft202012Validator({**schema, "components": document["components"]})

    procedure = s.tavolo.procedure_id
    record = client.get(f"/api/v1/procedure/{procedure}/verbali").get_json()
    validator("/procedure/{procedure_id}/verbali").validate(record)
    [tavolo] = record["tavoli"]
    assert [v["sha256"] for v in tavolo["verbali"]] == [digest]
    assert [c["agenda"] for c in tavolo["convocations"]] == [["Apertura", "Bisogni emersi", "Varie"]]
    assert [v["round_id"] for v in tavolo["votes"]] == [s.round_id]
    one = client.get(f"/api/v1/verbali/{s.verbale_id}").get_json()
    validator("/verbali/{verbale_id}").validate(one)
    assert one["sha256"] == digest and one["content"]["approval"]["person"] is None
    assert not [name for name in NAMES if name in repr(one)]
    assert client.get("/api/v1/verbali/999999").status_code == 404
    assert client.get("/api/v1/procedure/999999/verbali").status_code == 404


def test_full_names_when_the_procedure_says_so(app, scripted, in_app):
    from workspace.minutes import service

    s = scripted
    with in_app() as db:
        publish_procedure(db, s)
        from workspace.procedures.models import Procedure

        service.update_settings(db, s.admin, db.get(Procedure, s.tavolo.procedure_id), approver="facilitator",
                                review_days=7,
                                naming="full_names", publication_years=5)
        db.commit()
        approved(db, s)
    text = app.test_client().get(f"/procedure/{s.tavolo.procedure_id}/verbali/{s.verbale_id}").get_data(as_text=True)
    assert "Delia Delegata" in text and "Fabio Facilitatore" in text


def test_out_of_its_window_a_verbale_is_gone(app, scripted, in_app):
    s = scripted
    with in_app() as db:
        publish_procedure(db, s)
        approved(db, s)
        # Five years later (simulated by moving the window back): no longer published.
        db.query(Verbale).filter_by(id=s.verbale_id).update(
            {"published_from": utcnow() - timedelta(days=6 * 365), "published_until": utcnow() - timedelta(days=1)})
        db.commit()
    client = app.test_client()
    procedure = s.tavolo.procedure_id
    assert "Nessun verbale approvato." in client.get(f"/procedure/{procedure}/verbali").get_data(as_text=True)
    assert client.get(f"/procedure/{procedure}/verbali/{s.verbale_id}").status_code == 404
    assert client.get(f"/api/v1/verbali/{s.verbale_id}").status_code == 404


def test_a_tavolo_withdrawn_from_the_public_record_takes_its_verbali(app, scripted, in_app):
    from workspace.procedures import publication
    from workspace.procedures.models import PublicationItem

    s = scripted
    with in_app() as db:
        publish_procedure(db, s)
        approved(db, s)
        item = db.query(PublicationItem).filter_by(kind="tavolo", ref_id=s.tavolo.id).one()
        publication.set_publication_window(db, s.admin, item, item.published_from, utcnow())
        db.commit()
    client = app.test_client()
    procedure = s.tavolo.procedure_id
    html = client.get(f"/procedure/{procedure}/verbali").get_data(as_text=True)
    assert "Tavolo anziani e fragilità" not in html
    assert client.get(f"/procedure/{procedure}/verbali/{s.verbale_id}").status_code == 404


def test_the_unchanged_draft_stays_internal(session):
    """A sanity check of the helpers: the scripted verbale starts as a draft of the world's tavolo."""
    from tests.minutes.support import scripted_seduta

    s = scripted_seduta(session)
    assert get(session, s).status == "bozza" and not s.tavolo.procedure.published
