"""Priorities, dispositions and schede obiettivo through the service: permissions, the mandatory
reason, prefill rules, key points against the macroaree, completeness and "pronta", versions,
traceability both ways."""
from __future__ import annotations

from sqlalchemy import func, select

from tests.planning.support import closed_world, complete_values, key_point, refused
from tests.voting.support import make_round
from tests.world import add_bisogno
from workspace.audit.models import AuditEntry
from workspace.needs import service as needs_service
from workspace.planning import schema, service
from workspace.planning.models import Disposition, Scheda, SchedaVersion
from workspace.procedures.models import Procedure


def test_schema_has_the_26_official_fields_in_order():
    fields = schema.fields()
    assert [f["order"] for f in fields] == list(range(1, 27))
    assert fields[0]["label_it"] == "TITOLO INTERVENTO"
    assert fields[25]["label_it"] == "QUALE IMPATTO DOVREBBE AVERE L'INTERVENTO?"
    assert [f["indicator_class"] for f in schema.indicator_fields()] == ["input", "process", "output", "outcome"]


def test_priorities_show_ranking_method_turnout_breakdown(session):
    vw, round_id = closed_world(session)
    data = service.tavolo_priorities(session, vw.tavolo)
    [r] = data["rounds"]
    assert r["round_id"] == round_id and r["method"] == "dot"
    assert r["turnout"]["voted"] == 3
    assert r["breakdown"]["ets"]["ballots"] == 3
    assert [row["bisogno_id"] for row in r["ranking"]][:2] == [vw.bisogni[1], vw.bisogni[0]]
    assert r["ranking"][0]["disposition"] is None


def test_disposition_reason_required_and_nothing_written(session):
    vw, _ = closed_world(session)
    for reason in ("", "   ", None):
        refused(session, lambda r=reason: service.record_disposition(session, vw.admin, vw.bisogni[1], "accolto", r),
                "invalid", 422)
    refused(session, lambda: service.record_disposition(session, vw.admin, vw.bisogni[1], "forse", "Perché sì"),
            "invalid", 422)
    assert session.scalar(select(func.count()).select_from(Disposition)) == 0


def test_disposition_only_by_the_ufficio_di_piano_and_only_on_voted_bisogni(session):
    vw, _ = closed_world(session)
    refused(session, lambda: service.record_disposition(session, vw.facilitator, vw.bisogni[1], "accolto", "Ok"),
            "forbidden", 403, "Ufficio di Piano")
    extra = add_bisogno(session, vw.w, title="Non votato")
    refused(session, lambda: service.record_disposition(session, vw.admin, extra.id, "accolto", "Ok"),
            "conflict", 409, "graduatoria")


def test_disposition_recorded_who_when_audited_and_changed(session):
    vw, round_id = closed_world(session)
    d = service.record_disposition(session, vw.admin, vw.bisogni[1], "parzialmente_accolto", "Risorse limitate")
    session.commit()
    assert (d.outcome, d.reason, d.decided_by_id, d.round_id, d.place) == (
        "parzialmente_accolto", "Risorse limitate", vw.admin.id, round_id, 1)
    d2 = service.record_disposition(session, vw.admin, vw.bisogni[1], "accolto", "Fondi trovati")
    session.commit()
    assert d2.id == d.id and d2.version == 2
    actions = list(session.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "bisogno")))
    assert "disposition.created" in actions and "disposition.changed" in actions
    row = service.tavolo_priorities(session, vw.tavolo)["rounds"][0]["ranking"][0]
    assert row["disposition"]["outcome"] == "accolto"


def _procedure(session, vw) -> Procedure:
    return session.get_one(Procedure, vw.tavolo.procedure_id)


