"""The planning area's part of a published procedure's open data (``signals.open_data_requested``):
one ``priorita`` record per ranked bisogno of every closed vote (place in ``valore``) and, once the
Ufficio di Piano has published them, one ``disposizione`` record per decision with its reason. No
person is named (who decided is the Ufficio di Piano)."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from workspace.planning import documents, service
from workspace.procedures.models import Procedure


def open_data_part(session: Session, *, procedure: Procedure, **_: Any) -> dict[str, list[dict[str, Any]]]:
    rows = documents.priority_rows(session, procedure, public=True)
    priorities = [{"indicatore": "priorita", "codice": str(r["bisogno_id"]), "descrizione": r["bisogno"],
                   "valore": r["posizione"], "tavolo": r["tavolo"], "macroarea": r["macroarea"] or "",
                   "stato": f"votazione {r['votazione_id']}: {r['votazione']}"} for r in rows]
    dispositions = []
    if service.is_published(session, procedure.id):
        seen: set[int] = set()
        for r in rows:
            if r["esito"] and r["bisogno_id"] not in seen:
                seen.add(r["bisogno_id"])
                dispositions.append({"indicatore": "disposizione", "codice": str(r["bisogno_id"]),
                                     "descrizione": r["bisogno"], "valore": None, "tavolo": r["tavolo"],
                                     "macroarea": r["macroarea"] or "", "esito": r["esito"],
                                     "motivazione": r["motivazione"] or ""})
    return {"planning": priorities + dispositions}
