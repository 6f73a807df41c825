"""The verbali of the Pavia demo, written through the same services the pages use.

- Tavolo E, seduta n. 1 (closed by the demo loader, its draft generated at closing): the facilitator
  writes the narrative, sends the draft to the attendees, the ODV's delegate files a remark on a
  section (accepted, and worked into the text) and the network's delegate one on the whole verbale
  (rejected, with the reason); then the facilitator approves it: frozen, hashed, PDF/A stored.
- Tavolo A, seduta n. 1: held and closed here (presences, an annotation, the agenda moving on), its
  verbale left as a draft with the opening written.

Called by ``workspace.demo.loader`` with the demo's people (by e-mail local part) and tavoli (by
macroarea letter).
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from workspace.accounts.models import User
from workspace.db import utcnow
from workspace.minutes import review, service
from workspace.minutes.labels import OPENING
from workspace.minutes.models import Verbale
from workspace.needs import service as needs
from workspace.tavoli import service as tavoli
from workspace.tavoli.models import Seduta, Tavolo

E_OPENING = (
    "Il facilitatore apre la seduta alle ore indicate, ricorda l'oggetto della procedura di co-programmazione e "
    "le regole del tavolo: ogni contributo è attribuito all'organizzazione che lo presenta e resta agli atti.\n\n"
    "Si presentano i partecipanti; l'ATS di Pavia partecipa da remoto."
)
E_NEEDS = (
    "La discussione si concentra sull'isolamento delle persone anziane sole e sul sostegno ai caregiver "
    "familiari. Il tavolo concorda di mettere **in discussione** il bisogno dei caregiver per la prossima "
    "seduta e di raccogliere dati comparabili fra i Comuni dell'Ambito."
)
E_NEEDS_AFTER_REMARK = E_NEEDS + (
    "\n\nSu osservazione dell'ODV si precisa che le telefonate di compagnia dei volontari sono già attive in "
    "tre quartieri e possono essere estese."
)
ODV_REMARK = ("Nel punto sulla raccolta dei bisogni manca il riferimento alle telefonate di compagnia, già "
              "attive in tre quartieri: chiediamo di citarle.")
RETE_REMARK = "Chiediamo di allegare al verbale le slide presentate dall'ASST sui tempi di attivazione."
A_AGENDA = ("Apertura e presentazione dei partecipanti", "Povertà lavorativa: primi elementi", "Varie ed eventuali")
A_PRESENT = ("odv", "aps", "fondazione", "rete", "comune", "asst")
A_OPENING = "Seduta di avvio del tavolo: il facilitatore illustra il calendario dei lavori."


def _draft(session: Session, facilitator: User, seduta: Seduta) -> Verbale:
    return service.verbale_of(session, seduta.id) or service.create_draft(session, facilitator, seduta)


def _write(session: Session, who: User, verbale: Verbale, key: str, text: str) -> None:
    service.save_section(session, who, verbale, key, text, service.section_version(session, verbale, key))


def load_minutes(session: Session, people: dict[str, User], tavoli_by_code: dict[str, Tavolo]) -> None:
    facilitator = people["facilitatore"]
    tavolo_e = tavoli_by_code["E"]
    first = next(s for s in tavolo_e.sedute if s.number == 1 and s.status == "chiusa")

    # The approved verbale, through review.
    verbale = _draft(session, facilitator, first)
    needs_key = f"punto-{first.agenda[2].id}"
    _write(session, facilitator, verbale, OPENING, E_OPENING)
    _write(session, facilitator, verbale, needs_key, E_NEEDS)
    review.send_for_review(session, facilitator, verbale)
    accepted = review.file_remark(session, people["odv"], verbale, needs_key, ODV_REMARK)
    rejected = review.file_remark(session, people["rete"], verbale, None, RETE_REMARK)
    review.decide_remark(session, facilitator, verbale, accepted, True,
                         "Osservazione accolta: il testo del punto 3 è stato integrato.")
    _write(session, facilitator, verbale, needs_key, E_NEEDS_AFTER_REMARK)
    review.decide_remark(session, facilitator, verbale, rejected, False,
                         "Le slide sono materiale dell'ASST e sono pubblicate sul suo sito: il verbale riporta "
                         "i dati discussi, non allega documenti di terzi.")
    service.approve(session, facilitator, verbale)

    # A second closed seduta, on the Povertà tavolo, whose verbale is still a draft.
    tavolo_a = tavoli_by_code["A"]
    seduta = tavoli.create_seduta(session, facilitator, tavolo_a, utcnow().replace(second=0, microsecond=0)
                                  - timedelta(hours=2), "Sala riunioni dell'Ufficio di Piano, Pavia", "presenza",
                                  list(A_AGENDA))
    tavoli.start_seduta(session, facilitator, seduta)
    for key in A_PRESENT:
        tavoli.mark_presence(session, facilitator, seduta, people[key].id, True, "presenza")
    tavoli.move_agenda(session, facilitator, seduta, seduta.agenda[1].id)
    bisogni = needs.bisogni_of(session, tavolo_a.id)
    if bisogni:
        needs.add_annotation(session, people["aps"], bisogni[-1], "esperienza",
                             "Nel doposcuola incontriamo genitori che lavorano ma non arrivano a fine mese: "
                             "chiedono aiuto per i libri e la mensa.")
    tavoli.move_agenda(session, facilitator, seduta, seduta.agenda[2].id)
    tavoli.close_seduta(session, facilitator, seduta)
    _write(session, facilitator, _draft(session, facilitator, seduta), OPENING, A_OPENING)
    session.flush()
