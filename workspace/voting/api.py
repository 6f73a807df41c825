"""Votazioni endpoints of /api/v1: results of closed rounds and their anonymised ballots.

Who may read: the members of the tavolo (session cookie; Ufficio di Piano administrators
included) and, once the tavolo's procedure is published, anyone. Otherwise anonymous callers get a
401 whether the round exists or not, logged-in non-members a 403 (404 when the round does not
exist). Outsiders see organisations, never people's names. Only closed rounds have results (409
before). Reading writes nothing: a round past its closing time that the sweep has not closed yet is
answered 409 "scrutinio in corso" (see ``workspace.voting.rounds``, "Closing").
"""
from __future__ import annotations

from flask import Response, jsonify
from flask_login import current_user

from workspace.accounts.models import User
from workspace.api import bp, openapi
from workspace.db import db
from workspace.errors import error_response
from workspace.i18n import gettext as _
from workspace.voting import labels, methods, payloads
from workspace.voting import permissions as voting_permissions
from workspace.voting.models import BALLOT_UNITS, GROUPS, ROUND_STATUSES, VoteRound

TAG = "Votazioni"
ID = openapi.ID

RANKING = {"type": "array", "items": {"type": "array", "items": {"type": "string"}},
           "description": "Gruppi di pari merito, dal migliore; ogni voce è l'identificativo del bisogno "
                          "come testo."}
SCORES = {"type": "object", "additionalProperties": {"type": ["number", "null"]},
          "description": "Identificativo del bisogno (testo) → valore con cui il metodo ordina."}

openapi.add_schema("VoteItem", openapi.obj("Voce in votazione: un bisogno del tavolo, con il titolo com'era "
                                       "all'apertura.", {
    "bisogno_id": {**ID, "description": "Identificativo del bisogno."},
    "position": {"type": "integer", "minimum": 1, "description": "Posizione sulla scheda."},
    "title": openapi.string("Titolo del bisogno."),
}))
openapi.add_schema("VoteRound", openapi.obj("Votazione di priorità di un tavolo, con le regole fissate all'apertura.", {
    "id": {**ID, "description": "Identificativo della votazione."},
    "tavolo_id": {**ID, "description": "Tavolo."},
    "seduta_id": {"type": ["integer", "null"], "minimum": 1,
                  "description": "Seduta in cui si è votato dal vivo; null per una votazione asincrona."},
    "title": openapi.string("Titolo."),
    "description": openapi.string("Descrizione (può essere vuota)."),
    "method": openapi.string("Metodo di conteggio.", enum=list(methods.METHOD_NAMES)),
    "method_version": openapi.string("Versione del metodo, es. «dot/1».", examples=["dot/1"]),
    "settings": {"type": "object", "description": "Impostazioni del metodo (approval: k; dot: points, "
                 "max_per_item; score: criteria, weights)."},
    "ballot_unit": openapi.string("Una scheda per persona o per organizzazione.", enum=list(BALLOT_UNITS)),
    "secret": openapi.boolean("Voto segreto: schede anonime, non collegabili a chi ha votato."),
    "replaceable": openapi.boolean("Se una nuova scheda sostituisce la precedente (mai nel voto segreto)."),
    "eligibility": openapi.obj("Aventi diritto al voto.", {
        "exclude_observers": openapi.boolean("Osservatori esclusi."),
        "include_facilitators": openapi.boolean("Facilitatori ammessi al voto."),
        "excluded_kinds": {"type": "array", "items": {"type": "string"},
                           "description": "Tipi di organizzazione esclusi."},
    }),
    "partial_results": openapi.boolean("Risultati parziali visibili durante la votazione (altrimenti solo l'affluenza)."),
    "conflict_excludes": openapi.boolean("Chi dichiara un interesse su una voce non può votarla."),
    "breakdown": openapi.boolean("Risultati distinti per tipo di organizzazione (ETS, enti pubblici, altri)."),
    "status": openapi.string("Stato: bozza, aperta, chiusa.", enum=list(ROUND_STATUSES)),
    "opens_at": openapi.nullable("string", "Apertura (UTC).", format="date-time"),
    "closes_at": openapi.nullable("string", "Chiusura prevista (UTC).", format="date-time"),
    "opened_at": openapi.nullable("string", "Apertura effettiva (UTC).", format="date-time"),
    "closed_at": openapi.nullable("string", "Chiusura effettiva (UTC).", format="date-time"),
    "items": {"type": "array", "items": openapi.ref("VoteItem"), "description": "Voci in votazione."},
}))
openapi.add_schema("VoteTurnout", openapi.obj("Affluenza rispetto agli aventi diritto.", {
    "voted": {"type": "integer", "minimum": 0, "description": "Schede espresse (persone o organizzazioni)."},
    "eligible": {"type": "integer", "minimum": 0, "description": "Aventi diritto."},
    "percent": {"type": "number", "minimum": 0, "maximum": 100, "description": "Percentuale di affluenza."},
}))
openapi.add_schema("VoteTally", openapi.obj("Conteggio del metodo (workspace.voting.methods).", {
    "method": openapi.string("Metodo.", enum=list(methods.METHOD_NAMES)),
    "version": openapi.string("Versione del metodo."),
    "ranking": RANKING,
    "scores": SCORES,
    "extra": {"type": "object", "description": "Dettagli del metodo (es. matrici di Schulze, medie e mediane "
              "del voto a punteggio, numero di schede)."},
}))
openapi.add_schema("VoteRankingRow", openapi.obj("Una voce della graduatoria.", {
    "place": {"type": "integer", "minimum": 1, "description": "Posizione (i pari merito condividono la "
              "posizione: 1, 2, 2, 4)."},
    "bisogno_id": {**ID, "description": "Bisogno."},
    "title": openapi.string("Titolo del bisogno."),
    "score": {"type": ["number", "null"], "description": "Totale o valore del metodo; null se nessuno l'ha votato "
              "(voto a punteggio)."},
    "tie": openapi.boolean("Vero se è a pari merito con altre voci."),
}))
openapi.add_schema("VoteBreakdownGroup", openapi.obj(
    "Risultati di un tipo di organizzazione. Nel voto segreto i gruppi con meno di 5 schede sono soppressi "
    "(e con essi il più piccolo degli altri, se no si ricaverebbero per differenza).", {
        "ballots": {"type": "integer", "minimum": 0, "description": "Schede del gruppo."},
        "suppressed": openapi.boolean("Vero se i risultati del gruppo non sono mostrati."),
        "ranking": {"type": ["array", "null"], "items": {"type": "array", "items": {"type": "string"}},
                    "description": "Graduatoria del gruppo; null se soppresso o senza schede."},
        "scores": {"type": ["object", "null"], "additionalProperties": {"type": ["number", "null"]},
                   "description": "Valori del gruppo; null se soppresso o senza schede."},
    }))
