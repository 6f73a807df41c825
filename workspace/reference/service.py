"""Read-only queries over the reference data, shared by the pages and the API."""
from __future__ import annotations

import re
import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from workspace.reference.models import Ambito, AmbitoDistretto, FieldSchema, Leps, Macroarea

MAX_QUERY_LENGTH = 200


def list_macroaree(session: Session) -> list[Macroarea]:
    """All macroaree (active and historic) by letter, with key points and LEPS loaded."""
    stmt = (
        select(Macroarea)
        .options(selectinload(Macroarea.key_points), selectinload(Macroarea.leps))
        .order_by(Macroarea.code)
    )
    return list(session.scalars(stmt))


def get_macroarea(session: Session, code: str) -> Macroarea | None:
    """One macroarea by its letter (case-insensitive), or None."""
    code = (code or "").strip().upper()
    if len(code) != 1:
        return None
    stmt = (
        select(Macroarea)
        .where(Macroarea.code == code)
        .options(selectinload(Macroarea.key_points), selectinload(Macroarea.leps))
    )
    return session.scalar(stmt)


def list_leps(session: Session) -> list[Leps]:
    """The LEPS in their official order, with their macroaree loaded."""
    stmt = select(Leps).options(selectinload(Leps.macroaree)).order_by(Leps.position)
    return list(session.scalars(stmt))


def get_field_schema(session: Session, key: str) -> FieldSchema | None:
    """An official form as data: ``scheda_obiettivo`` or ``esiti``."""
    return session.get(FieldSchema, key)


def normalise(text: str) -> str:
    """Fold case, accents and apostrophes so "CITTA'", "Città" and "citta" compare equal.

    Allegato C prints some names in capitals with an apostrophe for the accent (``CANTU'``) and
    others in mixed case with the accent (``Cantù``); searches must find both.
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = re.sub(r"['’`´]", "", plain)
    return " ".join(re.sub(r"[^\w]+", " ", plain).split())


def _haystack(ambito: Ambito) -> str:
    parts = [ambito.code, ambito.name, ambito.sioss_code, ambito.ats_code, ambito.ats.name]
    for link in ambito.links:
        parts += [link.distretto_code, link.distretto.name]
    return " | ".join(normalise(p) for p in parts)


def search_ambiti(session: Session, query: str | None = None) -> list[Ambito]:
    """Ambiti by code, with ATS and distretti (and each link's ASST) loaded.

    ``query`` matches, ignoring case and accents, the Ambito code or name, the SIOSS code
    (``lom_72``), the ATS code or name and the distretti's codes or names; with several words every
    word must match. An empty query returns all 91 Ambiti. Filtering happens in Python: the table is
    small and SQLite's ``lower()`` does not fold accented letters, so this behaves the same on both
    databases.
    """
    stmt = (
        select(Ambito)
        .options(
            selectinload(Ambito.ats),
            selectinload(Ambito.links).selectinload(AmbitoDistretto.distretto),
            selectinload(Ambito.links).selectinload(AmbitoDistretto.asst),
        )
        .order_by(Ambito.code)
    )
    ambiti = list(session.scalars(stmt))
    words = normalise((query or "")[:MAX_QUERY_LENGTH]).split()
    if not words:
        return ambiti
    return [a for a in ambiti if all(w in _haystack(a) for w in words)]
