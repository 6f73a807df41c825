"""Priorities, dispositions and schede obiettivo in /api/v1, once the procedure has published them.

Public (no login), like the albo of the verbali: only procedures whose public page exists and whose
Ufficio di Piano has published priorities and dispositions (``planning.publish``); only cards
"pronta"; no person's name (who decided is the Ufficio di Piano). Every item carries links both
ways: a card to its bisogni, their vote results and approved verbali; a bisogno to its cards.
"""
from __future__ import annotations

from typing import Any

from flask import jsonify, url_for

from workspace.api import bp, openapi
from workspace.db import db, utcnow
from workspace.i18n import gettext as _
from workspace.minutes import publication as minutes_publication
from workspace.needs.models import Bisogno
from workspace.planning import documents, schema, service
from workspace.planning.labels import OUTCOME_LABELS_IT
from workspace.planning.models import OUTCOMES, Scheda
from workspace.problems import not_found
from workspace.procedures.models import Procedure

TAG = "Programmazione"
ID = openapi.ID


def _link(endpoint: str, **values: Any) -> str:
    return url_for(endpoint, _external=False, **values)


def _published_procedure(procedure_id: int) -> Procedure:
    procedure = minutes_publication.public_procedure(db.session, procedure_id, utcnow())
    if not service.is_published(db.session, procedure.id):
        raise not_found(_("Priorità e schede obiettivo di questa procedura non ancora pubblicate."))
    return procedure


def _card_links(scheda: Scheda) -> dict[str, Any]:
    return {"self": _link("api.scheda_obiettivo", scheda_id=scheda.id),
            "page": _link("planning.public_page", procedure_id=scheda.procedure_id)}


def _card(scheda: Scheda) -> dict[str, Any]:
    data = service.scheda_dict(db.session, scheda, with_names=False)
    for item in data["trace"]:
        item["links"] = {
            "bisogno": _link("api.tavolo_bisogno", tavolo_id=item["tavolo_id"], bisogno_id=item["bisogno_id"]),
            "schede": _link("api.bisogno_schede", bisogno_id=item["bisogno_id"]),
            "votazione": _link("api.votazione_risultati", round_id=item["vote"]["round_id"]) if item["vote"] else None,
            "verbali": [_link("api.verbale", verbale_id=v["verbale_id"]) for v in item["verbali"]],
        }
    data["links"] = _card_links(scheda)
    return data


def _priority(row: dict[str, Any]) -> dict[str, Any]:
    outcome = next((k for k in OUTCOMES if OUTCOME_LABELS_IT[k] == row["esito"]), None)
    return {
        "tavolo_id": row["tavolo_id"], "tavolo": row["tavolo"], "round_id": row["votazione_id"],
        "round": row["votazione"], "method": row["metodo"],
        "closed_at": row["chiusa_il"].isoformat() if row["chiusa_il"] else None,
        "turnout": {"voted": row["votanti"], "eligible": row["aventi_diritto"], "percent": row["affluenza_percento"]},
        "ballots_by_type": {"ets": row["schede_ets"], "pubblico": row["schede_enti_pubblici"],
                            "altri": row["schede_altri"]},
        "place": row["posizione"], "bisogno_id": row["bisogno_id"], "title": row["bisogno"],
        "macroarea": row["macroarea"], "score": row["punteggio"],
        "disposition": {"outcome": outcome, "reason": row["motivazione"],
                        "decided_at": row["deciso_il"].isoformat()} if outcome else None,
        "links": {"votazione": _link("api.votazione_risultati", round_id=row["votazione_id"]),
                  "schede": _link("api.bisogno_schede", bisogno_id=row["bisogno_id"])},
    }


