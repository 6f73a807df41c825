"""The official *Tabella Esiti* as data, and the two percentages with their bands.

The 8 dimensions, their labels, options and scales come from the official model (DGR XII/2167,
Allegato B, *MODELLO RESOCONTO ESITI PRECEDENTE PROGRAMMAZIONE 2021-2023*), loaded from the package
copy of ``esiti.json`` (``workspace/reference/data``, copied from ``shared/domain`` by ``make
refdata``): nothing here retypes a label or a band.

Percentages are computed exactly, as fractions (``(n. azioni realizzate*100)/n. azioni programmate``
and ``(pagato*100)/preventivato``), and rounded only to be shown (two decimals, half up). The band is
chosen on the exact value, never on the rounded one.

The official bands are printed as integer ranges (0 · 1-49 · 50-79 · 80-99 · 100) and the source does
not say where a non-integer value or a value above 100 % falls. Tavoli's rule, the same in the page,
the exports, the API and the tests:

* **a band is reached only when the exact value reaches its lower bound** (no rounding up): 49.5 %
  is *insufficiente*, 79.99 % *sufficiente*, 99.9 % *buono*; only exactly 100 % is *ottimo* by right;
* **0 % (nullo) is exactly zero**: any value above zero, however small (0.5 %), is *insufficiente*,
  because at least part of an action was carried out;
* **above 100 %** (more actions carried out than programmed) is *ottimo*, flagged as *oltre il
  programmato* so nobody mistakes it for a typo;
* for the budget execution rate the official scale is already open-ended: below 100 % (99.99 %
  included) is *<100%*, exactly 100 % is *100%*, above (100.01 % included) is *>100%*.

Negative counts and amounts are refused when entered (``service.validate``), so no band covers them.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import cache
from typing import Any

from workspace.reference.loader import DATA_DIR

HUNDRED = Fraction(100)


@cache
def model() -> dict[str, Any]:
    """The official model as published (``esiti.json``)."""
    return json.loads((DATA_DIR / "esiti.json").read_text(encoding="utf-8"))


@cache
def fields() -> dict[str, dict[str, Any]]:
    """The 8 dimensions by id, in the official order."""
    return {f["id"]: f for f in model()["fields"]}


def label(field_id: str) -> str:
    """The official (Italian) label of a dimension, as printed, typo included."""
    return fields()[field_id]["label_it"]


def options(field_id: str) -> list[str]:
    return list(fields()[field_id].get("options", []))


@dataclass(frozen=True)
class Band:
    """A band of an official scale: ``key`` as in the model (``nullo``, ``<100%``...), its printed
    label, and ``over`` when the value is above 100 % on a scale that ends at 100 %."""
    key: str
    label_it: str
    over: bool = False


@dataclass(frozen=True)
class Rate:
    """A computed percentage: exact (``value``), shown (``shown``, two decimals) and its band."""
    value: Fraction
    band: Band

    @property
    def shown(self) -> Decimal:
        return percent(self.value)


def percent(value: Fraction) -> Decimal:
    """An exact percentage rounded half up to two decimals, for display and export."""
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _fraction(value: int | Decimal | Fraction | float) -> Fraction:
    return value if isinstance(value, Fraction) else Fraction(str(value)) if isinstance(value, float) else Fraction(value)


def achievement_band(pct: int | Decimal | Fraction | float) -> Band:
    """The band of the *grado di raggiungimento* for an exact percentage (see the module's rule)."""
    p = _fraction(pct)
    if p < 0:
        raise ValueError("Una percentuale di raggiungimento non può essere negativa.")
    scale = fields()["achievement_rate"]["scale"]  # ascending, as printed
    top = scale[-1]
    if p > top["max_pct"]:
        return Band(top["band"], top["label_it"], over=True)
    chosen = scale[0]
    for position, band in enumerate(scale):
        lower = Fraction(band["min_pct"])
        previous = scale[position - 1] if position else None
        # The band after a single-value band (0 % "nullo") starts just above it: 0.5 % is not nullo.
        if previous is not None and previous["min_pct"] == previous["max_pct"]:
            reached = p > Fraction(previous["max_pct"])
        else:
            reached = p >= lower
        if reached:
            chosen = band
    return Band(chosen["band"], chosen["label_it"])


def budget_band(pct: int | Decimal | Fraction | float) -> Band:
    """The band of the *coincidenza tra risorse stanziate e impegnate/liquidate*: below, exactly, or
    above 100 %, compared exactly."""
    p = _fraction(pct)
    if p < 0:
        raise ValueError("Una percentuale di spesa non può essere negativa.")
    below, exact, above = fields()["budget_execution_rate"]["scale"]
    chosen = below if p < HUNDRED else exact if p == HUNDRED else above
    return Band(chosen["band"], chosen["label_it"])


def achievement(done: int | None, programmed: int | None) -> Rate | None:
    """``(n. azioni realizzate*100)/n. azioni programmate``; None until both are known."""
    if done is None or not programmed:
        return None
    value = Fraction(done * 100, programmed)
    return Rate(value, achievement_band(value))


def budget(paid: Decimal | None, planned: Decimal | None) -> Rate | None:
    """``(pagato*100)/preventivato``; None until both are known (and something was budgeted)."""
    if paid is None or not planned:
        return None
    value = Fraction(paid) * 100 / Fraction(planned)
    return Rate(value, budget_band(value))
