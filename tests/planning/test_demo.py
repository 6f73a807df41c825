"""The Pavia demo shows the planning area: closed votes on two tavoli, a disposition with its reason
on every ranked bisogno, four complete "pronta" cards across two macroaree traced to their bisogni
(and the approved verbale where they were discussed)."""
from __future__ import annotations

from sqlalchemy import select

from workspace.demo.loader import load_demo
from workspace.planning import service
from workspace.planning.models import Disposition, Scheda
from workspace.procedures.models import Procedure


def test_demo_has_dispositions_and_four_complete_cards(session):
    assert load_demo(session, only_if_empty=True) is True
    session.commit()
    procedure = session.scalar(select(Procedure).order_by(Procedure.id))
    cards = list(session.scalars(select(Scheda).where(Scheda.procedure_id == procedure.id)))
    assert len(cards) >= 4
    assert {c.macroarea_code for c in cards} >= {"A", "E"}
    for card in cards:
        assert card.status == "pronta" and service.completeness(card)["missing"] == []
        trace = service.trace(session, card)
        assert trace and all(t["vote"] is not None and t["disposition"] is not None for t in trace)
        assert [c.id for c in service.schede_for_bisogno(session, trace[0]["bisogno_id"])].count(card.id) == 1
    dispositions = list(session.scalars(select(Disposition).where(Disposition.procedure_id == procedure.id)))
    ranked = sum(len(service.prioritised(session, t.id)) for t in procedure.tavoli)
    assert ranked >= 7 and len(dispositions) == ranked and all(d.reason for d in dispositions)
    assert {d.outcome for d in dispositions} == {"accolto", "parzialmente_accolto", "non_accolto"}
    # Tavolo E's cards link the approved verbale of its first seduta.
    e_cards = [c for c in cards if c.macroarea_code == "E"]
    assert any(t["verbali"] for c in e_cards for t in service.trace(session, c))
    # Published by the Ufficio di Piano: the public page of priorities and cards exists.
    assert service.publication(session, procedure.id) is not None


def test_demo_cards_cite_the_approved_verbale_in_the_co_programming_field(session):
    from tests.exports.readback import odt_text
    from workspace.planning import documents

    assert load_demo(session, only_if_empty=True) is True
    session.commit()
    procedure = session.scalar(select(Procedure).order_by(Procedure.id))
    text = odt_text(documents.schede_bytes(session, procedure, "odt", documents.Scope(macroarea="E")))
    assert "SI – verbali approvati: n. " in text
    assert "ETS che hanno contribuito:" in text
