"""The second procedure of the Pavia demo: already concluded, with its approved documento di sintesi.

One tavolo (macroarea J, disabilità) held one seduta: presences of the delegates, three bisogni
raised live with their annotations, a dot vote closed at the end; its verbale reviewed and approved;
the administration's disposition on each priority (with the reasons); one scheda obiettivo drawn
from the first priority; then the documento di sintesi generated, its introduction written, sent
for review and approved, which concludes the procedure. Everything after the tavolo is written
through the services the pages use, and so are the steps before it (initiation act, avviso,
applications of three ETS, their admission: ``steps``, given by the loader), dated in the past
with the services' own clock.

Called by ``workspace.demo.loader`` with the demo's people (by e-mail local part), their
organisations and the function that takes a procedure through the art. 55 steps.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from workspace.accounts.models import Organisation, User
from workspace.db import utcnow
from workspace.procedures.models import Procedure
from workspace.reference.models import KeyPoint

if TYPE_CHECKING:
    from workspace.tavoli.models import Tavolo

TITLE = "Co-programmazione degli interventi per la disabilità e il Dopo di Noi — Ambito di Pavia"
OBJECT = ("Procedura dimostrativa già conclusa: individuazione condivisa dei bisogni delle persone con disabilità e "
          "delle loro famiglie, con il documento di sintesi approvato. Contenuti di fantasia.")
INTRODUCTION = (
    "La procedura di co-programmazione sugli interventi per la **disabilità** e il *Dopo di Noi* si è svolta in "
    "una seduta del tavolo tematico, con la partecipazione degli enti del Terzo Settore, del Comune di Pavia e "
    "dell'ASST.\n\n"
    "Il presente documento raccoglie i contributi ricevuti, le priorità espresse dal tavolo con le disposizioni "
    "dell'amministrazione e le relative motivazioni, la scheda obiettivo che ne deriva e i dati di "
    "partecipazione. Con la sua approvazione la procedura è conclusa."
)
BISOGNI = (
    ("coop", "Progetti di vita individuali per i giovani adulti con disabilità",
     "Le famiglie chiedono percorsi personalizzati dopo l'uscita dalla scuola."),
    ("odv", "Sollievo per i caregiver familiari di persone con disabilità grave",
     "Mancano posti di sollievo programmato nei fine settimana."),
    ("soms", "Soluzioni abitative del Dopo di Noi",
     "Poche soluzioni di co-housing e palestre di autonomia sul territorio."),
)
ANNOTATIONS = (
    (0, "asst", "dato", "Il Distretto segue 140 giovani adulti in uscita dai percorsi scolastici."),
    (1, "comune", "esperienza", "Le richieste di sollievo al servizio sociale sono raddoppiate in tre anni."),
    (2, "coop", "risorsa", "La cooperativa mette a disposizione un appartamento per le palestre di autonomia."),
)
BALLOTS = (("odv", (3, 5, 2)), ("coop", (5, 2, 3)), ("soms", (2, 3, 5)), ("comune", (5, 3, 2)))
DISPOSITIONS = (
    ("accolto", "Il progetto di vita è un LEPS: l'Ambito lo inserisce fra gli obiettivi del Piano."),
    ("parzialmente_accolto", "Il sollievo è finanziato nei limiti del Fondo caregiver disponibile."),
    ("non_accolto", "Le soluzioni abitative sono programmate con il bando regionale Dopo di Noi, fuori da questo "
                    "Piano."),
)


def load_concluded(session: Session, user: dict[str, User], org_of: dict[str, Organisation], ambito: str,
                   steps: Callable[[Procedure, dict[str, Tavolo], datetime], None]) -> None:
    from workspace.minutes import review
    from workspace.minutes import service as minutes
    from workspace.needs import service as needs
    from workspace.planning import service as planning
    from workspace.procedures import lifecycle
    from workspace.sintesi import service
    from workspace.tavoli import membership
    from workspace.tavoli import service as tavoli
    from workspace.voting import ballots, rounds

    admin, facilitator = user["rup"], user["facilitatore"]
    now = utcnow()
    procedure = lifecycle.create_procedure(session, admin, ambito, TITLE, rup=admin, object_=OBJECT, published=True)
    tavolo = membership.create_tavolo(session, admin, procedure, "Tavolo J — Disabilità e Dopo di Noi", ["J"],
                                      description="Progetto di vita, sollievo ai caregiver, Dopo di Noi.",
                                      opens_at=now - timedelta(days=30), closes_at=now + timedelta(days=1))
    membership.set_role(session, admin, tavolo, facilitator, "facilitator")
    for person in ("comune", "asst"):  # the public bodies sit by right, the ETS once admitted
        membership.set_role(session, admin, tavolo, user[person], "delegate", org_of[person])
    membership.set_role(session, admin, tavolo, user["osservatore"], "observer", org_of["osservatore"])

    # Act, avviso, applications (the ETS' delegates join the tavolo when admitted), through the
    # procedures area's services, dated in the past (see the module docstring).
    steps(procedure, {"J": tavolo}, now)

    seduta = tavoli.create_seduta(session, facilitator, tavolo, now.replace(second=0, microsecond=0),
                                  "Sala del Consiglio, Piazza Municipio 2, Pavia", "mista",
                                  ["Apertura", "Bisogni emersi", "Priorità"])
    tavoli.start_seduta(session, facilitator, seduta)
    for person in ("odv", "coop", "soms", "comune", "asst"):
        tavoli.mark_presence(session, facilitator, seduta, user[person].id, True,
                             "remoto" if person == "asst" else "presenza")
    tavoli.move_agenda(session, facilitator, seduta, seduta.agenda[1].id)
    raised = []
    key_points = list(session.scalars(select(KeyPoint.id).where(KeyPoint.macroarea_code == "J")
                                      .order_by(KeyPoint.position)))
    for n, (author, title, description) in enumerate(BISOGNI):
        bisogno, _ev = needs.create_bisogno(session, user[author], tavolo, {
            "title": title, "description": description, "macroarea": "J", "consolidation": "consolidato",
            "key_points": key_points[n:n + 1]})
        raised.append(bisogno)
    for index, author, kind, body in ANNOTATIONS:
        needs.add_annotation(session, user[author], raised[index], kind, body)
    tavoli.move_agenda(session, facilitator, seduta, seduta.agenda[2].id)
    vote, _ev = rounds.create_round(session, facilitator, tavolo, "Priorità del tavolo disabilità", "dot",
                                    [b.id for b in raised], seduta=seduta)
    rounds.open_round(session, facilitator, vote)
    for person, points in BALLOTS:
        ballots.cast_ballot(session, user[person], vote,
                            {"points": {str(b.id): p for b, p in zip(raised, points, strict=True)}})
    rounds.close_round(session, facilitator, vote)
    tavoli.close_seduta(session, facilitator, seduta)
    session.flush()

    verbale = minutes.verbale_of(session, seduta.id)
    if verbale is not None:  # drafted when the seduta closed
        review.send_for_review(session, facilitator, verbale)
        minutes.approve(session, facilitator, verbale)

    for bisogno, (outcome, reason) in zip(raised, DISPOSITIONS, strict=True):
        planning.record_disposition(session, admin, bisogno.id, outcome, reason)
    planning.create_scheda(session, admin, procedure, [raised[0].id])

    documento = service.create_draft(session, admin, procedure)
    service.save_introduction(session, admin, documento, INTRODUCTION, documento.version)
    service.send_for_review(session, admin, documento)
    service.approve(session, admin, documento)
