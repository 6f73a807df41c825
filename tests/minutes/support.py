"""Helpers of the verbali suites: a scripted seduta (things said before, during and after it, the
agenda moving on, a live vote) closed through the services, and the steps of a verbale's life."""
from __future__ import annotations

from dataclasses import dataclass

from tests.world import World, add_bisogno, build_world
from workspace.minutes import review, service
from workspace.minutes.models import Verbale
from workspace.needs import service as needs
from workspace.tavoli import service as tavoli
from workspace.voting import ballots, rounds


@dataclass
class Scripted:
    w: World
    verbale_id: int
    before: int  # raised before the seduta started (between sedute)
    first: int  # presented under the first item, before any move
    second: int  # presented under the third item, then merged into ``first``
    round_id: int

    def __getattr__(self, name):
        return getattr(self.w, name)


def scripted_seduta(session, w: World | None = None) -> Scripted:
    """The seduta of tests/world.py (agenda: Apertura, Bisogni emersi, Varie) held and closed:

    - before it starts: bisogno ``before`` raised with an annotation (outside the window);
    - started; Delia present in the room (marked), Dario from remote (marked), Olga by opening the page;
    - item 1 (no move yet): Delia presents ``first``;
    - item 2: Dario proposes on ``first``, Carlo gives a datum on ``first``, Delia a datum on ``before``;
      the facilitator puts ``before`` in discussion, Delia edits ``first``; a live vote on both,
      Carlo declares an interest in ``first``, Delia and Dario vote;
    - item 3: Dario presents ``second``, the facilitator merges it into ``first``;
    - closed (the live vote closes with it); then an annotation after closing (outside the window).
    """
    w = w or build_world(session)
    seduta = w.seduta
    before = add_bisogno(session, w, w.delegate2, title="Anziani soli nelle frazioni")
    needs.add_annotation(session, w.delegate, before, "esperienza", "Detto prima della seduta.")
    session.commit()

    tavoli.start_seduta(session, w.facilitator, seduta)
    tavoli.mark_presence(session, w.facilitator, seduta, w.delegate.id, True, "presenza")
    tavoli.mark_presence(session, w.facilitator, seduta, w.delegate2.id, True, "remoto")
    tavoli.presence_join(session, w.observer, seduta, "remoto")
    session.commit()

    first, _ev = needs.create_bisogno(session, w.delegate, w.tavolo, {"title": "Trasporto sociale", "macroarea": "E"})
    tavoli.move_agenda(session, w.facilitator, seduta, seduta.agenda[1].id)
    needs.add_annotation(session, w.delegate2, first, "proposta", "Una navetta il sabato.")
    needs.add_annotation(session, w.colleague, first, "dato", "300 corse l'anno.")
    needs.add_annotation(session, w.delegate, before, "dato", "2.340 persone.")
    needs.set_status(session, w.facilitator, before, "in_discussione")
    needs.update_bisogno(session, w.delegate, first, {"title": "Trasporto sociale verso gli ospedali"}, first.version)
    vote, _ev = rounds.create_round(session, w.facilitator, w.tavolo, "Priorità della seduta", "dot",
                                    [before.id, first.id], seduta=seduta)
    rounds.open_round(session, w.facilitator, vote)
    rounds.declare_interest(session, w.colleague, vote, first.id, "Gestiamo il servizio di trasporto.")
    ballots.cast_ballot(session, w.delegate, vote, {"points": {str(before.id): 7, str(first.id): 3}})
    ballots.cast_ballot(session, w.delegate2, vote, {"points": {str(first.id): 10}})
    session.commit()

    tavoli.move_agenda(session, w.facilitator, seduta, seduta.agenda[2].id)
    second, _ev = needs.create_bisogno(session, w.delegate2, w.tavolo, {"title": "Navette", "macroarea": "E"})
    needs.merge_bisogno(session, w.facilitator, second, first)
    tavoli.close_seduta(session, w.facilitator, seduta)
    session.commit()
    needs.add_annotation(session, w.delegate, first, "criticita", "Detto dopo la seduta.")
    session.commit()

    verbale = service.verbale_of(session, seduta.id)
    assert verbale is not None, "the draft is generated when the seduta closes"
    return Scripted(w, verbale.id, before.id, first.id, second.id, vote.id)


def get(session, s: Scripted) -> Verbale:
    return session.get(Verbale, s.verbale_id)


def write(session, s: Scripted, key: str, text: str) -> None:
    verbale = get(session, s)
    service.save_section(session, s.facilitator, verbale, key, text, service.section_version(session, verbale, key))
    session.commit()


def to_review(session, s: Scripted, days: int = 7) -> Verbale:
    verbale = review.send_for_review(session, s.facilitator, get(session, s), days)
    session.commit()
    return verbale


def approved(session, s: Scripted, remark: bool = True) -> Verbale:
    """Reviewed (one remark by Delia, accepted) and approved by the facilitator."""
    write(session, s, "apertura", "La seduta si apre con i saluti del facilitatore.")
    to_review(session, s)
    if remark:
        filed = review.file_remark(session, s.delegate, get(session, s), None, "Manca il nome del Comune.")
        review.decide_remark(session, s.facilitator, get(session, s), filed, True, "Aggiunto.")
        session.commit()
    verbale = service.approve(session, s.facilitator, get(session, s))
    session.commit()
    return verbale


def publish_procedure(session, s) -> None:
    """The world's procedure goes public (see ``publish``)."""
    publish(session, s.tavolo.procedure_id, s.admin.id)


def publish(session, procedure_id: int, admin_id: int) -> None:
    """A procedure goes public: act, avviso, its publication (yesterday, the avviso and the tavoli
    enter the public record for five years) and the ``published`` flag, set at creation in the
    procedures area (there is no service that changes it afterwards)."""
    from datetime import timedelta

    from tests.procedures.support import SECTIONS, pdf
    from workspace.accounts.models import User
    from workspace.db import utcnow
    from workspace.procedures import files, lifecycle
    from workspace.procedures.models import Procedure

    procedure = session.get(Procedure, procedure_id)
    admin = session.get(User, admin_id)
    now = utcnow()
    stored = files.save_upload(pdf(), "l'atto di avvio")
    lifecycle.update_act(session, admin, procedure, number="12/2025", act_date=(now - timedelta(days=2)).date(),
                         stored=stored, now=now)
    lifecycle.update_avviso(session, admin, procedure, sections=SECTIONS, published_at=now - timedelta(days=1),
                            deadline=now + timedelta(days=30), allowed_kinds=["ets"])
    lifecycle.transition(session, admin, procedure, "avviso_pubblicato", now=now)
    procedure.published = True
    session.commit()