def test_create_scheda_prefills_from_the_bisogni(session):
    vw, _ = closed_world(session)
    b = needs_service.get_bisogno(session, vw.bisogni[1])
    scheda = service.create_scheda(session, vw.admin, _procedure(session, vw), [b.id])
    session.commit()
    v = scheda.values
    assert scheda.title == b.title and scheda.macroarea_code == "E" and scheda.status == "bozza"
    assert v["target"] == b.target_population
    assert v["needs_addressed"][0]["description"] == b.title
    assert v["needs_addressed"][0]["baseline"] == b.evidence_figure
    assert v["needs_addressed"][0]["source"] == b.evidence_source
    assert v["need_novelty"]["answer"] == "BISOGNO CONSOLIDATO"
    assert v["formally_co_programmed_with_ets"] == "SI"
    assert v["cross_cutting_policy_areas"] == {"answer": "NO", "macroaree": []}
    # No ASST at the test tavolo; the ETS that proposed the bisogno contributed.
    assert v["asst_in_needs_analysis_and_planning"] == "NO"
    assert [c["name"] for c in scheda.contributors] == [vw.ets.name]
    assert [x.version for x in session.scalars(select(SchedaVersion).where(SchedaVersion.scheda_id == scheda.id))] == [1]


def test_prefill_asst_and_cross_cutting_macroaree(session):
    from workspace.accounts.models import Organisation
    from workspace.tavoli import membership

    vw, _ = closed_world(session)
    asst = Organisation(name="ASST di Pavia", kind="asst", ambito_code="50008")
    session.add(asst)
    session.flush()
    membership.add_member(session, vw.admin, vw.tavolo, asst)
    session.commit()
    scheda = service.create_scheda(session, vw.admin, _procedure(session, vw), [vw.bisogni[1], vw.bisogni[0]],
                                   macroarea_code="A")
    assert scheda.values["asst_in_needs_analysis_and_planning"] == "SI"
    assert scheda.values["cross_cutting_policy_areas"] == {"answer": "SI", "macroaree": ["E"]}
    assert scheda.title == needs_service.get_bisogno(session, vw.bisogni[0]).title  # first bisogno by id


def test_create_scheda_refuses_unvoted_bisogni_and_outsiders(session):
    vw, _ = closed_world(session)
    extra = add_bisogno(session, vw.w, title="Non votato")
    refused(session, lambda: service.create_scheda(session, vw.admin, _procedure(session, vw), [extra.id]),
            "invalid", 422, "graduatoria")
    refused(session, lambda: service.create_scheda(session, vw.admin, _procedure(session, vw), []), "invalid", 422)
    refused(session, lambda: service.create_scheda(session, vw.delegate, _procedure(session, vw), [vw.bisogni[0]]),
            "forbidden", 403)
    assert session.scalar(select(func.count()).select_from(Scheda)) == 0


def test_key_points_only_from_the_macroaree_lists(session):
    vw, _ = closed_world(session)
    scheda = service.create_scheda(session, vw.admin, _procedure(session, vw), [vw.bisogni[1]])
    session.commit()
    values = complete_values(session, "E")
    values["key_points"] = [key_point(session, "E"), "Punto inventato"]
    refused(session, lambda: service.update_scheda(session, vw.admin, scheda, values=values), "invalid", 422,
            "Punto inventato")
    # A point of macroarea A is refused for an E card... and accepted once A is cross-cutting.
    from workspace.reference.models import KeyPoint
    e_points = set(session.scalars(select(KeyPoint.text).where(KeyPoint.macroarea_code == "E")))
    a_only = next(p for p in session.scalars(select(KeyPoint.text).where(KeyPoint.macroarea_code == "A"))
                  if p not in e_points)
    values["key_points"] = [a_only]
    refused(session, lambda: service.update_scheda(session, vw.admin, scheda, values=values), "invalid", 422)
    values["cross_cutting_policy_areas"] = {"answer": "SI", "macroaree": ["A"]}
    service.update_scheda(session, vw.admin, scheda, values=values)
    assert scheda.values["key_points"] == [a_only]