@bp.get("/procedure/<int:procedure_id>/priorita", endpoint="procedure_priorita")
def procedure_priorita(procedure_id: int):
    procedure = _published_procedure(procedure_id)
    rows = documents.priority_rows(db.session, procedure, public=True)
    published = service.publication(db.session, procedure.id)
    assert published is not None
    return jsonify({"procedure": {"id": procedure.id, "title": procedure.title},
                    "published_at": published.published_at.isoformat(),
                    "priorities": [_priority(r) for r in rows]})


@bp.get("/procedure/<int:procedure_id>/schede-obiettivo", endpoint="procedure_schede")
def procedure_schede(procedure_id: int):
    procedure = _published_procedure(procedure_id)
    cards = service.schede_of(db.session, procedure.id, ready_only=True)
    return jsonify({"procedure": {"id": procedure.id, "title": procedure.title},
                    "schede": [_card(s) for s in cards]})


@bp.get("/schede-obiettivo/<int:scheda_id>", endpoint="scheda_obiettivo")
def scheda_obiettivo(scheda_id: int):
    scheda = db.session.get(Scheda, scheda_id)
    if scheda is None or scheda.status != "pronta":
        raise not_found(_("Scheda obiettivo inesistente o non pubblicata."))
    _published_procedure(scheda.procedure_id)
    return jsonify(_card(scheda))


@bp.get("/bisogni/<int:bisogno_id>/schede-obiettivo", endpoint="bisogno_schede")
def bisogno_schede(bisogno_id: int):
    bisogno = db.session.get(Bisogno, bisogno_id)
    if bisogno is None:
        raise not_found(_("Bisogno inesistente."))
    tavolo = service.get_tavolo(db.session, bisogno.tavolo_id)
    _published_procedure(tavolo.procedure_id)
    cards = service.schede_for_bisogno(db.session, bisogno.id, ready_only=True)
    return jsonify({"bisogno_id": bisogno.id, "title": bisogno.title,
                    "schede": [{"id": s.id, "title": s.title, "macroarea": s.macroarea_code, "links": _card_links(s)}
                               for s in cards]})


# --------------------------------------------------------------------------- OpenAPI

