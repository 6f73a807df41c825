"""The demo's verbali: seduta n. 1 of the Anziani tavolo reviewed (one remark accepted, one rejected)
and approved; a second closed seduta, on the Povertà tavolo, whose verbale is a draft."""
from __future__ import annotations

from sqlalchemy import select

from workspace.demo.loader import load_demo
from workspace.minutes import content as contents
from workspace.minutes.models import Verbale
from workspace.procedures.models import Procedure
from workspace.tavoli.models import Seduta, Tavolo


def test_the_demo_has_an_approved_and_a_draft_verbale(session):
    assert load_demo(session, only_if_empty=True) is True
    # The verbali of the procedure in progress (the demo's second, concluded procedure has its own).
    first = session.scalar(select(Procedure.id).order_by(Procedure.id))
    verbali = list(session.scalars(select(Verbale).join(Tavolo, Tavolo.id == Verbale.tavolo_id)
                                   .where(Tavolo.procedure_id == first).order_by(Verbale.id)))
    assert [v.status for v in verbali] == ["approvato", "bozza"]
    approved, draft = verbali
    tavolo_e = session.get(Tavolo, approved.tavolo_id)
    assert tavolo_e.title.startswith("Tavolo E") and session.get(Seduta, approved.seduta_id).number == 1
    assert sorted(r.status for r in approved.remarks) == ["accolta", "respinta"]
    assert all(r.reason for r in approved.remarks)
    assert approved.content_sha256 == contents.sha256(approved.content) and approved.pdf.startswith(b"%PDF-")
    assert approved.content["narrative"]["apertura"].startswith("Il facilitatore apre la seduta")
    agenda = approved.content["agenda"]
    assert any(item["bisogni"] for item in agenda) and any(item["annotations"] for item in agenda)
    seduta_a = session.get(Seduta, draft.seduta_id)
    assert seduta_a.status == "chiusa" and session.get(Tavolo, draft.tavolo_id).title.startswith("Tavolo A")
    assert len(draft.generated["attendance"]["rows"]) == 6
    assert draft.narrative.get("apertura")
    # The procedure is published: the approved verbale is on its public page, the draft is not.
    from workspace.db import utcnow
    from workspace.minutes.publication import public_procedure, visible_verbali

    assert public_procedure(session, first).id == first
    assert [v.id for v in visible_verbali(session, tavolo_e.id, utcnow())] == [approved.id]
    assert visible_verbali(session, draft.tavolo_id, utcnow()) == []
