"""Verbali endpoints of /api/v1, with their OpenAPI description: the public record of the sedute of a
published procedure (convocations with agendas, approved verbali, closed vote results, each with
its publication window) and an approved verbale's document (edition for publication, with its
SHA-256). Readable by anyone; a procedure that is not published, a verbale that is not approved or
not in its publication window, answer 404 alike (nothing says whether they exist). Drafts and
remarks under review are never given here."""
from __future__ import annotations

from flask import jsonify

from workspace.api import bp, openapi
from workspace.db import db, utcnow
from workspace.i18n import gettext as _
from workspace.minutes import payloads, publication
from workspace.minutes.models import NAMING_RULES, Verbale
from workspace.problems import not_found

TAG = "Verbali"
ID = openapi.ID
WHEN = {"type": "string", "format": "date-time"}
SHA = {"type": "string", "pattern": "^[0-9a-f]{64}$"}


def _when(description: str) -> dict:
    return {**WHEN, "description": description}


def _nullable_when(description: str) -> dict:
    return {"type": ["string", "null"], "format": "date-time", "description": description}


_SUMMARY = {
    "id": {**ID, "description": "Identificativo del verbale."},
    "tavolo_id": {**ID, "description": "Tavolo."},
    "seduta_id": {**ID, "description": "Seduta verbalizzata."},
    "seduta_number": {"type": ["integer", "null"], "minimum": 1, "description": "Numero della seduta."},
    "edition": {"type": "integer", "minimum": 1, "description": "1 per il verbale, 2 e oltre per le errata corrige."},
    "corrects": {"type": ["integer", "null"], "minimum": 1,
                 "description": "Verbale corretto da questa errata corrige; null per un verbale."},
    "approved_at": _nullable_when("Data e ora dell'approvazione (UTC)."),
    "sha256": {**SHA, "description": "Impronta SHA-256 del contenuto canonico del verbale (JSON, chiavi ordinate, "
                                     "UTF-8, senza spazi), stampata a piè di pagina di ogni esportazione."},
    "pdf_sha256": {**SHA, "description": "Impronta SHA-256 del file PDF/A pubblicato."},
    "naming": openapi.string("Come il documento pubblicato nomina le persone.", enum=list(NAMING_RULES)),
    "published_from": _when("Inizio della pubblicazione (UTC)."),
    "published_until": _when("Fine della pubblicazione (UTC)."),
    "html_url": openapi.string("Pagina pubblica del verbale.", format="uri"),
    "pdf_url": openapi.string("PDF/A pubblicato.", format="uri"),
}
openapi.add_schema("VerbaleSummary", openapi.obj("Verbale approvato (o errata corrige) nell'albo pubblico.",
                                                 _SUMMARY))