openapi.add_schema("VoteConflict", openapi.obj("Dichiarazione di interesse fatta prima del voto.", {
    "bisogno_id": {**ID, "description": "Voce su cui è dichiarato l'interesse."},
    "person": openapi.nullable("string", "Chi l'ha dichiarato (solo per i partecipanti del tavolo)."),
    "organisation": openapi.nullable("string", "Organizzazione rappresentata."),
    "note": openapi.string("Nota (può essere vuota)."),
    "declared_at": openapi.string("Data e ora (UTC).", format="date-time"),
    "excludes": openapi.boolean("Vero se la dichiarazione ha escluso il voto su quella voce."),
}))
openapi.add_schema("VoteOpenBallot", openapi.obj("Scheda di una votazione palese, attribuita.", {
    "person": openapi.nullable("string", "Chi ha votato (solo per i partecipanti del tavolo)."),
    "organisation": openapi.nullable("string", "Organizzazione rappresentata."),
    "group": openapi.string("Tipo di organizzazione.", enum=list(GROUPS)),
    "content": {"type": "object", "description": "La scheda, nel formato del metodo."},
    "cast_at": openapi.string("Primo voto (UTC).", format="date-time"),
    "updated_at": openapi.string("Ultima sostituzione (UTC).", format="date-time"),
}))
openapi.add_schema("VoteResults", openapi.obj("Risultati di una votazione chiusa.", {
    "round": openapi.ref("VoteRound"),
    "final": openapi.boolean("Vero: risultato definitivo (votazione chiusa)."),
    "turnout": openapi.ref("VoteTurnout"),
    "ballots_counted": {"type": ["integer", "null"], "minimum": 0, "description": "Schede contate."},
    "tally": {"oneOf": [openapi.ref("VoteTally"), {"type": "null"}], "description": "Conteggio memorizzato."},
    "ranking": {"type": "array", "items": openapi.ref("VoteRankingRow"),
                "description": "Graduatoria con i totali per voce (dopo lo spareggio, se fatto)."},
    "breakdown": {"type": ["object", "null"], "description": "Per tipo di organizzazione (ets, pubblico, altri); "
                  "null se non previsto.", "additionalProperties": openapi.ref("VoteBreakdownGroup")},
    "tie_break": {"type": ["object", "null"], "description": "Spareggio: seme, regola, gruppi spareggiati, "
                  "graduatoria risultante; null se non fatto."},
    "conflicts": {"type": "array", "items": openapi.ref("VoteConflict"), "description": "Interessi dichiarati."},
    "ballots": {"type": ["array", "null"], "items": openapi.ref("VoteOpenBallot"),
                "description": "Schede attribuite (solo votazioni palesi); null nel voto segreto."},
}))
openapi.add_schema("VoteBallots", openapi.obj(
    "Schede anonime di una votazione chiusa nel formato del file di conteggio ({\"candidates\", \"ballots\"}), "
    "ordinate per contenuto: ricontabili con «tavoli votes tally --method METODO FILE».", {
        "round_id": {**ID, "description": "Votazione."},
        "method": openapi.string("Metodo.", enum=list(methods.METHOD_NAMES)),
        "version": openapi.string("Versione del metodo."),
        "settings": {"type": "object", "description": "Impostazioni del metodo, da passare come opzioni "
                     "(--k, --points, --max-per-item, --criteria, --weights)."},
        "candidates": {"type": "array", "items": {"type": "string"},
                       "description": "Identificativi dei bisogni in votazione, come testo."},
        "ballots": {"type": "array", "items": {"type": "object"}, "description": "Le schede, senza identificativi."},
        "titles": {"type": "object", "additionalProperties": {"type": "string"},
                   "description": "Identificativo → titolo del bisogno."},
    }))


