"""Bisogni and annotations as JSON: one home for the live channel's events and snapshots and the
read API (/api/v1), so the same thing has the same name and shape in both.

Two variants of each object:

- *public* (``bisogno_public``, ``annotation_public``): what the read API gives anyone allowed to
  read a tavolo, including the public once its procedure is published. People are not named:
  contributions carry the organisation they are attributed to.
- *member* (``bisogno_member``, ``annotation_member``): what the tavolo's live pages receive. The
  public fields, plus the ``author`` (the participants see who spoke) and, for an annotation, its
  ``bisogno_id``. A bisogno is sent without its annotations and without ``merged_here``: events
  replace one object at a time, so a nested copy would go stale.

A deleted annotation keeps its place in the thread without its text; a moderated one says why
(``moderation_reason``, the name the API has always used).
"""
from __future__ import annotations

from typing import Any

from workspace.markdown import render
from workspace.needs.models import Annotation, Bisogno


def bisogno_fields(b: Bisogno) -> dict[str, Any]:
    """The editable content of a bisogno, as the services take it: what a version snapshots and
    what the edit form starts from (ids, flat evidence)."""
    return {
        "title": b.title,
        "description": b.description,
        "macroarea": b.macroarea_code,
        "transversal": [m.code for m in b.transversal],
        "key_points": [k.id for k in b.key_points],
        "target_population": b.target_population,
        "comuni": [c.id for c in b.comuni],
        "whole_ambito": b.whole_ambito,
        "evidence_source": b.evidence_source,
        "evidence_figure": b.evidence_figure,
        "evidence_year": b.evidence_year,
        "consolidation": b.consolidation,
        "status": b.status,
    }


def _bisogno_common(b: Bisogno) -> dict[str, Any]:
    return {
        "id": b.id,
        "tavolo_id": b.tavolo_id,
        "seduta_id": b.seduta_id,
        "title": b.title,
        "description": b.description or "",
        "description_html": str(render(b.description)),
        "macroarea": b.macroarea_code,
        "transversal": [m.code for m in b.transversal],
        "key_points": [{"id": k.id, "macroarea": k.macroarea_code, "text": k.text} for k in b.key_points],
        "target_population": b.target_population or "",
        "whole_ambito": b.whole_ambito,
        "comuni": [{"id": c.id, "name": c.name} for c in b.comuni],
        "evidence": {"source": b.evidence_source or "", "figure": b.evidence_figure or "",
                     "year": b.evidence_year},
        "consolidation": b.consolidation,
        "status": b.status,
        "merged_into": b.merged_into_id,
        "organisation": b.organisation.name if b.organisation else None,
        "version": b.version,
        "created_at": b.created_at.isoformat(),
        "updated_at": b.updated_at.isoformat(),
    }


def bisogno_public(b: Bisogno, merged_here: list[int]) -> dict[str, Any]:
    """The API's bisogno: with the ids of the bisogni merged into it and its annotations."""
    return _bisogno_common(b) | {
        "merged_here": merged_here,
        "annotations": [annotation_public(a) for a in b.annotations],
    }


def bisogno_member(b: Bisogno) -> dict[str, Any]:
    """The live channel's bisogno (events and snapshots)."""
    return _bisogno_common(b) | {"author": b.author.name if b.author else None}


def annotation_public(a: Annotation) -> dict[str, Any]:
    deleted = a.deleted_at is not None
    supports = sorted(s.organisation.name for s in a.supports)
    return {
        "id": a.id,
        "parent_id": a.parent_id,
        "kind": a.kind,
        "body": None if deleted else a.body,
        "body_html": None if deleted else str(render(a.body)),
        "organisation": a.organisation.name if a.organisation else None,
        "created_at": a.created_at.isoformat(),
        "deleted": deleted,
        "moderated": a.moderated,
        "moderation_reason": a.deletion_reason if (deleted and a.moderated) else None,
        "supports": supports,
        "supports_count": len(supports),
    }


def annotation_member(a: Annotation) -> dict[str, Any]:
    """The live channel's annotation: the public one, its bisogno and its author."""
    return annotation_public(a) | {
        "bisogno_id": a.bisogno_id,
        "author": a.author.name if a.author else None,
    }