_verbale = openapi.obj("Verbale approvato con il suo documento (edizione per la pubblicazione).", {
    **_SUMMARY,
    "content": {"type": "object", "description": "Il documento del verbale (schema «tavoli.verbale/1» o "
                                                 "«tavoli.verbale-errata/1»): intestazione, registro delle "
                                                 "presenze, ordine del giorno con bisogni, annotazioni e "
                                                 "votazioni, dichiarazioni di conflitto di interessi, allegati, "
                                                 "testo del facilitatore, osservazioni con il loro esito, "
                                                 "approvazione."},
})
openapi.add_schema("VerbalePublic", _verbale)
openapi.add_schema("PublicConvocation", openapi.obj("Convocazione di una seduta, con l'ordine del giorno.", {
    "seduta_id": {**ID, "description": "Seduta."},
    "number": {"type": "integer", "minimum": 1, "description": "Numero della seduta nel tavolo."},
    "starts_at": _when("Data e ora di convocazione (UTC)."),
    "place": openapi.string("Luogo o collegamento."),
    "mode": openapi.string("Modalità.", enum=["presenza", "remoto", "mista"]),
    "status": openapi.string("Stato della seduta.", enum=["convocata", "in_corso", "chiusa"]),
    "agenda": {"type": "array", "items": {"type": "string"}, "description": "Punti all'ordine del giorno."},
    "published_from": _nullable_when("Inizio della pubblicazione (UTC): la convocazione."),
    "published_until": _nullable_when("Fine della pubblicazione (UTC)."),
}))
openapi.add_schema("PublicRankingRow", openapi.obj("Una voce della graduatoria.", {
    "place": {"type": "integer", "minimum": 1, "description": "Posizione (pari merito condividono la posizione)."},
    "bisogno_id": {**ID, "description": "Bisogno votato."},
    "title": openapi.string("Titolo del bisogno come votato."),
    "score": {"type": ["number", "null"], "description": "Valore secondo il metodo."},
    "tie": openapi.boolean("Vero se a pari merito."),
}))
openapi.add_schema("PublicVote", openapi.obj("Risultato di una votazione chiusa.", {
    "round_id": {**ID, "description": "Votazione."},
    "title": openapi.string("Titolo."),
    "seduta_id": {"type": ["integer", "null"], "minimum": 1, "description": "Seduta; null se asincrona."},
    "method": openapi.string("Metodo di conteggio.", enum=["approval", "dot", "score", "borda", "schulze"]),
    "secret": openapi.boolean("Scrutinio segreto."),
    "closed_at": _when("Chiusura (UTC)."),
    "turnout": openapi.obj("Affluenza.", {
        "voted": {"type": "integer", "minimum": 0, "description": "Schede espresse."},
        "eligible": {"type": "integer", "minimum": 0, "description": "Aventi diritto."},
        "percent": {"type": "number", "description": "Percentuale."},
    }),
    "ranking": {"type": "array", "items": openapi.ref("PublicRankingRow"), "description": "Graduatoria."},
    "published_from": _when("Inizio della pubblicazione (UTC)."),
    "published_until": _when("Fine della pubblicazione (UTC)."),
}))
openapi.add_schema("PublicTavoloRecord", openapi.obj("Un tavolo nell'albo pubblico delle sedute.", {
    "id": {**ID, "description": "Tavolo."},
    "title": openapi.string("Titolo."),
    "macroaree": {"type": "array", "items": {"type": "string", "pattern": "^[A-L]$"},
                  "description": "Lettere delle macroaree."},
    "published_from": _when("Inizio della pubblicazione del tavolo (UTC)."),
    "published_until": _when("Fine della pubblicazione del tavolo (UTC)."),
    "convocations": {"type": "array", "items": openapi.ref("PublicConvocation"), "description": "Convocazioni."},
    "verbali": {"type": "array", "items": openapi.ref("VerbaleSummary"), "description": "Verbali approvati."},
    "votes": {"type": "array", "items": openapi.ref("PublicVote"), "description": "Votazioni chiuse."},
}))
openapi.add_schema("PublicSedute", openapi.obj("Albo pubblico delle sedute di una procedura pubblicata.", {
    "procedure": openapi.obj("La procedura.", {
        "id": {**ID, "description": "Procedura."},
        "title": openapi.string("Titolo."),
    }),
    "tavoli": {"type": "array", "items": openapi.ref("PublicTavoloRecord"), "description": "Tavoli pubblicati."},
}))


@bp.get("/procedure/<int:procedure_id>/verbali", endpoint="procedure_verbali")
def procedure_verbali(procedure_id: int):
    now = utcnow()
    procedure = publication.public_procedure(db.session, procedure_id, now)
    return jsonify({"procedure": {"id": procedure.id, "title": procedure.title},
                    "tavoli": [payloads.tavolo_record(t, procedure.id)
                               for t in publication.public_tavoli(db.session, procedure, now)]})


@bp.get("/verbali/<int:verbale_id>", endpoint="verbale")
def verbale(verbale_id: int):
    found = db.session.get(Verbale, verbale_id)
    if found is None:
        raise not_found(_("Verbale inesistente o non pubblicato."))
    procedure = publication.procedure_of_verbale(db.session, found)
    _procedure, found = publication.public_verbale(db.session, procedure.id, found.id)
    return jsonify(payloads.verbale_public(found, procedure.id))


_ERRORS = {"404": openapi.error("Inesistente, non pubblicato o fuori dal periodo di pubblicazione.")}
openapi.add_path("/api/v1/procedure/{procedure_id}/verbali", {"get": {
    "tags": [TAG],
    "summary": "Albo pubblico delle sedute di una procedura",
    "description": "Per ogni tavolo pubblicato: le convocazioni con l'ordine del giorno, i verbali approvati (con "
                   "impronta SHA-256 e collegamenti a pagina e PDF/A) e i risultati delle votazioni chiuse, ciascuno "
                   "con le date di inizio e fine della pubblicazione. Solo per le procedure pubblicate; le persone "
                   "sono nominate come stabilisce la procedura (di norma solo organizzazione e ruolo).",
    "operationId": "getProcedureVerbali",
    "parameters": [openapi.path_param("procedure_id", "Identificativo della procedura.")],
    "responses": {"200": {"description": "L'albo delle sedute.",
                          "content": {"application/json": {"schema": openapi.ref("PublicSedute")}}},
                  **_ERRORS},
}})
openapi.add_path("/api/v1/verbali/{verbale_id}", {"get": {
    "tags": [TAG],
    "summary": "Un verbale approvato",
    "description": "Il verbale approvato (o l'errata corrige) nella sua edizione per la pubblicazione, con "
                   "l'impronta SHA-256 del contenuto canonico e del PDF/A. Le bozze e le osservazioni in "
                   "revisione non sono mai pubbliche.",
    "operationId": "getVerbale",
    "parameters": [openapi.path_param("verbale_id", "Identificativo del verbale.")],
    "responses": {"200": {"description": "Il verbale.",
                          "content": {"application/json": {"schema": openapi.ref("VerbalePublic")}}},
                  **_ERRORS},
}})
