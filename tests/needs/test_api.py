"""GET /api/v1/tavoli/<id>/bisogni[/<bid>]: who may read, and the answers validate against the
documented schemas (resolved from /api/v1/openapi.json). SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator, ValidationError
from openapi_spec_validator import validate
from sqlalchemy import select

from tests.world import add_bisogno, login_client
from workspace.db import db
from workspace.needs import service as needs_service
from workspace.needs.models import Bisogno
from workspace.reference.models import KeyPoint
from workspace.tavoli.models import Tavolo

API = "/api/v1"
LIST = "/tavoli/{tavolo_id}/bisogni"
ONE = "/tavoli/{tavolo_id}/bisogni/{bisogno_id}"


@pytest.fixture
def document(app) -> dict:
    response = app.test_client().get(f"{API}/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    validate(doc)  # the whole document is valid OpenAPI
    return doc


def validator(document: dict, path: str, status: str = "200") -> Draft202012Validator:
    schema = document["paths"][path]["get"]["responses"][status]["content"]["application/json"]["schema"]
    return Draft202012Validator({**schema, "components": document["components"]})


@pytest.fixture
def content(app, world) -> dict[str, int]:
    """Two bisogni (one merged into the other), annotations, a reply, a support, a moderation."""
    with app.app_context():
        s = db.session
        delegate, delegate2, facilitator = (s.merge(u) for u in (world.delegate, world.delegate2, world.facilitator))
        kp = s.scalars(select(KeyPoint).where(KeyPoint.macroarea_code == "E")).first()
        main = add_bisogno(s, world, delegate, key_points=[kp.id], comuni=[world.comune.id])
        other = add_bisogno(s, world, delegate2, title="Doppione", whole_ambito=True)
        note, _ = needs_service.add_annotation(s, delegate2, main, "esperienza", "Lo vediamo **ogni giorno**.")
        s.flush()
        reply, _ = needs_service.add_annotation(s, delegate, main, "proposta", "Un servizio di trasporto.", note.id)
        hidden, _ = needs_service.add_annotation(s, delegate2, main, "criticita", "Testo da nascondere")
        s.flush()
        needs_service.toggle_support(s, delegate, note, True)
        needs_service.delete_annotation(s, facilitator, hidden, "Fuori tema")
        needs_service.merge_bisogno(s, facilitator, other, main)
        s.commit()
        return {"tavolo_id": world.tavolo.id, "main": main.id, "other": other.id, "note": note.id,
                "reply": reply.id, "hidden": hidden.id}


def _publish(app, tavolo_id: int) -> None:
    with app.app_context():
        db.session.get(Tavolo, tavolo_id).procedure.published = True
        db.session.commit()


def test_member_gets_bisogni_with_annotations_matching_the_schema(app, world, content, document):
    client, _token = login_client(app, world.delegate)
    response = client.get(API + LIST.format(**content))
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    validator(document, LIST).validate(body)
    assert [b["id"] for b in body] == [content["main"], content["other"]]
    main = body[0]
    assert main["organisation"] == world.ets.name
    assert main["comuni"] == [{"id": world.comune.id, "name": world.comune.name}]
    assert main["key_points"][0]["macroarea"] == "E"
    assert main["merged_here"] == [content["other"]] and body[1]["merged_into"] == content["main"]
    notes = {a["id"]: a for a in main["annotations"]}
    assert notes[content["note"]]["body"] == "Lo vediamo **ogni giorno**."
    assert "<strong>ogni giorno</strong>" in notes[content["note"]]["body_html"]
    assert notes[content["note"]]["supports"] == [world.ets.name] and notes[content["note"]]["supports_count"] == 1
    assert notes[content["reply"]]["parent_id"] == content["note"]
    hidden = notes[content["hidden"]]
    assert hidden["deleted"] and hidden["moderated"] and hidden["moderation_reason"] == "Fuori tema"
    assert hidden["body"] is None and hidden["body_html"] is None
    assert "Testo da nascondere" not in response.get_data(as_text=True)
    # People are not named, only organisations.
    assert world.delegate.name not in response.get_data(as_text=True)

    single = client.get(API + ONE.format(tavolo_id=content["tavolo_id"], bisogno_id=content["main"]))
    assert single.status_code == 200
    validator(document, ONE).validate(single.get_json())
    assert single.get_json() == main


def test_live_snapshot_names_things_like_the_api(app, world, content):
    """The live channel's bisogni and annotations are the API's objects with the same names and
    shapes, plus who wrote them (workspace/needs/payloads.py)."""
    from workspace import realtime

    client, _token = login_client(app, world.delegate)
    api = {b["id"]: b for b in client.get(API + LIST.format(**content)).get_json()}
    with app.app_context():
        snapshot = realtime.snapshot(db.session, content["tavolo_id"])
    for live in snapshot["bisogni"]:
        public = api[live["id"]]
        shared = set(public) - {"annotations", "merged_here"}
        assert set(live) == shared | {"author"}
        assert {k: live[k] for k in shared} == {k: public[k] for k in shared}
    public_notes = {a["id"]: a for b in api.values() for a in b["annotations"]}
    for live in snapshot["annotations"]:
        assert set(live) == set(public_notes[live["id"]]) | {"author", "bisogno_id"}
        assert {k: live[k] for k in public_notes[live["id"]]} == public_notes[live["id"]]
    hidden = next(a for a in snapshot["annotations"] if a["id"] == content["hidden"])
    assert hidden["moderation_reason"] == "Fuori tema" and "deletion_reason" not in hidden


def test_schema_is_strict(app, world, content, document):
    client, _token = login_client(app, world.observer)
    item = client.get(API + ONE.format(tavolo_id=content["tavolo_id"], bisogno_id=content["main"])).get_json()
    check = validator(document, ONE)
    with pytest.raises(ValidationError):
        check.validate({**item, "author": "Delia"})
    with pytest.raises(ValidationError):
        check.validate({k: v for k, v in item.items() if k != "status"})
    with pytest.raises(ValidationError):
        check.validate({**item, "annotations": [{**item["annotations"][0], "kind": "insulto"}]})


def test_anonymous_401_unless_published(app, world, content, document):
    anonymous = app.test_client()
    for path in (LIST.format(**content), ONE.format(tavolo_id=content["tavolo_id"], bisogno_id=content["main"]),
                 LIST.format(tavolo_id=999999)):  # a missing tavolo looks the same: nothing revealed
        response = anonymous.get(API + path)
        assert response.status_code == 401, path
        assert response.mimetype == "application/json"
        error = response.get_json()
        Draft202012Validator({**document["components"]["schemas"]["Error"],
                              "components": document["components"]}).validate(error)
        assert error["error"] == 401 and "occorre accedere" in error["message"]

    _publish(app, content["tavolo_id"])
    listing = anonymous.get(API + LIST.format(**content))
    assert listing.status_code == 200
    validator(document, LIST).validate(listing.get_json())
    single = anonymous.get(API + ONE.format(tavolo_id=content["tavolo_id"], bisogno_id=content["other"]))
    assert single.status_code == 200 and single.get_json()["merged_into"] == content["main"]
    missing = anonymous.get(API + ONE.format(tavolo_id=content["tavolo_id"], bisogno_id=999999))
    assert missing.status_code == 404 and missing.get_json()["message"] == "Bisogno inesistente."


def test_outsider_403_and_missing_404(app, world, content):
    client, _token = login_client(app, world.outsider)
    response = client.get(API + LIST.format(**content))
    assert response.status_code == 403
    assert response.get_json()["error"] == 403 and "Non fai parte di questo tavolo" in response.get_json()["message"]
    assert client.get(API + LIST.format(tavolo_id=999999)).status_code == 404
    _publish(app, content["tavolo_id"])
    assert client.get(API + LIST.format(**content)).status_code == 200


def test_bisogno_of_another_tavolo_is_404(app, world, content):
    with app.app_context():
        tavolo = db.session.get(Tavolo, content["tavolo_id"])
        from workspace.tavoli import membership

        admin = db.session.merge(world.admin)
        other = membership.create_tavolo(db.session, admin, tavolo.procedure, "Altro tavolo", ["A"])
        membership.set_role(db.session, admin, other, db.session.merge(world.delegate), "delegate",
                            db.session.merge(world.ets))
        db.session.commit()
        other_id = other.id
    client, _token = login_client(app, world.delegate)
    response = client.get(API + ONE.format(tavolo_id=other_id, bisogno_id=content["main"]))
    assert response.status_code == 404
    assert client.get(API + LIST.format(tavolo_id=other_id)).get_json() == []
    with app.app_context():
        assert db.session.get(Bisogno, content["main"]).tavolo_id == content["tavolo_id"]


def test_documented_with_errors(document):
    for path in (LIST, ONE):
        operation = document["paths"][path]["get"]
        assert {"200", "401", "403", "404"} <= set(operation["responses"])
        assert operation["summary"] and operation["description"]
    for name in ("Bisogno", "Annotation", "KeyPointRef", "ComuneRef", "Evidence"):
        schema = document["components"]["schemas"][name]
        assert schema["additionalProperties"] is False and set(schema["required"]) == set(schema["properties"])
