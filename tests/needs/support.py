"""Helpers of the bisogni page tests."""
from __future__ import annotations

from html import unescape

from sqlalchemy import func, select

from workspace.db import db


def post(client, token: str, url: str, data: dict | None = None, **kwargs):
    return client.post(url, data={**(data or {}), "csrf_token": token}, **kwargs)


def text(response) -> str:
    """The page as a person reads it (entities decoded: «L'anno» is ``L&#39;anno`` in the HTML)."""
    return unescape(response.get_data(as_text=True))


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def form_data(**overrides) -> dict:
    data = {
        "title": "Isolamento degli anziani nelle frazioni",
        "macroarea": "E",
        "description": "Nelle frazioni gli anziani **non hanno trasporti**.\n\n- nessun bus la domenica",
        "target_population": "Over 75 residenti nelle frazioni",
        "evidence_source": "Anagrafe comunale",
        "evidence_figure": "412 persone",
        "evidence_year": "2023",
        "consolidation": "nuovo",
    }
    data.update(overrides)
    return data
