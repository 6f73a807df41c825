"""JSON of the esiti in /api/v1: one objective with its 8 dimensions, computed percentages (rounded
to two decimals, as numbers) and bands (the official label and its key)."""
from __future__ import annotations

from typing import Any

from workspace.esiti import service
from workspace.esiti.models import PreviousObjective
from workspace.procedures.models import Procedure


def _number(value: Any) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == int(value) else float(value)


def objective(o: PreviousObjective) -> dict[str, Any]:
    achieved, spent = o.achievement, o.budget
    return {
        "id": o.id,
        "numero": o.position,
        "obiettivo": o.title,
        "macroarea": o.macroarea,
        "azioni_programmate": o.actions_programmed,
        "azioni_realizzate": o.actions_done,
        "grado_raggiungimento_pct": _number(achieved.shown) if achieved else None,
        "fascia_raggiungimento": achieved.band.key if achieved else None,
        "fascia_raggiungimento_etichetta": service.band_text(achieved),
        "oltre_il_programmato": bool(achieved and achieved.band.over),
        "valutazione_utenti": o.user_evaluation,
        "adeguatezza_risorse": o.resource_adequacy,
        "risorse_preventivate": _number(o.budget_planned),
        "risorse_pagate": _number(o.budget_paid),
        "coincidenza_risorse_pct": _number(spent.shown) if spent else None,
        "fascia_coincidenza": spent.band.key if spent else None,
        "fascia_coincidenza_etichetta": service.band_text(spent),
        "criticita": o.critical_issues,
        "risposta_bisogno": o.need_addressed,
        "risposta_bisogno_motivazione": o.need_addressed_reason,
        "continuita_2018_2020": o.continuity,
        "riproposto_2025_2027": o.reproposed,
        "riproposto_motivazione": o.reproposed_reason,
        "dimensioni_mancanti": o.missing(),
    }


def table(procedure: Procedure, objectives: list[PreviousObjective]) -> dict[str, Any]:
    return {"procedure": {"id": procedure.id, "title": procedure.title, "ambito_code": procedure.ambito_code},
            "objectives": [objective(o) for o in objectives]}