_ANY = {"description": "Valore secondo il tipo del campo (vedi docs/schede-obiettivo.schema.json)."}
_NULL_INT = {"type": ["integer", "null"], "minimum": 0}
openapi.add_schema("Disposition", openapi.obj("Disposizione dell'Ufficio di Piano su un bisogno prioritario.", {
    "outcome": openapi.string("Esito.", enum=list(OUTCOMES)),
    "reason": openapi.string("Motivazione."),
    "decided_at": openapi.string("Data della decisione (UTC).", format="date-time"),
}))
openapi.add_schema("Priority", openapi.obj("Un bisogno nella graduatoria di una votazione chiusa.", {
    "tavolo_id": {**ID, "description": "Tavolo."},
    "tavolo": openapi.string("Titolo del tavolo."),
    "round_id": {**ID, "description": "Votazione."},
    "round": openapi.string("Titolo della votazione."),
    "method": openapi.string("Metodo di conteggio."),
    "closed_at": openapi.nullable("string", "Chiusura (UTC).", format="date-time"),
    "turnout": openapi.obj("Affluenza.", {"voted": _NULL_INT, "eligible": _NULL_INT,
                                          "percent": {"type": ["number", "null"]}}),
    "ballots_by_type": openapi.obj("Schede per tipo di organizzazione (null se la ripartizione non è prevista).",
                                   {"ets": _NULL_INT, "pubblico": _NULL_INT, "altri": _NULL_INT}),
    "place": {"type": "integer", "minimum": 1, "description": "Posizione."},
    "bisogno_id": {**ID, "description": "Bisogno."},
    "title": openapi.string("Titolo del bisogno, come votato."),
    "macroarea": openapi.nullable("string", "Macroarea del bisogno."),
    "score": {"type": ["number", "null"], "description": "Punteggio del metodo."},
    "disposition": {"oneOf": [openapi.ref("Disposition"), {"type": "null"}],
                    "description": "Disposizione; null se non ancora registrata."},
    "links": openapi.obj("Collegamenti.", {"votazione": openapi.string("Risultati della votazione."),
                                           "schede": openapi.string("Schede obiettivo che rispondono al bisogno.")}),
}))
openapi.add_schema("PublicPriorities", openapi.obj("Priorità e disposizioni pubblicate di una procedura.", {
    "procedure": openapi.obj("La procedura.", {"id": {**ID, "description": "Procedura."},
                                               "title": openapi.string("Titolo.")}),
    "published_at": openapi.string("Pubblicazione (UTC).", format="date-time"),
    "priorities": {"type": "array", "items": openapi.ref("Priority"), "description": "Le priorità."},
}))
openapi.add_schema("SchedaTrace", openapi.obj("Da dove nasce la scheda: un bisogno, le sue annotazioni, la "
                                              "votazione, la disposizione, i verbali approvati.", {
    "bisogno_id": {**ID, "description": "Bisogno."},
    "tavolo_id": {**ID, "description": "Tavolo del bisogno."},
    "title": openapi.string("Titolo del bisogno."),
    "macroarea": openapi.string("Macroarea del bisogno."),
    "annotations": {"type": "integer", "minimum": 0, "description": "Annotazioni (non eliminate)."},
    "annotation_kinds": {"type": "object", "additionalProperties": {"type": "integer"},
                         "description": "Annotazioni per tipo."},
    "vote": {"type": ["object", "null"], "description": "Votazione chiusa più recente che l'ha messo in graduatoria: "
             "round_id, title, place, method."},
    "disposition": {"type": ["object", "null"], "description": "Disposizione (senza il nome di chi ha deciso)."},
    "verbali": {"type": "array", "items": {"type": "object"}, "description": "Verbali approvati in cui il bisogno "
                "è stato discusso: verbale_id, tavolo_id, seduta_id, approved_at, bisogni."},
    "links": openapi.obj("Collegamenti.", {
        "bisogno": openapi.string("Il bisogno."),
        "schede": openapi.string("Tutte le schede del bisogno."),
        "votazione": openapi.nullable("string", "Risultati della votazione."),
        "verbali": {"type": "array", "items": {"type": "string"}, "description": "I verbali approvati."},
    }),
}))
openapi.add_schema("SchedaObiettivo", openapi.obj(
    "Scheda obiettivo (Allegato B, Tabella Obiettivi della programmazione 2025-2027): i 26 campi ufficiali con "
    "le etichette esatte, la macroarea principale, i LEPS e i bisogni a cui risponde.", {
        "id": {**ID, "description": "Scheda."},
        "procedure_id": {**ID, "description": "Procedura."},
        "tavolo_id": {"type": ["integer", "null"], "description": "Tavolo del primo bisogno."},
        "title": openapi.string("Titolo dell'intervento."),
        "macroarea": openapi.string("Macroarea principale."),
        "leps": {"type": "array", "items": {"type": "string"}, "description": "LEPS collegati."},
        "status": openapi.string("Stato.", enum=["bozza", "pronta"]),
        "version": {"type": "integer", "minimum": 1, "description": "Versione."},
        "updated_at": openapi.string("Ultima modifica (UTC).", format="date-time"),
        "bisogni": {"type": "array", "items": ID, "description": "Bisogni a cui risponde."},
        "contributors": {"type": "array", "items": openapi.obj("ETS che ha contribuito.", {
            "name": openapi.string("Nome."), "resources": openapi.boolean("Ha offerto risorse.")}),
            "description": "ETS che hanno contribuito ai bisogni o offerto risorse."},
        "completeness": openapi.obj("Completezza.", {"filled": {"type": "integer"}, "total": {"type": "integer"},
                                                     "percent": {"type": "integer"}}),
        "fields": {"type": "array", "minItems": len(schema.fields()), "maxItems": len(schema.fields()),
                   "items": openapi.obj("Un campo ufficiale.", {
                       "order": {"type": "integer", "minimum": 1}, "id": openapi.string("Identificativo."),
                       "label": openapi.string("Etichetta ufficiale."), "value": _ANY}),
                   "description": "I 26 campi nell'ordine ufficiale."},
        "trace": {"type": "array", "items": openapi.ref("SchedaTrace"), "description": "Tracciabilità."},
        "links": openapi.obj("Collegamenti.", {"self": openapi.string("Questa scheda."),
                                               "page": openapi.string("Pagina pubblica.")}),
    }))
