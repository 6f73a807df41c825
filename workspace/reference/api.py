"""Reference endpoints of /api/v1: macroaree, LEPS and Ambiti territoriali, with their OpenAPI
description (declared next to the routes so the two cannot drift apart)."""
from __future__ import annotations

from flask import jsonify, request

from workspace.api import bp, openapi
from workspace.db import db
from workspace.reference import service
from workspace.reference.models import Ambito, Leps, Macroarea

TAG = "Riferimenti"






openapi.add_schema("LepsRef", openapi.obj("Riferimento a un LEPS.", {
    "id": openapi.string("Identificativo stabile del LEPS.", examples=["incremento_sad"]),
    "name": openapi.string("Denominazione ufficiale del LEPS."),
}))
openapi.add_schema("Macroarea", openapi.obj(
    "Macroarea di policy della programmazione 2025-2027 (o storica, se confluita in un'altra).", {
        "code": openapi.string("Lettera della macroarea.", pattern="^[A-Z]$", examples=["A"]),
        "name": openapi.string("Denominazione ufficiale."),
        "name_en": openapi.string("Denominazione in inglese (traduzione non ufficiale)."),
        "status": openapi.string("`active` per le macroaree 2025-2027, `merged` per quelle confluite in un'altra.",
                          enum=["active", "merged"]),
        "merged_into": {"type": ["string", "null"], "pattern": "^[A-Z]$",
                        "description": "Lettera della macroarea in cui è confluita; null se attiva."},
        "key_points": {"type": "array", "items": {"type": "string"},
                       "description": "Punti chiave ufficiali (Allegato B §3), nell'ordine della DGR."},
        "leps": {"type": "array", "items": openapi.ref("LepsRef"),
                 "description": "LEPS collegati alla macroarea, nell'ordine ufficiale dei LEPS."},
    }))
openapi.add_schema("Leps", openapi.obj("Livello essenziale delle prestazioni sociali.", {
    "id": openapi.string("Identificativo stabile del LEPS.", examples=["incremento_sad"]),
    "name": openapi.string("Denominazione ufficiale."),
    "name_en": {"type": ["string", "null"], "description": "Denominazione in inglese (non ufficiale)."},
    "strategic": {"type": "boolean", "description": "Vero per i 5 LEPS strategici 2025-2027."},
    "macroaree": {"type": "array", "items": {"type": "string", "pattern": "^[A-Z]$"},
                  "description": "Lettere delle macroaree in cui il LEPS compare."},
}))
openapi.add_schema("AtsRef", openapi.obj("Agenzia di Tutela della Salute.", {
    "code": openapi.string("Codice ATS.", examples=["328"]),
    "name": openapi.string("Denominazione come in Allegato C.", examples=["ATS DI PAVIA"]),
}))
openapi.add_schema("AsstRef", openapi.obj("Azienda Socio-Sanitaria Territoriale.", {
    "code": openapi.string("Codice ASST.", examples=["727"]),
    "name": openapi.string("Denominazione come in Allegato C.", examples=["ASST DI PAVIA"]),
}))
openapi.add_schema("DistrettoLink", openapi.obj(
    "Un distretto dell'Ambito con l'ASST sotto cui è elencato (una riga di Allegato C; un distretto "
    "può comparire sotto due ASST).", {
        "code": openapi.string("Codice del distretto.", examples=["22076"]),
        "name": openapi.string("Denominazione del distretto."),
        "asst": openapi.ref("AsstRef"),
    }))
openapi.add_schema("Ambito", openapi.obj("Ambito territoriale (Allegato C).", {
    "code": openapi.string("Codice dell'Ambito.", examples=["50008"]),
    "name": openapi.string("Denominazione dell'Ambito.", examples=["Pavia"]),
    "sioss_code": openapi.string("Codice SIOSS.", examples=["lom_72"]),
    "ats": openapi.ref("AtsRef"),
    "distretti": {"type": "array", "items": openapi.ref("DistrettoLink"),
                  "description": "Distretti dell'Ambito (molti-a-molti), ordinati per codice."},
}))


