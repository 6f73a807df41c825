"""Priorities, dispositions and schede obiettivo of the Pavia demo, through the same services the
pages use: on the Anziani (E) and Povertà (A) tavoli a dot vote is held and closed, the Ufficio di
Piano records a disposition with its reason on every ranked bisogno, and four complete cards —
two per macroarea, prefilled from the bisogni and then completed — are marked "pronta".

Called by ``workspace.demo.loader`` with the demo's people (by e-mail local part) and tavoli (by
macroarea letter), after the verbali (so the approved verbale of Tavolo E is linked by the cards).
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from workspace.accounts.models import User
from workspace.db import utcnow
from workspace.needs import service as needs
from workspace.planning import service
from workspace.reference.models import Macroarea
from workspace.tavoli.models import Tavolo
from workspace.voting import ballots, rounds

# Points (out of 10) each delegate gives to the tavolo's bisogni, in the order of their ids.
E_BALLOTS = {"odv": (4, 4, 2), "fondazione": (3, 5, 2), "coop": (2, 6, 2), "rete": (5, 2, 1, 2),
             "soms": (3, 3, 0, 0, 4), "comune": (4, 3, 3), "asst": (2, 4, 4), "ats": (3, 4, 3)}
A_BALLOTS = {"odv": (6, 4), "aps": (3, 7), "fondazione": (7, 3), "rete": (4, 6), "comune": (5, 3, 2),
             "asst": (5, 5)}
OUTCOMES = ("accolto", "parzialmente_accolto", "accolto", "non_accolto", "parzialmente_accolto")
REASONS = {
    "accolto": "Coerente con gli indirizzi del Piano di Zona e finanziabile con il Fondo nazionale politiche "
               "sociali e le risorse del bilancio consortile.",
    "parzialmente_accolto": "Accolto per la parte realizzabile nel triennio con le risorse disponibili; il resto "
                            "sarà rivalutato all'aggiornamento annuale del Piano.",
    "non_accolto": "Non di competenza dell'Ambito: la richiesta è trasmessa all'ATS, titolare dell'intervento.",
}


def _close_vote(session: Session, facilitator: User, people: dict[str, User], tavolo: Tavolo, title: str,
                plan: dict[str, tuple[int, ...]]) -> None:
    ids = [b.id for b in needs.bisogni_of(session, tavolo.id) if b.status not in ("ritirato", "accorpato")]
    vote, _ev = rounds.create_round(session, facilitator, tavolo, title, "dot", ids,
                                    closes_at=utcnow() + timedelta(days=2),
                                    description="Ogni delegato distribuisce 10 punti fra i bisogni emersi.")
    rounds.open_round(session, facilitator, vote)
    for who, points in plan.items():
        ballot = {"points": {str(b): p for b, p in zip(ids, points, strict=False) if p}}
        ballots.cast_ballot(session, people[who], vote, ballot)
    rounds.close_round(session, facilitator, vote)


def _complete(session: Session, values: dict[str, Any], code: str, spec: dict[str, Any]) -> dict[str, Any]:
    """The prefilled values completed with the card's own text (spec)."""
    macroarea = session.get_one(Macroarea, code)
    points = list(values.get("key_points") or [])
    for text in spec["key_points"]:
        if text not in points and text in {k.text for k in macroarea.key_points}:
            points.append(text)
    out = dict(values)
    out.update({
        "title": spec["title"],
        "objectives": spec["objectives"],
        "planned_actions": spec["actions"],
        "target": values.get("target") or spec["target"],
        "budgeted_resources": {"public": spec["public"], "private": spec["private"]},
        "dedicated_staff": spec["staff"],
        "key_points": points or [macroarea.key_points[0].text],
        "asst_in_implementation": {"answer": "SI", "detail": spec["asst"]},
        "cooperation_with_other_ambiti": {"answer": "NO", "detail": ""},
        "continuity_with_2021_2023": spec["continuity"],
        "service_novelty": spec["novelty"],
        "continues_premiale_project": "NO",
        "formally_co_designed_with_ets": {"answer": "SI", "detail": spec["codesign"]},
        "other_network_actors": {"answer": "SI", "detail": spec["network"]},
        "objective_orientation": spec["orientation"],
        "innovative_models": {"answer": "SI", "detail": spec["innovation"]},
        "digitalisation_aspects": {"answer": "NO", "detail": ""},
        "delivery_arrangements": [{"description": spec["process"], "baseline": "0", "target": spec["process_target"],
                                   "source": "Sistema informativo dell'Ambito", "horizon": "2025-2027"}],
        "expected_results": [{"description": spec["output"], "baseline": spec["output_baseline"],
                              "target": spec["output_target"], "source": "Ufficio di Piano", "horizon": "2027"}],
        "expected_impact": [{"description": spec["outcome"], "baseline": spec["outcome_baseline"],
                             "target": spec["outcome_target"], "source": "Indagine annuale", "horizon": "2027"}],
    })
    novelty = out.get("need_novelty") or {}
    if isinstance(novelty, dict) and novelty.get("answer") == "NUOVO BISOGNO" and not novelty.get("detail"):
        out["need_novelty"] = {"answer": "NUOVO BISOGNO", "detail": spec["new_need"]}
    for item in out.get("needs_addressed") or []:
        item["target"] = item.get("target") or spec["input_target"]
    return out


