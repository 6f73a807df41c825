"""The history of a verbale: every version with its author and time, and what changed — for a
narrative section the differences from its previous text, word by word (``difflib``), for a
generation from the record what it counted.

Differences are a list of ``(op, text)`` with ``op`` in "equal", "delete", "insert": the page shows
them as ``<del>``/``<ins>`` with words a screen reader says ("testo tolto", "testo aggiunto"),
and colour is never the only sign (struck through, underlined).
"""
from __future__ import annotations

import difflib
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workspace.minutes.models import Verbale, VerbaleVersion

_TOKENS = re.compile(r"\s+|[^\s]+")


def diff(old: str, new: str) -> list[tuple[str, str]]:
    """Word-level differences between two texts (whitespace kept as it is)."""
    a, b = _TOKENS.findall(old or ""), _TOKENS.findall(new or "")
    out: list[tuple[str, str]] = []

    def add(op: str, text: str) -> None:
        if not text:
            return
        if out and out[-1][0] == op:
            out[-1] = (op, out[-1][1] + text)
        else:
            out.append((op, text))

    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            add("equal", "".join(a[i1:i2]))
        else:
            add("delete", "".join(a[i1:i2]))
            add("insert", "".join(b[j1:j2]))
    return out


def counts(generated: dict[str, Any] | None) -> dict[str, int]:
    """What a generation found in the record, counted."""
    generated = generated or {}
    agenda = generated.get("agenda") or []
    return {
        "presences": len((generated.get("attendance") or {}).get("rows") or []),
        "bisogni": sum(len(i.get("bisogni") or []) for i in agenda),
        "annotations": sum(a.get("count", 0) for i in agenda for a in i.get("annotations") or []),
        "votes": sum(len(i.get("votes") or []) for i in agenda),
        "conflicts": len(generated.get("conflicts") or []),
        "events": (generated.get("record") or {}).get("events") or 0,
    }


def entries(verbale: Verbale, titles: dict[str, str]) -> list[dict[str, Any]]:
    """The versions, oldest first, each with its differences."""
    previous_text: dict[str, str] = {}
    previous_counts: dict[str, int] | None = None
    out = []
    for v in verbale.versions:
        entry: dict[str, Any] = {"number": v.number, "change": v.change, "author": v.author_name, "at": v.at,
                                 "section": v.section, "section_title": titles.get(v.section or "", v.section)}
        if v.change == "testo" and v.section is not None:
            old = previous_text.get(v.section, "")
            entry["diff"] = diff(old, v.text or "")
            entry["first"] = not old
            previous_text[v.section] = v.text or ""
        elif v.change in ("generato", "rigenerato"):
            now = counts(v.generated)
            entry["counts"] = now
            entry["before"] = previous_counts
            previous_counts = now
        else:
            entry["text"] = v.text or ""
        out.append(entry)
    return out


def latest_of_section(session: Session, verbale: Verbale, key: str) -> VerbaleVersion | None:
    return session.scalar(select(VerbaleVersion).where(VerbaleVersion.verbale_id == verbale.id,
                                                       VerbaleVersion.section == key)
                          .order_by(VerbaleVersion.number.desc()).limit(1))