def _viewer() -> User | None:
    return current_user._get_current_object() if current_user.is_authenticated else None


def _readable_round(round_id: int) -> VoteRound | Response:
    """The closed round the caller may read, or the error response that says why not."""
    session = db.session
    vote = session.get(VoteRound, round_id)
    user = _viewer()
    if vote is None or voting_permissions.audience(session, vote, user) is None:
        if user is None:
            return error_response(401, _("Per leggere i risultati di una votazione non pubblicata "
                                         "occorre accedere come partecipante del tavolo."))
        if vote is None:
            return error_response(404, _("Votazione inesistente."))
        return error_response(403, _("Non fai parte di questo tavolo e la sua procedura non è pubblicata."))
    if vote.status != "closed":
        if payloads.phase(vote) == "closing" and vote.closes_at is not None:
            return error_response(409, _("La votazione si è chiusa il %(d)s: lo scrutinio è in corso, i risultati "
                                         "saranno disponibili a breve.", d=labels.when(vote.closes_at)))
        return error_response(409, _("La votazione non è ancora chiusa: i risultati si leggono dopo "
                                     "la chiusura."))
    return vote


@bp.get("/votazioni/<int:round_id>/risultati", endpoint="votazione_risultati")
def votazione_risultati(round_id: int) -> Response:
    vote = _readable_round(round_id)
    if isinstance(vote, Response):
        return vote
    return jsonify(payloads.results(db.session, vote, _viewer()))


@bp.get("/votazioni/<int:round_id>/schede", endpoint="votazione_schede")
def votazione_schede(round_id: int) -> Response:
    vote = _readable_round(round_id)
    if isinstance(vote, Response):
        return vote
    response = jsonify(payloads.anonymised_ballots(db.session, vote))
    response.headers["Content-Disposition"] = f'attachment; filename="votazione-{vote.id}-schede.json"'
    return response


_ACCESS = ("Leggibile dai partecipanti del tavolo (sessione di accesso al sito) e, se la procedura del tavolo è "
           "pubblicata, da chiunque; chi non partecipa al tavolo vede le organizzazioni, non i nomi delle persone.")
_PARAM = {"name": "round_id", "in": "path", "required": True, "description": "Identificativo della votazione.",
          "schema": ID}
_ERRORS = {
    "401": openapi.error("Accesso richiesto: votazione non pubblicata (o inesistente) e nessuna sessione."),
    "403": openapi.error("Procedura non pubblicata e la persona collegata non fa parte del tavolo."),
    "404": openapi.error("Votazione inesistente."),
    "409": openapi.error("La votazione non è ancora chiusa."),
}

openapi.add_path("/api/v1/votazioni/{round_id}/risultati", {"get": {
    "tags": [TAG],
    "summary": "Risultati di una votazione chiusa",
    "description": "Graduatoria, totali per voce, affluenza rispetto agli aventi diritto, risultati per tipo di "
                   "organizzazione dove consentito, interessi dichiarati, spareggio e — per le votazioni palesi — "
                   "le schede attribuite. Il risultato riporta metodo e versione. " + _ACCESS,
    "operationId": "getVoteResults",
    "parameters": [_PARAM],
    "responses": {"200": {"description": "I risultati.",
                          "content": {"application/json": {"schema": openapi.ref("VoteResults")}}}, **_ERRORS},
}})
openapi.add_path("/api/v1/votazioni/{round_id}/schede", {"get": {
    "tags": [TAG],
    "summary": "Schede anonime di una votazione chiusa",
    "description": "Le schede, senza alcun dato su chi le ha espresse né sull'ordine di arrivo, nel formato del "
                   "file di conteggio: il risultato pubblicato si può ricontare in modo indipendente con «tavoli "
                   "votes tally». " + _ACCESS,
    "operationId": "getVoteBallots",
    "parameters": [_PARAM],
    "responses": {"200": {"description": "Le schede anonime.",
                          "content": {"application/json": {"schema": openapi.ref("VoteBallots")}}}, **_ERRORS},
}})