CARDS: dict[str, list[dict[str, Any]]] = {
    "E": [
        dict(title="Rete di prossimità contro la solitudine degli anziani",
             objectives="Ridurre l'isolamento delle persone anziane sole con una rete stabile di volontari, "
                        "custodi sociali e servizi di quartiere.",
             actions=["Mappatura degli anziani soli con i servizi sociali dei Comuni",
                      "Telefonate e visite di compagnia dei volontari", "Custodi sociali nei quartieri periferici"],
             target="Persone over 75 che vivono sole", public=180000, private=25000,
             staff="Due assistenti sociali (coordinamento), un educatore, i volontari delle ODV",
             key_points=["Contrasto all'isolamento"], asst="Segnalazione dei casi fragili dalle Case di Comunità",
             continuity="SI", novelty="Servizio sostanzialmente rivisto/aggiornato",
             codesign="Le ODV gestiscono le visite, l'Ambito coordina e forma", network="Parrocchie e farmacie",
             orientation="PROMOZIONALE/PREVENTIVO", innovation="Custode sociale di quartiere",
             process="Tempo medio fra segnalazione e prima visita (giorni)", process_target="7",
             output="Anziani soli raggiunti da almeno un contatto al mese", output_baseline="120",
             output_target="400", outcome="Quota di anziani seguiti che dichiarano meno solitudine",
             outcome_baseline="n.d.", outcome_target="60%", input_target="Tutti i residenti mappati",
             new_need="Isolamento cresciuto dopo la pandemia"),
        dict(title="Sollievo e formazione per i caregiver familiari",
             objectives="Sostenere chi assiste un familiare non autosufficiente con sollievo, formazione e "
                        "accompagnamento ai servizi.",
             actions=["Ricoveri di sollievo programmati", "Corsi per caregiver con l'ASST",
                      "Sportello unico di orientamento"],
             target="Caregiver familiari di persone non autosufficienti", public=240000, private=40000,
             staff="Un'assistente sociale dedicata, operatori delle cooperative",
             key_points=["Sostegno ai caregiver"], asst="Formazione sanitaria dei caregiver e valutazione "
                                                         "multidimensionale", continuity="SI",
             novelty="Nuovo servizio", codesign="Le cooperative gestiscono il sollievo in co-progettazione",
             network="Sindacati dei pensionati", orientation="RIPARATIVO",
             innovation="Budget di sollievo personalizzato", process="Tempo di attivazione del sollievo (giorni)",
             process_target="15", output="Caregiver formati", output_baseline="0", output_target="150",
             outcome="Caregiver che riducono il carico percepito (scala Zarit)", outcome_baseline="n.d.",
             outcome_target="50%", input_target="Copertura di tutti i Comuni",
             new_need="Aumento dei caregiver che lavorano"),
    ],
    "A": [
        dict(title="Sostegno alle famiglie monoreddito",
             objectives="Prevenire l'impoverimento delle famiglie con un solo reddito con orientamento, "
                        "contributi mirati e accesso ai bonus.",
             actions=["Sportello di orientamento ai benefici", "Fondo per spese scolastiche e mensa",
                      "Educazione finanziaria"],
             target="Famiglie monoreddito con figli minori", public=150000, private=50000,
             staff="Un'assistente sociale, un orientatore del Centro per l'impiego",
             key_points=["Famiglie monoreddito"], asst="Consultori familiari per le famiglie con fragilità",
             continuity="NO", novelty="Nuovo servizio", codesign="La Fondazione cofinanzia il fondo",
             network="Scuole e Centro per l'impiego", orientation="PROMOZIONALE/PREVENTIVO",
             innovation="Accesso unico ai benefici", process="Domande istruite entro 30 giorni",
             process_target="90%", output="Famiglie sostenute", output_baseline="0", output_target="200",
             outcome="Famiglie che superano la soglia di povertà relativa", outcome_baseline="n.d.",
             outcome_target="30%", input_target="Tutte le famiglie segnalate",
             new_need="Inflazione sui beni di prima necessità"),
        dict(title="Lavoro povero: accompagnamento e reti",
             objectives="Accompagnare i lavoratori poveri verso un reddito adeguato con orientamento al lavoro "
                        "e sostegni temporanei.",
             actions=["Orientamento e bilancio di competenze", "Contributi ponte temporanei",
                      "Rete con le imprese del territorio"],
             target="Lavoratori con reddito sotto la soglia di povertà", public=120000, private=30000,
             staff="Un orientatore, un educatore professionale",
             key_points=["Working poors e lavoratori precari"], asst="Presa in carico sanitaria dei casi complessi",
             continuity="NO", novelty="Nuovo servizio", codesign="Le reti associative curano l'aggancio",
             network="Associazioni di categoria", orientation="PROMOZIONALE/PREVENTIVO",
             innovation="Patto con le imprese locali", process="Percorsi avviati entro 20 giorni",
             process_target="80%", output="Persone accompagnate", output_baseline="0", output_target="120",
             outcome="Persone con reddito migliorato dopo 12 mesi", outcome_baseline="n.d.",
             outcome_target="40%", input_target="Tutte le persone segnalate",
             new_need="Precarietà cresciuta nel triennio"),
    ],
}


