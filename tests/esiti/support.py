"""Rows and helpers for the esiti tests."""
from __future__ import annotations

from workspace.procedures.models import Procedure


def row(**overrides) -> dict:
    """A complete, valid row by column key (strings, as a form or a CSV gives them)."""
    data = {
        "obiettivo": "Potenziare l'assistenza domiciliare",
        "macroarea": "Domiciliarità",
        "azioni_programmate": "8",
        "azioni_realizzate": "6",
        "valutazione_utenti": "Questionario: 81% soddisfatti",
        "adeguatezza_risorse": "Adeguato",
        "risorse_preventivate": "240.000,00",
        "risorse_pagate": "228.500,50",
        "criticita": "Turn-over degli operatori",
        "risposta_bisogno": "SI",
        "risposta_bisogno_motivazione": "Tempi di attivazione dimezzati",
        "continuita_2018_2020": "NO",
        "riproposto_2025_2027": "SI",
        "riproposto_motivazione": "Il bisogno resta",
    }
    data.update(overrides)
    return data


def procedure_of(session, world) -> Procedure:
    return session.get(Procedure, world.tavolo.procedure_id)