def _get(summary: str, description: str, operation_id: str, item: str, response: str,
         parameters: list | None = None) -> dict:
    op = {
        "tags": [TAG],
        "summary": summary,
        "description": description,
        "operationId": operation_id,
        "responses": openapi.json_array_response(response, item),
    }
    if parameters:
        op["parameters"] = parameters
    return {"get": op}


# ------------------------------------------------------------------------------------------ payloads


def macroarea_payload(m: Macroarea) -> dict:
    return {
        "code": m.code,
        "name": m.name,
        "name_en": m.name_en,
        "status": m.status,
        "merged_into": m.merged_into,
        "key_points": [kp.text for kp in m.key_points],
        "leps": [{"id": lp.id, "name": lp.name} for lp in m.leps],
    }


def leps_payload(lp: Leps) -> dict:
    return {
        "id": lp.id,
        "name": lp.name,
        "name_en": lp.name_en,
        "strategic": lp.strategic,
        "macroaree": [m.code for m in lp.macroaree],
    }


def ambito_payload(a: Ambito) -> dict:
    return {
        "code": a.code,
        "name": a.name,
        "sioss_code": a.sioss_code,
        "ats": {"code": a.ats.code, "name": a.ats.name},
        "distretti": [
            {
                "code": link.distretto_code,
                "name": link.distretto.name,
                "asst": {"code": link.asst.code, "name": link.asst.name},
            }
            for link in a.links
        ],
    }


# ------------------------------------------------------------------------------------------- routes


@bp.get("/riferimenti/macroaree", endpoint="riferimenti_macroaree")
def riferimenti_macroaree():
    return jsonify([macroarea_payload(m) for m in service.list_macroaree(db.session)])


openapi.add_path("/api/v1/riferimenti/macroaree", _get(
    "Macroaree di policy",
    "Tutte le macroaree per lettera: le 11 attive nel triennio 2025-2027 (A, B, D-L) e la C, storica, "
    "confluita nella A. Per ciascuna: punti chiave ufficiali e LEPS collegati (DGR XII/2167 del "
    "15/04/2024).",
    "listMacroaree", "Macroarea", "Elenco delle macroaree.",
))


@bp.get("/riferimenti/leps", endpoint="riferimenti_leps")
def riferimenti_leps():
    return jsonify([leps_payload(lp) for lp in service.list_leps(db.session)])


openapi.add_path("/api/v1/riferimenti/leps", _get(
    "Livelli essenziali delle prestazioni sociali (LEPS)",
    "I 16 LEPS nell'ordine della DGR, con l'indicazione dei 5 strategici e delle macroaree in cui "
    "compaiono.",
    "listLeps", "Leps", "Elenco dei LEPS.",
))


@bp.get("/riferimenti/ambiti", endpoint="riferimenti_ambiti")
def riferimenti_ambiti():
    query = request.args.get("q", "", type=str)
    return jsonify([ambito_payload(a) for a in service.search_ambiti(db.session, query)])


openapi.add_path("/api/v1/riferimenti/ambiti", _get(
    "Ambiti territoriali",
    "I 91 Ambiti territoriali (Allegato C) per codice, con ATS, distretti e ASST. Con `q` restituisce "
    "solo gli Ambiti che corrispondono alla ricerca.",
    "listAmbiti", "Ambito", "Elenco degli Ambiti (eventualmente filtrato).",
    parameters=[{
        "name": "q",
        "in": "query",
        "required": False,
        "description": "Testo da cercare, senza distinzione di maiuscole e accenti, in codice e nome "
        "dell'Ambito, codice SIOSS, codice e nome dell'ATS, codici e nomi dei distretti. Con più parole "
        "devono comparire tutte. Massimo 200 caratteri considerati.",
        "schema": {"type": "string"},
        "example": "pavia",
    }],
))
