"""Entering the esiti: what a row must be (one Italian message per field at fault, nothing
written), who may write (the procedure's RUP or an administrator) and read (also the tavoli's
people), the frozen procedure, the audit trail."""
from __future__ import annotations

from decimal import Decimal

import pytest

from tests.esiti.support import procedure_of, row
from tests.helpers import database_footprint, footprint_changes, refused
from workspace import signals
from workspace.esiti import permissions, service
from workspace.problems import Problem


@pytest.fixture
def recorded():
    seen = []

    def receiver(_session, *, action, details, **_):
        seen.append((action, details))

    signals.action_recorded.connect(receiver)
    yield seen
    signals.action_recorded.disconnect(receiver)


def test_a_complete_row(session, world, recorded):
    procedure = procedure_of(session, world)
    o = service.create(session, world.admin, procedure, row())
    assert (o.position, o.title, o.actions_programmed, o.actions_done) == (1, "Potenziare l'assistenza domiciliare", 8, 6)
    assert o.budget_planned == Decimal("240000.00") and o.budget_paid == Decimal("228500.50")
    assert o.achievement.shown == Decimal("75.00") and o.achievement.band.key == "sufficiente"
    assert o.budget.shown == Decimal("95.21") and o.budget.band.key == "<100%"
    assert o.missing() == []
    values = service.row_values(o)
    assert values["grado_raggiungimento_pct"] == Decimal("75.00")
    assert values["fascia_raggiungimento"] == "50-79% (sufficiente)"
    assert values["fascia_coincidenza"] == "<100% (non realizzato come programmato o sovrastimato)"
    assert recorded[-1][0] == "esiti.created"
    second = service.create(session, world.admin, procedure, {"obiettivo": "Solo il titolo"})
    assert second.position == 2 and second.achievement is None and len(second.missing()) == 8


def test_over_100_is_ottimo_flagged(session, world):
    o = service.create(session, world.admin, procedure_of(session, world),
                       row(azioni_programmate="4", azioni_realizzate="5", risorse_preventivate="100",
                           risorse_pagate="120,5"))
    assert o.achievement.band.key == "ottimo" and o.achievement.band.over
    assert service.row_values(o)["fascia_raggiungimento"] == "100% (ottimo) – oltre il programmato"
    assert o.budget.band.key == ">100%" and o.budget.shown == Decimal("120.50")


@pytest.mark.parametrize(("overrides", "field", "fragment"), [
    ({"obiettivo": "  "}, "obiettivo", "Indicare l'obiettivo"),
    ({"obiettivo": "x" * 301}, "obiettivo", "al massimo 300 caratteri"),
    ({"azioni_programmate": "0"}, "azioni_programmate", "da 1 in su"),
    ({"azioni_programmate": "tre"}, "azioni_programmate", "numero intero"),
    ({"azioni_realizzate": "-1"}, "azioni_realizzate", "da 0 in su"),
    ({"azioni_realizzate": "2,5"}, "azioni_realizzate", "numero intero"),
    ({"azioni_programmate": ""}, "azioni_programmate", "Indicare anche il numero di azioni programmate"),
    ({"risorse_pagate": "12,345"}, "risorse_pagate", "al massimo due decimali"),
    ({"risorse_pagate": "-5"}, "risorse_pagate", "non negativo"),
    ({"risorse_preventivate": ""}, "risorse_preventivate", "Indicare anche le risorse preventivate"),
    ({"risorse_preventivate": "0"}, "risorse_preventivate", "più di zero"),
    ({"adeguatezza_risorse": "Ottimo"}, "adeguatezza_risorse", "livelli ufficiali"),
    ({"risposta_bisogno": "forse"}, "risposta_bisogno", "solo SI o NO"),
    ({"risposta_bisogno_motivazione": ""}, "risposta_bisogno_motivazione", "Motivare la risposta «SI»"),
    ({"riproposto_2025_2027": ""}, "riproposto_2025_2027", "Rispondere SI o NO prima di motivare"),
])
def test_bad_rows_are_refused_whole(session, world, overrides, field, fragment):
    procedure = procedure_of(session, world)
    before = database_footprint(session)
    with pytest.raises(Problem) as caught:
        service.create(session, world.admin, procedure, row(**overrides))
    problem = caught.value
    assert (problem.code, problem.status) == ("invalid", 422)
    assert fragment in problem.errors[field], problem.errors
    session.commit()
    assert not footprint_changes(before, database_footprint(session))


