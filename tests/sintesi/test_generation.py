"""The documento di sintesi is generated from the data: contributions per tavolo, macroarea and
organisation type, priorities (from the closed votes until the planning area has dispositions),
participation from the presences of the closed sedute, the approved verbali."""
from __future__ import annotations

from tests.sintesi.support import procedure_of, running_procedure
from workspace.sintesi import document, generation


def test_contributions_and_participation_come_from_the_data(session):
    c = running_procedure(session)
    procedure = procedure_of(session, c)
    data = generation.generate(session, procedure)
    assert data["schema"] == "tavoli.sintesi/1"
    contributions = data["contributions"]
    # "Navette" was merged into "Trasporto sociale": two bisogni count, not three.
    assert contributions["by_tavolo"] == [{"tavolo_id": c.tavolo.id, "title": c.tavolo.title, "bisogni": 2,
                                           "annotations": 5, "organisations": 2}]
    assert contributions["by_macroarea"] == [{"code": "E", "name": contributions["by_macroarea"][0]["name"],
                                              "bisogni": 2, "annotations": 5}]
    by_kind = {k["kind"]: k for k in contributions["by_kind"]}
    assert set(by_kind) == {"ets"}
    assert by_kind["ets"]["organisations"] == 2 and by_kind["ets"]["bisogni"] == 2
    participation = data["participation"]
    assert participation["totals"]["sedute"] == 1
    assert participation["by_tavolo"][0]["presences"] == participation["totals"]["presences"] == 3
    kinds = {k["kind"]: k for k in participation["by_kind"]}
    assert kinds["ets"]["organisations"] == 2 and kinds["ets"]["presences"] == 2
    assert kinds[generation.NO_KIND]["presences"] == 1  # the observer sits for no member organisation


def test_priorities_are_the_closed_votes_until_there_are_dispositions(session):
    c = running_procedure(session)
    data = generation.generate(session, procedure_of(session, c))
    priorities = data["priorities"]
    assert priorities["source"] == "votazioni"
    assert [p["bisogno_id"] for p in priorities["items"]] == [c.first, c.before]  # 13 points against 7
    assert all(p["disposition"] is None for p in priorities["items"])
    assert priorities["by_macroarea"][0]["code"] == "E" and priorities["by_macroarea"][0]["count"] == 2
    assert data["cards"] == {"available": False, "items": []}


def test_the_same_data_give_the_same_json(session):
    c = running_procedure(session)
    procedure = procedure_of(session, c)
    assert generation.generate(session, procedure) == generation.generate(session, procedure)


def test_charts_travel_with_their_data_tables(app, session):
    c = running_procedure(session)
    content = {**generation.generate(session, procedure_of(session, c)), "introduction": "Testo."}
    with app.test_request_context(), document.italian():
        found = document.charts(content)
        assert set(found) == {"priorita", "tipo", "tavolo"}
        html = document.render(content, "html", "bozza").decode()
    assert html.count("<svg") == 3
    assert "Priorità per macroarea" in html and "Dati del grafico: Partecipazione per tavolo" in html
