"""/api/v1: published priorities, dispositions and cards — nothing before publication, no names,
links both ways, and responses valid against the OpenAPI document."""
from __future__ import annotations

from jsonschema import Draft202012Validator

from tests.minutes.support import publish
from tests.planning.support import closed_world, complete_values
from workspace.api import openapi
from workspace.planning import service
from workspace.procedures.models import Procedure


def _validator(name: str) -> Draft202012Validator:
    document = openapi.document()
    return Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": document["components"]})


def _world(session):
    vw, round_id = closed_world(session)
    procedure = session.get_one(Procedure, vw.tavolo.procedure_id)
    service.record_disposition(session, vw.admin, vw.bisogni[1], "parzialmente_accolto", "Solo in due quartieri")
    card = service.create_scheda(session, vw.admin, procedure, [vw.bisogni[1]])
    service.update_scheda(session, vw.admin, card, values=complete_values(session))
    service.set_ready(session, vw.admin, card)
    draft = service.create_scheda(session, vw.admin, procedure, [vw.bisogni[0]])
    session.commit()
    return vw, procedure, card, draft, round_id


def test_nothing_before_publication(client, session):
    vw, procedure, card, _draft, _r = _world(session)
    for url in (f"/api/v1/procedure/{procedure.id}/priorita", f"/api/v1/procedure/{procedure.id}/schede-obiettivo",
                f"/api/v1/schede-obiettivo/{card.id}", f"/api/v1/bisogni/{vw.bisogni[1]}/schede-obiettivo"):
        response = client.get(url)
        assert response.status_code == 404, url
    publish(session, procedure.id, vw.admin.id)
    session.commit()
    # The procedure is public, the Ufficio di Piano has not yet published its dispositions.
    assert client.get(f"/api/v1/procedure/{procedure.id}/priorita").status_code == 404


def test_published_priorities_cards_and_links(client, session):
    vw, procedure, card, draft, round_id = _world(session)
    publish(session, procedure.id, vw.admin.id)
    service.publish(session, vw.admin, procedure)
    session.commit()
    data = client.get(f"/api/v1/procedure/{procedure.id}/priorita").get_json()
    _validator("PublicPriorities").validate(data)
    first = data["priorities"][0]
    assert first["bisogno_id"] == vw.bisogni[1] and first["place"] == 1 and first["round_id"] == round_id
    assert first["disposition"]["outcome"] == "parzialmente_accolto"
    assert first["disposition"]["reason"] == "Solo in due quartieri"
    assert "Amministratrice" not in str(data)

    cards = client.get(f"/api/v1/procedure/{procedure.id}/schede-obiettivo").get_json()
    _validator("PublicSchede").validate(cards)
    assert [c["id"] for c in cards["schede"]] == [card.id]  # the draft is not public
    one = client.get(f"/api/v1/schede-obiettivo/{card.id}").get_json()
    _validator("SchedaObiettivo").validate(one)
    assert len(one["fields"]) == 26 and one["fields"][0]["label"] == "TITOLO INTERVENTO"
    # card -> bisogno -> vote; bisogno -> card
    trace = one["trace"][0]
    assert trace["links"]["bisogno"] == f"/api/v1/tavoli/{vw.tavolo.id}/bisogni/{vw.bisogni[1]}"
    assert trace["links"]["votazione"] == f"/api/v1/votazioni/{round_id}/risultati"
    back = client.get(trace["links"]["schede"]).get_json()
    _validator("BisognoSchede").validate(back)
    assert [c["links"]["self"] for c in back["schede"]] == [f"/api/v1/schede-obiettivo/{card.id}"]
    assert client.get(f"/api/v1/schede-obiettivo/{draft.id}").status_code == 404


def test_public_page_and_downloads(client, session):
    vw, procedure, card, _draft, _r = _world(session)
    publish(session, procedure.id, vw.admin.id)
    session.commit()
    html = client.get(f"/procedure/{procedure.id}/priorita").get_data(as_text=True)
    assert "non ha ancora pubblicato" in html
    assert client.get(f"/procedure/{procedure.id}/priorita/priorita.csv").status_code == 404
    service.publish(session, vw.admin, procedure)
    session.commit()
    html = client.get(f"/procedure/{procedure.id}/priorita").get_data(as_text=True)
    assert "Solo in due quartieri" in html and card.title in html
    response = client.get(f"/procedure/{procedure.id}/priorita/priorita.csv")
    assert response.status_code == 200 and "Solo in due quartieri" in response.get_data(as_text=True)
    assert "Amministratrice" not in response.get_data(as_text=True)


def test_open_data_csv_has_priorities_and_published_dispositions(client, session):
    import csv
    import io

    vw, procedure, _card, _draft, round_id = _world(session)
    publish(session, procedure.id, vw.admin.id)
    session.commit()

    def records() -> list[dict]:
        body = client.get(f"/procedure/{procedure.id}/dati.csv").data.decode("utf-8-sig")
        return [r for r in csv.DictReader(io.StringIO(body)) if r["indicatore"] in ("priorita", "disposizione",
                                                                                     "bisogno")]

    rows = records()
    assert len([r for r in rows if r["indicatore"] == "bisogno"]) == 4
    priorities = [r for r in rows if r["indicatore"] == "priorita"]
    assert [(r["codice"], r["valore"]) for r in priorities][0] == (str(vw.bisogni[1]), "1")
    assert not [r for r in rows if r["indicatore"] == "disposizione"]  # not yet published
    service.publish(session, vw.admin, procedure)
    session.commit()
    [d] = [r for r in records() if r["indicatore"] == "disposizione"]
    assert (d["codice"], d["esito"], d["motivazione"]) == (str(vw.bisogni[1]), "Parzialmente accolto",
                                                           "Solo in due quartieri")
    assert "Amministratrice" not in str(records())