def test_completeness_meter_and_ready_only_when_complete(session):
    vw, _ = closed_world(session)
    scheda = service.create_scheda(session, vw.admin, _procedure(session, vw), [vw.bisogni[1]])
    session.commit()
    meter = service.completeness(scheda)
    assert meter["total"] == 26 and 0 < meter["filled"] < 26
    assert {m["id"] for m in meter["missing"]} >= {"objectives", "planned_actions", "expected_impact"}
    refused(session, lambda: service.set_ready(session, vw.admin, scheda), "scheda_incomplete", 409, "non è completa")
    values = complete_values(session)
    values["asst_in_implementation"] = {"answer": "SI", "detail": ""}
    refused(session, lambda: service.update_scheda(session, vw.admin, scheda, values=values), "invalid", 422,
            "dettaglio")
    values = complete_values(session)
    service.update_scheda(session, vw.admin, scheda, values=values)
    assert service.completeness(scheda)["missing"] == []
    service.set_ready(session, vw.admin, scheda)
    session.commit()
    assert scheda.status == "pronta"
    # Emptying a required field takes it back to bozza, with a version saying so.
    values.pop("objectives")
    service.update_scheda(session, vw.admin, scheda, values=values)
    session.commit()
    assert scheda.status == "bozza"
    changes = [v.change for v in scheda.versions]
    assert changes == ["creata", "modificata", "pronta", "riaperta"]
    diff = service.version_changes(scheda)
    assert diff[3] == ["Stato"]
    assert diff[4] == ["QUALI OBIETTIVI VUOLE RAGGIUNGERE", "Stato"]
    assert "TITOLO INTERVENTO" in diff[2] and "QUALE IMPATTO DOVREBBE AVERE L'INTERVENTO?" in diff[2]
    assert all(v.author_id == vw.admin.id for v in scheda.versions)


def test_conditional_field_17_required_only_without_formal_co_planning(session):
    values = {"formally_co_programmed_with_ets": "NO", "formally_co_designed_with_ets": {"answer": "NO"}}
    missing = {m["id"] for m in schema.completeness(values)["missing"]}
    assert "ets_involvement_if_not_formalised" in missing
    values["formally_co_programmed_with_ets"] = "SI"
    missing = {m["id"] for m in schema.completeness(values)["missing"]}
    assert "ets_involvement_if_not_formalised" not in missing


def test_traceability_both_ways(session):
    vw, round_id = closed_world(session)
    service.record_disposition(session, vw.admin, vw.bisogni[1], "accolto", "Coerente con il Piano")
    scheda = service.create_scheda(session, vw.admin, _procedure(session, vw), [vw.bisogni[1], vw.bisogni[0]])
    needs_service.add_annotation(session, vw.delegate, needs_service.get_bisogno(session, vw.bisogni[1]), "risorsa",
                                 "Mettiamo a disposizione due volontari")
    session.commit()
    trace = service.trace(session, scheda)
    assert [t["bisogno_id"] for t in trace] == [vw.bisogni[0], vw.bisogni[1]]
    second = trace[1]
    assert second["vote"] == {"round_id": round_id, "title": "Priorità del tavolo", "place": 1, "method": "dot"}
    assert second["disposition"]["outcome"] == "accolto"
    assert second["annotation_kinds"] == {"risorsa": 1}
    assert [s.id for s in service.schede_for_bisogno(session, vw.bisogni[1])] == [scheda.id]
    assert service.schede_for_bisogno(session, vw.bisogni[3]) == []


def test_new_round_ranks_again(session):
    vw, _ = closed_world(session)
    later = make_round(session, vw, open_it=False, title="Seconda votazione", bisogni=[vw.bisogni[2], vw.bisogni[3]])
    assert later.status == "draft"
    # Only closed rounds count as agreed priorities.
    assert len(service.tavolo_priorities(session, vw.tavolo)["rounds"]) == 1