openapi.add_schema("PublicSchede", openapi.obj("Schede obiettivo pronte di una procedura pubblicata.", {
    "procedure": openapi.obj("La procedura.", {"id": {**ID, "description": "Procedura."},
                                               "title": openapi.string("Titolo.")}),
    "schede": {"type": "array", "items": openapi.ref("SchedaObiettivo"), "description": "Le schede."},
}))
openapi.add_schema("BisognoSchede", openapi.obj("Le schede obiettivo che rispondono a un bisogno.", {
    "bisogno_id": {**ID, "description": "Bisogno."},
    "title": openapi.string("Titolo del bisogno."),
    "schede": {"type": "array", "items": openapi.obj("Scheda.", {
        "id": {**ID, "description": "Scheda."}, "title": openapi.string("Titolo."),
        "macroarea": openapi.string("Macroarea principale."),
        "links": openapi.obj("Collegamenti.", {"self": openapi.string("La scheda."),
                                               "page": openapi.string("Pagina pubblica.")})}),
        "description": "Schede pronte."},
}))

_ERRORS = {"404": openapi.error("Inesistente, o priorità e schede non pubblicate.")}
_ACCESS = (" Solo per le procedure pubblicate, dopo che l'Ufficio di Piano ha pubblicato priorità e disposizioni; "
           "nessun nome di persona.")


def _get(summary: str, description: str, operation: str, param: str, param_help: str, schema_name: str) -> dict:
    return {"get": {"tags": [TAG], "summary": summary, "description": description + _ACCESS,
                    "operationId": operation, "parameters": [openapi.path_param(param, param_help)],
                    "responses": {"200": {"description": summary,
                                          "content": {"application/json": {"schema": openapi.ref(schema_name)}}},
                                  **_ERRORS}}}


openapi.add_path("/api/v1/procedure/{procedure_id}/priorita", _get(
    "Priorità e disposizioni di una procedura",
    "Per ogni tavolo e votazione chiusa: graduatoria, metodo, affluenza, schede per tipo di organizzazione e la "
    "disposizione dell'Ufficio di Piano (accolto, parzialmente accolto, non accolto) con la motivazione.",
    "getProcedurePriorities", "procedure_id", "Identificativo della procedura.", "PublicPriorities"))
openapi.add_path("/api/v1/procedure/{procedure_id}/schede-obiettivo", _get(
    "Schede obiettivo di una procedura", "Le schede pronte, con i 26 campi e la tracciabilità verso bisogni, "
    "votazioni e verbali.", "getProcedureSchede", "procedure_id", "Identificativo della procedura.", "PublicSchede"))
openapi.add_path("/api/v1/schede-obiettivo/{scheda_id}", _get(
    "Una scheda obiettivo", "La scheda con i 26 campi, la macroarea, i LEPS e i collegamenti ai bisogni, alle "
    "votazioni e ai verbali.", "getSchedaObiettivo", "scheda_id", "Identificativo della scheda.", "SchedaObiettivo"))
openapi.add_path("/api/v1/bisogni/{bisogno_id}/schede-obiettivo", _get(
    "Le schede obiettivo di un bisogno", "Le schede pronte che rispondono al bisogno (tracciabilità all'indietro).",
    "getBisognoSchede", "bisogno_id", "Identificativo del bisogno.", "BisognoSchede"))
