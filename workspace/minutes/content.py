"""The canonical content of a verbale: one JSON document built from the data (never from rendered
HTML) — the generated part, the narrative, the review with every remark and decision, and the
approval. Its SHA-256 over a canonical serialisation (keys sorted, UTF-8, no spaces) is the
verbale's hash; every rendering (page, PDF/A, ODT, DOCX) is built from the same document.

The edition for publication is the same document with natural persons left out where the
procedure's settings say so: every name stands under a ``person`` key, and ``public_edition``
blanks them all, leaving organisation and role.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from workspace.minutes.generation import section_keys
from workspace.minutes.models import Verbale, VerbaleRemark

SCHEMA = "tavoli.verbale/1"
ERRATA_SCHEMA = "tavoli.verbale-errata/1"


def canonical_bytes(content: dict[str, Any]) -> bytes:
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sha256(content: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_bytes(content)).hexdigest()


def file_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


def remark_entry(remark: VerbaleRemark, titles: dict[str, str]) -> dict[str, Any]:
    return {
        "id": remark.id,
        "section": remark.section,
        "section_title": titles.get(remark.section or "", None),
        "person": remark.author_name or None,
        "organisation": remark.organisation_name,
        "role": remark.role,
        "text": remark.text,
        "filed_at": _iso(remark.filed_at),
        "against_version": remark.against_version,
        "status": remark.status,
        "reason": remark.reason,
        "decided_by": {"person": remark.decided_by_name} if remark.decided_by_name else None,
        "decided_at": _iso(remark.decided_at),
    }


def section_titles(generated: dict[str, Any]) -> dict[str, str]:
    """Section key -> title as the document heads it (agenda items by number and title)."""
    from workspace.minutes.labels import CLOSING, NO_AGENDA_TITLE, OPENING, SECTION_LABELS

    titles = {OPENING: str(SECTION_LABELS[OPENING]), CLOSING: str(SECTION_LABELS[CLOSING])}
    for item in generated.get("agenda", []):
        titles[item["key"]] = f"{item['position']}. {item['title'] or NO_AGENDA_TITLE}"
    return titles


def assemble(verbale: Verbale, approval: dict[str, Any] | None = None) -> dict[str, Any]:
    """The verbale's document as it stands (a draft has no approval)."""
    generated = verbale.generated or {}
    keys = section_keys(generated)
    narrative = {key: verbale.narrative.get(key, "") for key in keys if (verbale.narrative or {}).get(key)}
    titles = section_titles(generated)
    return {
        "schema": SCHEMA,
        "verbale": {"id": verbale.id, "edition": verbale.edition, "seduta_id": verbale.seduta_id,
                    "tavolo_id": verbale.tavolo_id, "version": verbale.version},
        **{k: generated.get(k) for k in ("header", "attendance", "agenda", "conflicts", "annexes", "record")},
        "narrative": narrative,
        "review": {
            "opened_at": _iso(verbale.review_opened_at),
            "closes_at": _iso(verbale.review_closes_at),
            "days": verbale.review_days,
            "remarks": [remark_entry(r, titles) for r in verbale.remarks],
        },
        "approval": approval,
    }


def errata_content(original: Verbale, edition: int, verbale_id: int, corrections: str, reason: str,
                   approval: dict[str, Any]) -> dict[str, Any]:
    """An errata corrige: the original's header, its id and hash, and the corrections."""
    base = original.content or {}
    return {
        "schema": ERRATA_SCHEMA,
        "verbale": {"id": verbale_id, "edition": edition, "seduta_id": original.seduta_id,
                    "tavolo_id": original.tavolo_id},
        "header": base.get("header"),
        "corrects": {"id": original.id, "edition": original.edition, "sha256": original.content_sha256,
                     "approved_at": _iso(original.approved_at)},
        "corrections": corrections,
        "reason": reason,
        "approval": approval,
    }


def public_edition(content: Any, naming: str) -> Any:
    """The document for publication: with "organisation_role" every ``person`` is left out."""
    if naming == "full_names":
        return content
    if isinstance(content, dict):
        return {k: (None if k == "person" else public_edition(v, naming)) for k, v in content.items()}
    if isinstance(content, list):
        return [public_edition(v, naming) for v in content]
    return content
