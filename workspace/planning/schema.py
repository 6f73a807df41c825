"""The official *Tabella Obiettivi della programmazione 2025-2027* as data.

The 26 fields (labels, order, types, options, indicator classes) are read from the package copy of
``scheda_obiettivo.json`` that the reference area loads (``workspace/reference/data``), never
retyped. The shape of each field's value in ``Scheda.values``:

- ``text``: a string; ``planned_actions`` (``multi``): a list of strings, one per action;
- ``money``: ``{"public": number|None, "private": number|None}`` (euro);
- ``list_of_macroaree``: ``{"answer": "SI"|"NO", "macroaree": [codes]}`` (SI needs a code);
- ``key_points``: a list of official key point texts;
- ``yes_no``: ``"SI"`` or ``"NO"``; ``yes_no_with_detail``: ``{"answer", "detail"}`` (detail
  required when the answer is the field's ``detail_required_when``);
- ``enum``: one of the options; ``need_novelty`` also carries ``{"answer", "detail"}``;
- ``indicators``: a list of ``{"description", "baseline", "target", "source", "horizon"}``; their
  class (input / process / output / outcome) is the field's ``indicator_class``.

Completeness: every field must be filled except ``ets_involvement_if_not_formalised``, which is
required only when neither co-programming nor co-design is formalised (its ``condition_en``).
"""
from __future__ import annotations

import json
from functools import cache
from typing import Any

from workspace.reference.loader import DATA_DIR

INDICATOR_KEYS = ("description", "baseline", "target", "source", "horizon")
INDICATOR_CLASS_LABELS = {"input": "input", "process": "processo", "output": "output", "outcome": "outcome"}
CONDITIONAL = "ets_involvement_if_not_formalised"


@cache
def official() -> dict[str, Any]:
    with (DATA_DIR / "scheda_obiettivo.json").open(encoding="utf-8") as fh:
        return json.load(fh)


@cache
def fields() -> tuple[dict[str, Any], ...]:
    """The 26 fields in their official order."""
    return tuple(sorted(official()["fields"], key=lambda f: f["order"]))


@cache
def by_id() -> dict[str, dict[str, Any]]:
    return {f["id"]: f for f in fields()}


def field_ids() -> list[str]:
    return [f["id"] for f in fields()]


def labels() -> list[str]:
    """The 26 official Italian labels, in order."""
    return [f["label_it"] for f in fields()]


def indicator_fields() -> list[dict[str, Any]]:
    return [f for f in fields() if f["type"] == "indicators"]


def _blank(text: Any) -> bool:
    return not (isinstance(text, str) and text.strip())


def _answer(value: Any) -> Any:
    return value.get("answer") if isinstance(value, dict) else value


def filled(field: dict[str, Any], value: Any, values: dict[str, Any]) -> bool:
    """Whether the field counts as filled in for the completeness meter."""
    kind = field["type"]
    if field["id"] == CONDITIONAL:
        needed = (_answer(values.get("formally_co_programmed_with_ets")) == "NO"
                  and _answer(values.get("formally_co_designed_with_ets")) == "NO")
        return not needed or not _blank(value)
    if kind == "text":
        if field.get("multi"):
            return isinstance(value, list) and any(not _blank(v) for v in value)
        return not _blank(value)
    if kind == "money":
        return isinstance(value, dict) and any(isinstance(value.get(k), (int, float)) for k in ("public", "private"))
    if kind == "list_of_macroaree":
        return isinstance(value, dict) and (value.get("answer") == "NO"
                                             or (value.get("answer") == "SI" and bool(value.get("macroaree"))))
    if kind == "key_points":
        return isinstance(value, list) and bool(value)
    if kind == "yes_no":
        return value in field["options"]
    if kind in ("yes_no_with_detail", "enum"):
        answer = _answer(value)
        if answer not in field["options"]:
            return False
        if field.get("detail_required_when") == answer:
            return isinstance(value, dict) and not _blank(value.get("detail"))
        return True
    if kind == "indicators":
        return isinstance(value, list) and bool(value) and all(
            isinstance(i, dict) and not _blank(i.get("description")) and not _blank(i.get("target"))
            for i in value)
    return value not in (None, "", [], {})


def completeness(values: dict[str, Any]) -> dict[str, Any]:
    """``{"filled", "total", "percent", "missing": [{"id", "order", "label"}]}``."""
    missing = [{"id": f["id"], "order": f["order"], "label": f["label_it"]}
               for f in fields() if not filled(f, values.get(f["id"]), values)]
    total = len(fields())
    done = total - len(missing)
    return {"filled": done, "total": total, "percent": round(100 * done / total), "missing": missing}


def display(field: dict[str, Any], value: Any, macroarea_names: dict[str, str] | None = None) -> str:
    """A field's value as plain text (exports, printed card)."""
    kind = field["type"]
    if value in (None, "", [], {}):
        return ""
    if kind == "text" and isinstance(value, list):
        return "\n".join(f"• {v}" for v in value if not _blank(v))
    if kind == "money" and isinstance(value, dict):
        parts = []
        for key, label in (("public", "pubbliche"), ("private", "private")):
            amount = value.get(key)
            if isinstance(amount, (int, float)):
                parts.append(f"Risorse {label}: € {format_euro(amount)}")
        return "\n".join(parts)
    if kind == "list_of_macroaree" and isinstance(value, dict):
        if value.get("answer") != "SI":
            return str(value.get("answer") or "")
        names = macroarea_names or {}
        return "SI: " + "; ".join(f"{c} – {names[c]}" if c in names else c for c in value.get("macroaree") or [])
    if kind == "key_points" and isinstance(value, list):
        return "\n".join(f"• {v}" for v in value)
    if kind in ("yes_no_with_detail", "enum") and isinstance(value, dict):
        answer = str(value.get("answer") or "")
        detail = str(value.get("detail") or "").strip()
        return f"{answer}: {detail}" if detail else answer
    if kind == "indicators" and isinstance(value, list):
        out = []
        for i in value:
            if not isinstance(i, dict):
                continue
            bits = [str(i.get("description") or "")]
            for key, label in (("baseline", "baseline"), ("target", "target"), ("source", "fonte"),
                               ("horizon", "orizzonte")):
                if i.get(key) not in (None, ""):
                    bits.append(f"{label}: {i[key]}")
            out.append("• " + "; ".join(bits))
        return "\n".join(out)
    return str(value)


def format_euro(amount: float) -> str:
    whole = f"{amount:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
    return whole.removesuffix(",00")