def test_accepted_spellings(session, world):
    o = service.create(session, world.admin, procedure_of(session, world),
                       row(risposta_bisogno="sì", continuita_2018_2020="no", adeguatezza_risorse="  perfettamente  adeguato",
                           risorse_preventivate="€ 1.500", risorse_pagate="1500.00"))
    assert (o.need_addressed, o.continuity, o.resource_adequacy) == ("SI", "NO", "Perfettamente adeguato")
    assert o.budget_planned == Decimal("1500.00") and o.budget.band.key == "100%"


def test_update_delete_and_renumber(session, world, recorded):
    procedure = procedure_of(session, world)
    first = service.create(session, world.admin, procedure, row(obiettivo="Primo"))
    second = service.create(session, world.admin, procedure, row(obiettivo="Secondo"))
    service.update(session, world.admin, second, row(obiettivo="Secondo", azioni_realizzate="8"))
    assert second.achievement.band.key == "ottimo"
    assert recorded[-1] == ("esiti.updated", {"procedure_id": procedure.id, "fields": ["actions_done"]})
    with pytest.raises(Problem) as caught:
        service.update(session, world.admin, second, row(obiettivo="primo"))
    assert "già nella tabella" in caught.value.errors["obiettivo"]
    service.delete(session, world.admin, first)
    assert [(o.title, o.position) for o in service.objectives(session, procedure)] == [("Secondo", 1)]


def test_duplicate_titles_are_refused(session, world):
    procedure = procedure_of(session, world)
    service.create(session, world.admin, procedure, row())
    with pytest.raises(Problem) as caught:
        service.create(session, world.admin, procedure, row(obiettivo="POTENZIARE l'assistenza domiciliare"))
    assert "già nella tabella" in caught.value.message


def test_who_may_write_and_read(session, world):
    procedure = procedure_of(session, world)
    o = service.create(session, world.admin, procedure, row())
    session.commit()
    for who in (world.facilitator, world.delegate, world.observer, world.outsider):
        refused(session, lambda who=who: service.create(session, who, procedure, row(obiettivo="Altro")),
                "forbidden", 403, "Ufficio di Piano")
        refused(session, lambda who=who: service.update(session, who, o, row(obiettivo="Cambiato")),
                "forbidden", 403, "Ufficio di Piano")
        refused(session, lambda who=who: service.delete(session, who, o), "forbidden", 403)
    for who in (world.admin, world.facilitator, world.delegate, world.observer):
        assert [x.id for x in service.list_for(session, who, procedure)] == [o.id]
    refused(session, lambda: service.list_for(session, world.outsider, procedure), "forbidden", 403,
            "chi partecipa ai tavoli")
    assert not permissions.can_read(session, None, procedure)


def test_the_rup_who_is_not_an_administrator_may_write(session, world):
    from tests.world import make_person

    procedure = procedure_of(session, world)
    rup = make_person(session, "Rita Rup", "rup@prova.example.org")
    procedure.rup_id = rup.id
    session.flush()
    assert service.create(session, rup, procedure, row()).updated_by_id == rup.id


def test_a_concluded_procedure_is_frozen(session, world):
    procedure = procedure_of(session, world)
    o = service.create(session, world.admin, procedure, row())
    procedure.status = "conclusa"
    session.commit()
    refused(session, lambda: service.create(session, world.admin, procedure, row(obiettivo="Altro")),
            "frozen", 409, "conclusa")
    refused(session, lambda: service.update(session, world.admin, o, row(obiettivo="Cambiato")), "frozen", 409)
    refused(session, lambda: service.delete(session, world.admin, o), "frozen", 409)
    assert service.list_for(session, world.delegate, procedure) == [o]


def test_personal_data_export_lists_what_a_person_last_changed(session, world):
    from workspace.privacy import service as privacy

    procedure = procedure_of(session, world)
    o = service.create(session, world.admin, procedure, row())
    data = privacy.export_personal_data(session, world.admin)
    assert [(e["objective_id"], e["title"]) for e in data["esiti_objectives_last_changed"]] == [(o.id, o.title)]
    assert privacy.export_personal_data(session, world.delegate)["esiti_objectives_last_changed"] == []
