"""The bands of the two official scales at every boundary, and Tavoli's rule for what the source
leaves open: a band is reached only when the exact value reaches its lower bound (no rounding up);
0 % is "nullo" only when exactly zero; above 100 % the achievement is "ottimo", flagged "oltre il
programmato"; the budget scale compares with 100 exactly."""
from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from workspace.esiti import scale


@pytest.mark.parametrize(("pct", "band", "over"), [
    (0, "nullo", False),
    (1, "insufficiente", False),
    (49, "insufficiente", False),
    (50, "sufficiente", False),
    (79, "sufficiente", False),
    (80, "buono", False),
    (99, "buono", False),
    (100, "ottimo", False),
    # non-integer values: never rounded up into the next band
    (Decimal("0.5"), "insufficiente", False),  # something was done: not nullo
    (Fraction(1, 1000), "insufficiente", False),
    (Decimal("49.5"), "insufficiente", False),
    (Decimal("49.99"), "insufficiente", False),
    (Decimal("79.999"), "sufficiente", False),
    (Decimal("99.9"), "buono", False),
    (Decimal("99.999"), "buono", False),
    (Fraction(200, 3), "sufficiente", False),  # 66.67 %
    # over 100 %: more actions than programmed
    (Decimal("100.01"), "ottimo", True),
    (150, "ottimo", True),
])
def test_achievement_bands(pct, band, over):
    found = scale.achievement_band(pct)
    assert (found.key, found.over) == (band, over)
    # The printed label comes from the official model, not retyped.
    printed = {b["band"]: b["label_it"] for b in scale.fields()["achievement_rate"]["scale"]}
    assert found.label_it == printed[band]


@pytest.mark.parametrize(("pct", "band"), [
    (0, "<100%"), (1, "<100%"), (49, "<100%"), (50, "<100%"), (79, "<100%"), (80, "<100%"), (99, "<100%"),
    (Decimal("99.99"), "<100%"), (Fraction(29999, 300), "<100%"),
    (100, "100%"),
    (Decimal("100.01"), ">100%"), (Fraction(301, 3), ">100%"), (250, ">100%"),
])
def test_budget_bands(pct, band):
    assert scale.budget_band(pct).key == band


def test_formulas_are_exact_and_rounding_only_for_display():
    # 2 of 3 actions: 66.666… % shown 66.67, sufficiente.
    rate = scale.achievement(2, 3)
    assert rate.value == Fraction(200, 3) and rate.shown == Decimal("66.67") and rate.band.key == "sufficiente"
    # 199 of 200 actions is 99.5 %: shown 99.50, buono (not ottimo, though it would round to 100).
    rate = scale.achievement(199, 200)
    assert rate.shown == Decimal("99.50") and rate.band.key == "buono"
    # 1 of 201 is 0.4975… %: shown 0.50, insufficiente (not nullo).
    assert scale.achievement(1, 201).band.key == "insufficiente"
    assert scale.achievement(0, 7).band.key == "nullo"
    assert scale.achievement(9, 8).band.over
    # Budget: 99.995 % would round to 100.00 but stays "<100%".
    rate = scale.budget(Decimal("99995.00"), Decimal("100000.00"))
    assert rate.shown == Decimal("100.00") and rate.band.key == "<100%"
    assert scale.budget(Decimal("100000.01"), Decimal("100000.00")).band.key == ">100%"
    # Not computable without both terms (or with nothing budgeted).
    assert scale.achievement(None, 4) is None and scale.achievement(3, None) is None
    assert scale.budget(Decimal(10), None) is None and scale.budget(Decimal(10), Decimal(0)) is None


def test_negative_values_are_refused():
    with pytest.raises(ValueError):
        scale.achievement_band(-1)
    with pytest.raises(ValueError):
        scale.budget_band(Decimal("-0.01"))


def test_the_model_is_the_official_one():
    fields = scale.fields()
    assert list(fields) == ["achievement_rate", "user_evaluation", "resource_adequacy", "budget_execution_rate",
                            "critical_issues", "need_addressed_positive_change", "continuity_with_2018_2020",
                            "to_be_reproposed_2025_2027"]
    assert scale.label("achievement_rate").startswith("GRADO DI RAGGIUNGIMENTO DELL'OBIETTIVO RISPETTO A CIO' CHE ÈRA")
    assert scale.options("resource_adequacy")[0] == "Gravemente inadeguato"
