"""Verbali and the public record of the sedute as JSON: the read API (/api/v1) gives the same things
the public pages show, in the same shapes. Only the edition for publication is ever given here."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import url_for

from workspace.minutes.models import Verbale
from workspace.minutes.publication import PublicTavolo, public_content
from workspace.minutes.service import DEFAULT_NAMING


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def verbale_summary(verbale: Verbale, procedure_id: int) -> dict[str, Any]:
    """An approved verbale (or errata) of the public record, with its links and fingerprints."""
    header = (verbale.content or {}).get("header") or {}
    return {
        "id": verbale.id,
        "tavolo_id": verbale.tavolo_id,
        "seduta_id": verbale.seduta_id,
        "seduta_number": (header.get("seduta") or {}).get("number"),
        "edition": verbale.edition,
        "corrects": verbale.corrects_id,
        "approved_at": _iso(verbale.approved_at),
        "sha256": verbale.content_sha256,
        "pdf_sha256": verbale.public_pdf_sha256,
        "naming": verbale.naming or DEFAULT_NAMING,
        "published_from": _iso(verbale.published_from),
        "published_until": _iso(verbale.published_until),
        "html_url": url_for("minutes.public_verbale", procedure_id=procedure_id, verbale_id=verbale.id,
                            _external=True),
        "pdf_url": url_for("minutes.public_pdf", procedure_id=procedure_id, verbale_id=verbale.id, _external=True),
    }


def verbale_public(verbale: Verbale, procedure_id: int) -> dict[str, Any]:
    """The summary with the document itself (edition for publication)."""
    return verbale_summary(verbale, procedure_id) | {"content": public_content(verbale)}


def tavolo_record(entry: PublicTavolo, procedure_id: int) -> dict[str, Any]:
    tavolo = entry.tavolo
    return {
        "id": tavolo.id,
        "title": tavolo.title,
        "macroaree": [m.code for m in tavolo.macroaree],
        "published_from": _iso(entry.item.published_from),
        "published_until": _iso(entry.item.published_until),
        "convocations": [{
            "seduta_id": c.seduta.id, "number": c.seduta.number, "starts_at": _iso(c.seduta.starts_at),
            "place": c.seduta.place, "mode": c.seduta.mode, "status": c.seduta.status,
            "agenda": [i.title for i in c.seduta.agenda],
            "published_from": _iso(c.published_from), "published_until": _iso(c.published_until),
        } for c in entry.convocations],
        "verbali": [verbale_summary(v, procedure_id) for v in entry.verbali],
        "votes": [{
            "round_id": v.vote.id, "title": v.vote.title, "seduta_id": v.vote.seduta_id, "method": v.vote.method,
            "secret": v.vote.secret, "closed_at": _iso(v.vote.closed_at), "turnout": v.results["turnout"],
            "ranking": [{"place": r["place"], "bisogno_id": r["bisogno_id"], "title": r["title"], "score": r["score"],
                         "tie": r["tie"]} for r in v.results["ranking"]],
            "published_from": _iso(v.published_from), "published_until": _iso(v.published_until),
        } for v in entry.votes],
    }
