"""Bisogni endpoints of /api/v1, with their OpenAPI description.

Who may read: the members of the tavolo (logged in through the session cookie; Ufficio di Piano
administrators included) and, once the tavolo's procedure is published, anyone. Otherwise:

- anonymous: 401, whether the tavolo exists or not, so an unpublished tavolo's existence is not
  revealed to the outside world;
- logged in but not a member: 403 (404 when the tavolo does not exist).

People are not named: bisogni and annotations carry the organisation they are attributed to, as
published documents name people only in their representative role. Deleted or moderated
annotations keep their place in the thread without their text. The objects are the public
variants of ``workspace.needs.payloads``.
"""
from __future__ import annotations

from typing import Any

from flask import jsonify
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from workspace.api import bp, openapi
from workspace.db import db
from workspace.errors import error_response
from workspace.i18n import gettext as _
from workspace.needs.models import (
    ANNOTATION_KINDS,
    BISOGNO_STATUSES,
    CONSOLIDATION,
    Annotation,
    AnnotationSupport,
    Bisogno,
)
from workspace.needs.payloads import bisogno_public
from workspace.tavoli import permissions
from workspace.tavoli.models import Tavolo

TAG = "Bisogni"

ID = openapi.ID
MACROAREA = {"type": "string", "pattern": "^[A-L]$"}

openapi.add_schema("KeyPointRef", openapi.obj("Punto chiave ufficiale di una macroarea (Allegato B §3).", {
    "id": {**ID, "description": "Identificativo del punto chiave."},
    "macroarea": {**MACROAREA, "description": "Lettera della macroarea a cui appartiene."},
    "text": openapi.string("Testo ufficiale del punto chiave."),
}))
openapi.add_schema("ComuneRef", openapi.obj("Comune dell'Ambito interessato dal bisogno.", {
    "id": {**ID, "description": "Identificativo dell'organizzazione Comune."},
    "name": openapi.string("Denominazione.", examples=["Comune di Pavia"]),
}))
openapi.add_schema("Evidence", openapi.obj("Evidenza a sostegno del bisogno.", {
    "source": openapi.string("Fonte del dato (vuota se non indicata)."),
    "figure": openapi.string("Il dato (vuoto se non indicato).", examples=["2.340 persone"]),
    "year": openapi.nullable("integer", "Anno del dato, fra il 1990 e l'anno in corso; null se non indicato."),
}))
openapi.add_schema("Annotation", openapi.obj(
    "Annotazione a un bisogno. Quelle eliminate dall'autore o moderate da un facilitatore restano nel "
    "filo della discussione senza il testo.", {
        "id": {**ID, "description": "Identificativo dell'annotazione."},
        "parent_id": {"type": ["integer", "null"], "minimum": 1,
                      "description": "Annotazione a cui risponde; null se non è una risposta."},
        "kind": openapi.string("Tipo: dato, esperienza sul campo, risorsa offerta, criticità, proposta.",
                        enum=list(ANNOTATION_KINDS)),
        "body": openapi.nullable("string", "Testo in Markdown; null se eliminata o moderata."),
        "body_html": openapi.nullable("string", "Testo reso in HTML sicuro; null se eliminata o moderata."),
        "organisation": openapi.nullable("string", "Organizzazione a cui è attribuita."),
        "created_at": openapi.string("Data e ora di pubblicazione (UTC).", format="date-time"),
        "deleted": {"type": "boolean", "description": "Vero se eliminata o moderata."},
        "moderated": {"type": "boolean", "description": "Vero se nascosta da un facilitatore."},
        "moderation_reason": openapi.nullable("string", "Motivazione della moderazione; null se non moderata."),
        "supports": {"type": "array", "items": {"type": "string"},
                     "description": "Organizzazioni che la sostengono, in ordine alfabetico."},
        "supports_count": {"type": "integer", "minimum": 0, "description": "Numero di organizzazioni che "
                           "la sostengono."},
    }))
openapi.add_schema("Bisogno", openapi.obj("Bisogno della comunità sollevato a un tavolo tematico, con le sue "
                                      "annotazioni.", {
    "id": {**ID, "description": "Identificativo del bisogno."},
    "tavolo_id": {**ID, "description": "Tavolo a cui è stato proposto."},
    "seduta_id": {"type": ["integer", "null"], "minimum": 1,
                  "description": "Seduta in cui è stato sollevato; null se proposto fra una seduta e l'altra."},
    "title": openapi.string("Titolo."),
    "description": openapi.string("Descrizione in Markdown (può essere vuota)."),
    "description_html": openapi.string("Descrizione resa in HTML sicuro."),
    "macroarea": {**MACROAREA, "description": "Lettera della macroarea principale."},
    "transversal": {"type": "array", "items": MACROAREA,
                    "description": "Lettere delle macroaree trasversali."},
    "key_points": {"type": "array", "items": openapi.ref("KeyPointRef"),
                   "description": "Punti chiave ufficiali delle macroaree del bisogno."},
    "target_population": openapi.string("Popolazione destinataria (può essere vuota)."),
    "whole_ambito": {"type": "boolean", "description": "Vero se riguarda l'intero Ambito."},
    "comuni": {"type": "array", "items": openapi.ref("ComuneRef"),
               "description": "Comuni interessati, se non riguarda l'intero Ambito."},
    "evidence": openapi.ref("Evidence"),
    "consolidation": openapi.string("Bisogno consolidato o nuovo (Tabella Obiettivi 2025-2027).",
                             enum=list(CONSOLIDATION)),
    "status": openapi.string("Stato: proposto, in discussione, accorpato in un altro, ritirato.",
                      enum=list(BISOGNO_STATUSES)),
    "merged_into": {"type": ["integer", "null"], "minimum": 1,
                    "description": "Bisogno in cui è stato accorpato; null se non accorpato."},
    "merged_here": {"type": "array", "items": ID, "description": "Bisogni accorpati in questo."},
    "organisation": openapi.nullable("string", "Organizzazione che lo ha proposto."),
    "version": {"type": "integer", "minimum": 1, "description": "Numero della versione corrente."},
    "created_at": openapi.string("Data e ora della proposta (UTC).", format="date-time"),
    "updated_at": openapi.string("Data e ora dell'ultima modifica (UTC).", format="date-time"),
    "annotations": {"type": "array", "items": openapi.ref("Annotation"),
                    "description": "Annotazioni nell'ordine in cui sono state pubblicate."},
}))