def load_planning(session: Session, people: dict[str, User], tavoli_by_code: dict[str, Tavolo]) -> None:
    facilitator, rup = people["facilitatore"], people["rup"]
    e, a = tavoli_by_code["E"], tavoli_by_code["A"]
    _close_vote(session, facilitator, people, e, "Priorità del tavolo Anziani", E_BALLOTS)
    _close_vote(session, facilitator, people, a, "Priorità del tavolo Povertà", A_BALLOTS)
    procedure = e.procedure
    for tavolo in (e, a):
        ranked = sorted(service.prioritised(session, tavolo.id).items(), key=lambda item: (item[1][1], item[0]))
        for n, (bisogno_id, _found) in enumerate(ranked):
            outcome = OUTCOMES[n % len(OUTCOMES)]
            service.record_disposition(session, rup, bisogno_id, outcome, REASONS[outcome])
        accepted = [b for b, _f in ranked if service.disposition_of(session, b).outcome != "non_accolto"]  # type: ignore[union-attr]
        code = tavolo.macroaree[0].code
        groups = [[accepted[0]], accepted[1:3]] if len(accepted) > 2 else [[accepted[0]], [accepted[-1]]]
        for spec, ids in zip(CARDS[code], groups, strict=True):
            card = service.create_scheda(session, rup, procedure, ids, code)
            leps = [leps.id for leps in card.macroarea.leps[:1]] if spec is CARDS[code][0] else []
            service.update_scheda(session, rup, card, values=_complete(session, card.values, code, spec), leps=leps)
            service.set_ready(session, rup, card)
    session.flush()
