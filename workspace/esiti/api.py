"""Esiti endpoint of /api/v1, with its OpenAPI description: the *Tabella Esiti* of a published
procedure (the objectives of the previous programming with the 8 official dimensions, computed
percentages and bands). Readable by anyone; a procedure that is not published answers 404 (nothing
says whether it exists)."""
from __future__ import annotations

from flask import jsonify

from workspace.api import bp, openapi
from workspace.db import db
from workspace.esiti import payloads, permissions, scale, service

TAG = "Esiti"
_PCT = {"type": ["number", "null"], "minimum": 0}
_YES_NO = {"type": ["string", "null"], "enum": ["SI", "NO", None]}
_achievement_bands = [b["band"] for b in scale.fields()["achievement_rate"]["scale"]]
_budget_bands = [b["band"] for b in scale.fields()["budget_execution_rate"]["scale"]]


def _nullable_int(description: str, minimum: int) -> dict:
    return {"type": ["integer", "null"], "minimum": minimum, "description": description}


openapi.add_schema("EsitiObjective", openapi.obj("Un obiettivo della programmazione 2021-2023 con il suo resoconto "
                                                 "esiti (modello ufficiale, DGR XII/2167 Allegato B).", {
    "id": {**openapi.ID, "description": "Identificativo."},
    "numero": {"type": "integer", "minimum": 1, "description": "Numero nella tabella."},
    "obiettivo": openapi.string("Obiettivo 2021-2023."),
    "macroarea": openapi.string("Macroarea o area di policy 2021-2023 come indicata dal Piano (può essere vuota)."),
    "azioni_programmate": _nullable_int("N. azioni programmate.", 1),
    "azioni_realizzate": _nullable_int("N. azioni realizzate.", 0),
    "grado_raggiungimento_pct": {**_PCT, "description": "(n. azioni realizzate*100)/n. azioni programmate, "
                                                        "arrotondato a due decimali; null se non calcolabile."},
    "fascia_raggiungimento": {"type": ["string", "null"], "enum": [*_achievement_bands, None],
                              "description": "Fascia, attribuita sul valore esatto: si raggiunge solo toccandone il "
                                             "limite inferiore; nullo solo per 0 esatto; oltre 100 è ottimo."},
    "fascia_raggiungimento_etichetta": {"type": ["string", "null"], "description": "Fascia come stampata."},
    "oltre_il_programmato": openapi.boolean("Vero se il grado di raggiungimento supera il 100 %."),
    "valutazione_utenti": openapi.string("Valutazione da parte degli utenti (ove pertinente)."),
    "adeguatezza_risorse": {"type": ["string", "null"], "enum": [*scale.options("resource_adequacy"), None],
                            "description": "Livello di adeguatezza delle risorse umane e strumentali."},
    "risorse_preventivate": {**_PCT, "description": "Risorse preventivate, in euro."},
    "risorse_pagate": {**_PCT, "description": "Risorse impegnate/liquidate, in euro."},
    "coincidenza_risorse_pct": {**_PCT, "description": "(pagato*100)/preventivato, arrotondato a due decimali."},
    "fascia_coincidenza": {"type": ["string", "null"], "enum": [*_budget_bands, None],
                           "description": "Fascia sul valore esatto: <100%, 100%, >100%."},
    "fascia_coincidenza_etichetta": {"type": ["string", "null"], "description": "Fascia come stampata."},
    "criticita": openapi.string("Criticità rilevate e piano di miglioramento."),
    "risposta_bisogno": {**_YES_NO, "description": "Ha risposto a un bisogno producendo un cambiamento positivo."},
    "risposta_bisogno_motivazione": openapi.string("Motivazione."),
    "continuita_2018_2020": {**_YES_NO, "description": "In continuità con la programmazione 2018-2020."},
    "riproposto_2025_2027": {**_YES_NO, "description": "Riproposto nella programmazione 2025-2027."},
    "riproposto_motivazione": openapi.string("Motivazione della scelta."),
    "dimensioni_mancanti": {"type": "array", "items": {"type": "string", "enum": list(scale.fields())},
                            "description": "Dimensioni del modello ancora senza risposta."},
}))
openapi.add_schema("EsitiTable", openapi.obj("La tabella esiti della precedente programmazione di una procedura.", {
    "procedure": openapi.obj("La procedura.", {
        "id": {**openapi.ID, "description": "Procedura."},
        "title": openapi.string("Titolo."),
        "ambito_code": openapi.string("Codice dell'Ambito territoriale."),
    }),
    "objectives": {"type": "array", "items": openapi.ref("EsitiObjective"), "description": "Obiettivi, in ordine."},
}))


@bp.get("/procedure/<int:procedure_id>/esiti", endpoint="procedure_esiti")
def procedure_esiti(procedure_id: int):
    procedure = permissions.public_procedure(db.session, procedure_id)
    return jsonify(payloads.table(procedure, service.objectives(db.session, procedure)))


openapi.add_path("/api/v1/procedure/{procedure_id}/esiti", {"get": {
    "tags": [TAG],
    "summary": "Esiti della precedente programmazione 2021-2023",
    "description": "Per ogni obiettivo del Piano di Zona 2021-2023 dell'Ambito: le 8 dimensioni del modello "
                   "ufficiale, le percentuali calcolate con le sue formule e le fasce. Solo per le procedure "
                   "pubblicate.",
    "operationId": "getProcedureEsiti",
    "parameters": [openapi.path_param("procedure_id", "Identificativo della procedura.")],
    "responses": {"200": {"description": "La tabella esiti.",
                          "content": {"application/json": {"schema": openapi.ref("EsitiTable")}}},
                  "404": openapi.error("Procedura inesistente o non pubblicata.")},
}})