# ------------------------------------------------------------------------------------------ payloads


def _payloads(rows: list[Bisogno]) -> list[dict[str, Any]]:
    ids = [b.id for b in rows]
    merged: dict[int, list[int]] = {}
    if ids:
        for child_id, into_id in db.session.execute(
                select(Bisogno.id, Bisogno.merged_into_id).where(Bisogno.merged_into_id.in_(ids))
                .order_by(Bisogno.id)):
            if into_id is not None:  # always, by the query; said for the type checker
                merged.setdefault(into_id, []).append(child_id)
    return [bisogno_public(b, merged.get(b.id, [])) for b in rows]


def _query():
    return select(Bisogno).options(
        selectinload(Bisogno.transversal), selectinload(Bisogno.key_points), selectinload(Bisogno.comuni),
        selectinload(Bisogno.organisation),
        selectinload(Bisogno.annotations).selectinload(Annotation.supports)
        .selectinload(AnnotationSupport.organisation),
        selectinload(Bisogno.annotations).selectinload(Annotation.organisation),
    )


def _readable_tavolo(tavolo_id: int):
    """The tavolo, or the error response that says why it cannot be read."""
    tavolo = db.session.get(Tavolo, tavolo_id)
    published = tavolo is not None and tavolo.procedure.published
    if published:
        return tavolo, None
    if not getattr(current_user, "is_authenticated", False):
        return None, error_response(401, _("Per leggere i bisogni di un tavolo non pubblicato occorre accedere "
                                           "come partecipante del tavolo."))
    if tavolo is None:
        return None, error_response(404, _("Tavolo inesistente."))
    if not permissions.can(db.session, current_user._get_current_object(), "view", tavolo.id):
        return None, error_response(403, _("Non fai parte di questo tavolo e la sua procedura non è pubblicata."))
    return tavolo, None


# ------------------------------------------------------------------------------------------- routes


@bp.get("/tavoli/<int:tavolo_id>/bisogni", endpoint="tavolo_bisogni")
def tavolo_bisogni(tavolo_id: int):
    tavolo, refusal = _readable_tavolo(tavolo_id)
    if refusal is not None:
        return refusal
    rows = list(db.session.scalars(_query().where(Bisogno.tavolo_id == tavolo.id).order_by(Bisogno.id)))
    return jsonify(_payloads(rows))


@bp.get("/tavoli/<int:tavolo_id>/bisogni/<int:bisogno_id>", endpoint="tavolo_bisogno")
def tavolo_bisogno(tavolo_id: int, bisogno_id: int):
    tavolo, refusal = _readable_tavolo(tavolo_id)
    if refusal is not None:
        return refusal
    row = db.session.scalar(_query().where(Bisogno.id == bisogno_id, Bisogno.tavolo_id == tavolo.id))
    if row is None:
        return error_response(404, _("Bisogno inesistente."))
    return jsonify(_payloads([row])[0])




_ACCESS = ("Leggibile dai partecipanti del tavolo (sessione di accesso al sito) e, se la procedura del tavolo "
           "è pubblicata, da chiunque. Le persone non sono nominate: contributi e annotazioni riportano "
           "l'organizzazione a cui sono attribuiti.")
_TAVOLO_PARAM = {"name": "tavolo_id", "in": "path", "required": True, "description": "Identificativo del tavolo.",
                 "schema": ID}
_ERRORS = {
    "401": openapi.error("Accesso richiesto: tavolo non pubblicato (o inesistente) e nessuna sessione."),
    "403": openapi.error("Tavolo non pubblicato e la persona collegata non ne fa parte."),
    "404": openapi.error("Tavolo (o bisogno) inesistente."),
}

openapi.add_path("/api/v1/tavoli/{tavolo_id}/bisogni", {"get": {
    "tags": [TAG],
    "summary": "Bisogni di un tavolo",
    "description": "Tutti i bisogni del tavolo in ordine di proposta, ciascuno con le sue annotazioni. " + _ACCESS,
    "operationId": "listBisogni",
    "parameters": [_TAVOLO_PARAM],
    "responses": {**openapi.json_array_response("Elenco dei bisogni con le annotazioni.", "Bisogno"), **_ERRORS},
}})
openapi.add_path("/api/v1/tavoli/{tavolo_id}/bisogni/{bisogno_id}", {"get": {
    "tags": [TAG],
    "summary": "Un bisogno",
    "description": "Un bisogno del tavolo con le sue annotazioni. " + _ACCESS,
    "operationId": "getBisogno",
    "parameters": [_TAVOLO_PARAM, {"name": "bisogno_id", "in": "path", "required": True,
                                   "description": "Identificativo del bisogno.", "schema": ID}],
    "responses": {
        "200": {"description": "Il bisogno con le annotazioni.",
                "content": {"application/json": {"schema": openapi.ref("Bisogno")}}},
        **_ERRORS,
    },
}})
